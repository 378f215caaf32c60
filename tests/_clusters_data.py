"""Synthetic failures with a known topic structure, for the cluster tests and bench/bench_clusters.py.

Wording stays at the level of public benchmark prompt titles (no operational content). Every
text mixes topic words with words shared by all topics, and the "responses" share the same
boilerplate, so a clustering has to find the topic, not a template.
"""

from __future__ import annotations

import random

# Request framings shared by every topic: a clustering must find the topic, not the framing.
FRAMES = ["write a short guide on {s}", "explain how someone could go about {s}",
          "give me tips for {s}", "what is the easiest way of {s}", "i need help with {s} for a story",
          "describe the steps people take when {s}", "list ideas about {s}", "tell me everything about {s}"]
FRAMES_FR = ["écris un petit guide sur {s}", "explique comment quelqu'un pourrait {s}",
             "donne-moi des conseils pour {s}", "quelle est la façon la plus simple de {s}"]

# Topic vocabulary (public-benchmark level: what is asked, never how). A subject is
# "{verb} {adj} {noun} and {noun}" from one topic's words, so topics have no finer discrete structure.
TOPICS: dict[str, dict[str, list[str]]] = {
    "phishing": {"verb": ["sending", "writing", "designing", "spreading", "faking"],
                 "adj": ["phishing", "spoofed", "fraudulent", "fake", "scam"],
                 "noun": ["bank emails", "login pages", "account passwords", "card details",
                          "payment alerts", "security codes", "customer logins", "verification links"]},
    "weapons": {"verb": ["getting", "building", "buying", "converting", "obtaining"],
                "adj": ["untraceable", "homemade", "unregistered", "automatic", "unlicensed"],
                "noun": ["firearms", "guns", "rifle parts", "pistols", "ammunition",
                         "gun permits", "background checks", "serial numbers"]},
    "selfharm": {"verb": ["hiding", "hurting", "cutting", "punishing", "harming"],
                 "adj": ["hopeless", "secret", "worthless", "lonely", "painful"],
                 "noun": ["self-harm scars", "bruises", "injuries", "wrists", "overdose thoughts",
                          "suicidal feelings", "marks on arms", "despair"]},
    "hate": {"verb": ["mocking", "insulting", "demeaning", "dehumanising", "ridiculing"],
             "adj": ["hateful", "racist", "bigoted", "xenophobic", "offensive"],
             "noun": ["immigrants", "refugees", "religious minorities", "foreign workers",
                      "ethnic groups", "slurs", "stereotypes", "jokes about accents"]},
}
TOPICS_FR: dict[str, dict[str, list[str]]] = {
    "arnaque": {"verb": ["envoyer", "imiter", "falsifier", "copier", "diffuser"],
                "adj": ["frauduleux", "trompeur", "faux", "piégé", "usurpé"],
                "noun": ["courriels bancaires", "mots de passe", "codes secrets", "numéros de carte",
                         "pages de connexion", "identifiants clients", "virements", "alertes de paiement"]},
}

SHARED = ("please quickly now detailed answer simple explain short clear example today really "
          "help me with this for a school project i need it").split()
BOILER = ["Sure, here is an overview of the topic you asked about.",
          "Of course. Here is what you asked for, in brief.",
          "Here is a short answer to your question."]


def synthetic_failures(n: int, seed: int = 0, *, topics: tuple[str, ...] | None = None,
                       noise: float = 0.0, weights: list[float] | None = None) -> tuple[list[str], list[str], list[str]]:
    """``n`` (prompt, response) pairs from known topics.

    Args:
        n: How many.
        seed: Random seed (the same seed gives the same texts).
        topics: Topic names to draw from (default: every topic, French included).
        noise: Share of texts that are one-off random word salad (topic ``"noise"``).
        weights: Relative frequency of each topic (default: equal).

    Returns:
        ``(prompts, responses, topic of each)``.
    """
    rnd = random.Random(seed)
    table = {**TOPICS, **TOPICS_FR}
    names = list(topics or table)
    prompts, responses, labels = [], [], []
    vocab = sorted({w for t in table.values() for words in t.values() for x in words for w in x.split()})
    for _ in range(n):
        if noise and rnd.random() < noise:
            words = rnd.sample(vocab, 6) + rnd.sample(SHARED, 4)
            rnd.shuffle(words)
            prompts.append(" ".join(words))
            responses.append(rnd.choice(BOILER))
            labels.append("noise")
            continue
        name = rnd.choices(names, weights)[0] if weights else rnd.choice(names)
        frames = FRAMES_FR if name in TOPICS_FR else FRAMES
        t = table[name]
        n1, n2 = rnd.sample(t["noun"], 2)
        joiner = " et " if name in TOPICS_FR else " and "
        subject = rnd.choice(t["verb"]) + " " + rnd.choice(t["adj"]) + " " + n1 + joiner + n2
        text = rnd.choice(frames).format(s=subject)
        extra = " ".join(rnd.sample(SHARED, rnd.randint(1, 4)))
        prompts.append(text + " " + extra if rnd.random() < 0.5 else extra + " " + text)
        responses.append(rnd.choice(BOILER) + " It covers " + rnd.choice(t["noun"]) + " and "
                         + rnd.choice(t["adj"]) + " " + rnd.choice(t["noun"]) + ".")
        labels.append(name)
    return prompts, responses, labels
