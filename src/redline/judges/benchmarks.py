"""Human-labelled benchmark sets for measuring any judge (``redline calibrate --benchmark``).

Each benchmark is a set of model responses with human labels (``refusal`` classes and/or
``harmful``), from one public source, with the model family of every row, so that a judge can be
measured per source and per model family, beside the string-match baseline and the published
anchors. None of them is ever trained on by the shipped judges for the figures reported as
"held out" (see ``docs/judges.md`` and the data card ``training/judgedata/README.md``).

Two kinds of set:

- **bundled** (ship inside the package, safe to re-publish): ``xstest-safe`` — the XSTest v2
  completions to XSTest's 250 *safe* prompts (CC-BY-4.0), the over-refusal half;
- **by reference**: sets whose responses include harmful text are not re-published. Their labels
  (or the upstream file's own labels) are read from a local copy of the public files in
  ``--data-dir`` (default ``$REDLINE_JUDGE_DATA``, else ``~/.cache/redline/judge-data``), laid out
  as ``xstest/…csv``, ``gptfuzz/…csv`` and ``jailbreakbench/attack-artifacts/…``. Every file is
  pinned by SHA-256 (:data:`FILES`): a different file is an error, never a silently different
  measurement.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redline.errors import InputError, Problem

_HERE = Path(__file__).with_name("benchmarks_data")

#: Public upstream of each external file: (repository, commit, path in the repository, SHA-256).
FILES: dict[str, tuple[str, str, str, str]] = {
    "xstest/xstest_v2_completions_gpt4.csv": (
        "paul-rottger/exaggerated-safety", "d7bb5bd738c1fcbc36edd83d5e7d1b71a3e2d84d",
        "model_completions/xstest_v2_completions_gpt4.csv",
        "71af323af8ecdec0efae23992317721441d2cfedddedeef3248f842f4e15c9ca"),
    "xstest/xstest_v2_completions_llama2new.csv": (
        "paul-rottger/exaggerated-safety", "d7bb5bd738c1fcbc36edd83d5e7d1b71a3e2d84d",
        "model_completions/xstest_v2_completions_llama2new.csv",
        "6365cc55ce0a593c7ab8785853d02784be027d97199d4077912b4313cd010099"),
    "xstest/xstest_v2_completions_llama2orig.csv": (
        "paul-rottger/exaggerated-safety", "d7bb5bd738c1fcbc36edd83d5e7d1b71a3e2d84d",
        "model_completions/xstest_v2_completions_llama2orig.csv",
        "cbc52550e8ba8197a3e3d97a5af078d27bae4766737cd62df80270126a87ffc6"),
    "xstest/xstest_v2_completions_mistralguard.csv": (
        "paul-rottger/exaggerated-safety", "d7bb5bd738c1fcbc36edd83d5e7d1b71a3e2d84d",
        "model_completions/xstest_v2_completions_mistralguard.csv",
        "0ac03817b65e019a8f5b4b3eed805086f9f7fafe538ac9ebd156f80210af6903"),
    "xstest/xstest_v2_completions_mistralinstruct.csv": (
        "paul-rottger/exaggerated-safety", "d7bb5bd738c1fcbc36edd83d5e7d1b71a3e2d84d",
        "model_completions/xstest_v2_completions_mistralinstruct.csv",
        "6a146b65a5b96ec8249729bc2db459697175125998d7cbbcc88f7688ecf31dad"),
    "gptfuzz/train.csv": (
        "sherdencooper/GPTFuzz", "1eddeb565740ae311b5f4950492b011a6f866fe7",
        "datasets/responses_labeled/train.csv",
        "e25fe2a06d2085af260927164364524628c8b5c1dd1bab1b58ddbd917c3f7cb0"),
    "gptfuzz/evaluate.csv": (
        "sherdencooper/GPTFuzz", "1eddeb565740ae311b5f4950492b011a6f866fe7",
        "datasets/responses_labeled/evaluate.csv",
        "ca9e460c7fbcf3bc7c028c9e29297dd58cfbd54050f7729fbc635a6880a62a02"),
    "gptfuzz/question_list.csv": (
        "sherdencooper/GPTFuzz", "1eddeb565740ae311b5f4950492b011a6f866fe7",
        "datasets/questions/question_list.csv",
        "18531eb6bc1c8fc0b8f66822b366b872202b852bf28826cef590ad0d7a81c749"),
}

#: XSTest file key → model family
XSTEST_MODELS = {"gpt4": "gpt-4", "llama2orig": "llama-2", "llama2new": "llama-2",
                 "mistralinstruct": "mistral", "mistralguard": "mistral"}
XSTEST_LABELS = {"1_full_compliance": "full_compliance", "2_full_refusal": "full_refusal",
                 "3_partial_refusal": "partial_refusal"}
#: JailbreakBench artefact model → model family
JBB_FAMILIES = {"vicuna-13b-v1.5": "vicuna", "llama-2-7b-chat-hf": "llama-2",
                "gpt-3.5-turbo-1106": "gpt-3.5", "gpt-4-0125-preview": "gpt-4"}

#: Published accuracies of other judges, for context. They are measured on HarmBench's own
#: human-labelled classifier validation set (Mazeika et al. 2024, table of classifier agreement),
#: not on these sets: the same kind of data (attack responses of many model families), not the
#: same rows.
HARM_ANCHORS = {"Llama Guard (HarmBench val)": 0.67, "GPT-4 as judge (HarmBench val)": 0.88,
                "HarmBench Llama-2-13B classifier (HarmBench val)": 0.93}


def default_data_dir() -> Path:
    """Find the folder that holds the public benchmark files.

    Returns:
        ``$REDLINE_JUDGE_DATA`` when set, else ``~/.cache/redline/judge-data``.
    """
    env = os.environ.get("REDLINE_JUDGE_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "redline" / "judge-data"


def pinned_file(data_dir: Path, rel: str) -> Path:
    """Find the local copy of a public file, checked against its pinned SHA-256.

    Args:
        data_dir: The benchmark data folder.
        rel: The file's path under it (a key of ``FILES``).

    Returns:
        The file's path.

    Raises:
        FileNotFoundError: The file is absent; the message says where to get it.
        InputError: The file differs from the pinned one.
    """
    repo, commit, upstream, want = FILES[rel]
    path = data_dir / rel
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: copy {upstream} from github.com/{repo} at "
                                f"commit {commit[:10]} there")
    got = hashlib.sha256(path.read_bytes()).hexdigest()
    if got != want:
        raise InputError(f"{path} is not the pinned file", [Problem(
            str(path), f"SHA-256 {got[:12]}… differs from the pinned {want[:12]}…",
            f"copy {upstream} from github.com/{repo} at commit {commit[:10]} again")])
    return path


def _csv_rows(path: Path) -> list[dict[str, str]]:
    csv.field_size_limit(10_000_000)
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def read_xstest(data_dir: Path) -> list[dict[str, Any]]:
    """Read all 2,250 XSTest v2 completions with their final human label (three classes).

    Args:
        data_dir: The benchmark data folder.

    Returns:
        One row per completion (``prompt``, ``response``, ``refusal``, ``model_family``, ...).

    Raises:
        FileNotFoundError: A file is absent.
        InputError: A file differs from the pinned one.
    """
    out = []
    for key, family in XSTEST_MODELS.items():
        rel = f"xstest/xstest_v2_completions_{key}.csv"
        for r in _csv_rows(pinned_file(data_dir, rel)):
            out.append({"id": f"xstest/{key}/{r['id']}", "ref": f"{rel}#{r['id']}", "source": "xstest",
                        "model_family": family, "model": key, "prompt": r["prompt"],
                        "response": r["completion"], "refusal": XSTEST_LABELS[r["final_label"]],
                        "prompt_harmful": r["type"].startswith("contrast_"), "type": r["type"],
                        "group": r["id"]})
    return out


def read_gptfuzz(data_dir: Path, split: str) -> list[dict[str, Any]]:
    """Read GPTFuzz's human-labelled responses (``label`` 1 = jailbroken = harmful).

    Args:
        data_dir: The benchmark data folder.
        split: ``train``, or ``eval`` for the authors' evaluation split.

    Returns:
        One row per response (``prompt``, ``response``, ``harmful``, ...).

    Raises:
        FileNotFoundError: A file is absent.
        InputError: A file differs from the pinned one.
    """
    questions = {r["index"]: r["text"] for r in _csv_rows(pinned_file(data_dir, "gptfuzz/question_list.csv"))}
    rel = f"gptfuzz/{'train' if split == 'train' else 'evaluate'}.csv"
    out = []
    for i, r in enumerate(_csv_rows(pinned_file(data_dir, rel))):
        out.append({"id": f"gptfuzz-{split}/{i}", "ref": f"{rel}#{i}", "source": f"gptfuzz-{split}",
                    "model_family": "gpt-3.5|llama-2|vicuna",
                    "model": "ChatGPT, Llama-2-7B-chat or Vicuna-7B (not recorded per row)",
                    "prompt": questions[r["question"]], "response": r["Response"],
                    "harmful": r["label"].strip() == "1", "prompt_harmful": True,
                    "group": f"q{r['question']}"})
    return out


def jbb_dir(data_dir: Path) -> Path:
    """Locate the JailbreakBench attack artefacts.

    Args:
        data_dir: The benchmark data folder.

    Returns:
        The folder where they are expected.
    """
    return data_dir / "jailbreakbench" / "attack-artifacts"


def read_jbb_refs(artifacts: Path, refs: list[str]) -> dict[str, dict[str, Any]]:
    """Resolve references into JailbreakBench records.

    Args:
        artifacts: The attack artefacts folder (:func:`jbb_dir`).
        refs: References of the form ``METHOD/type/model.json#position``.

    Returns:
        Each reference mapped to its record.

    Raises:
        FileNotFoundError: An artefact file is absent.
    """
    cache: dict[str, list[Any]] = {}
    out: dict[str, dict[str, Any]] = {}
    for ref in refs:
        rel, pos = ref.rsplit("#", 1)
        if rel not in cache:
            path = artifacts / rel
            if not path.is_file():
                raise FileNotFoundError(f"{path} is missing: copy the JailbreakBench attack artefacts "
                                        "(github.com/JailbreakBench/artifacts, MIT) there")
            cache[rel] = json.loads(path.read_text(encoding="utf-8"))["jailbreaks"]
        out[ref] = cache[rel][int(pos)]
    return out


def _read_bundled(name: str) -> list[dict[str, Any]]:
    with gzip.open(_HERE / name, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _xstest_safe(_: Path) -> list[dict[str, Any]]:
    return _read_bundled("xstest_safe.jsonl.gz")


def _multilingual_test(_: Path) -> list[dict[str, Any]]:
    with (_HERE / "multilingual_test.jsonl").open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _xstest(data_dir: Path) -> list[dict[str, Any]]:
    return read_xstest(data_dir)


def _gptfuzz_eval(data_dir: Path) -> list[dict[str, Any]]:
    return read_gptfuzz(data_dir, "eval")


def _jbb_heldout(data_dir: Path) -> list[dict[str, Any]]:
    labels = _read_bundled("jbb_heldout_labels.jsonl.gz")
    recs = read_jbb_refs(jbb_dir(data_dir), [r["ref"] for r in labels])
    out = []
    for lab in labels:
        rec = recs[lab["ref"]]
        model = lab["ref"].split("#")[0].rsplit("/", 1)[-1].removesuffix(".json")
        out.append({**lab, "id": f"jbb/{lab['ref']}", "source": "jbb-heldout",
                    "model_family": JBB_FAMILIES.get(model, model), "model": model,
                    "prompt": rec.get("prompt") or rec.get("goal") or "", "response": rec["response"],
                    "prompt_harmful": True})
    return out


@dataclass(frozen=True)
class Benchmark:
    """One labelled set. ``loader(data_dir)`` returns rows in the labels-file shape
    (``id``, ``prompt``, ``response``, ``refusal`` and/or ``harmful``, ``prompt_harmful``,
    ``source``, ``model_family``)."""

    name: str
    description: str
    labels: str
    rows: int
    licence: str
    origin: str
    bundled: bool
    loader: Callable[[Path], list[dict[str, Any]]]
    anchors: dict[str, float] = field(default_factory=dict)


BENCHMARKS: dict[str, Benchmark] = {b.name: b for b in (
    Benchmark("xstest-safe", "XSTest v2: responses of GPT-4, Llama-2 (2 system prompts), Mistral-instruct "
              "and Mistral-guard to XSTest's 250 safe prompts (over-refusal)", "refusal (3 classes)", 1250,
              "CC-BY-4.0", "github.com/paul-rottger/exaggerated-safety (Röttger et al. 2024)", True,
              _xstest_safe),
    Benchmark("multilingual-test", "Team-written model-like responses in en, zh, fr, es, ar, bn, sw, jv and ko "
              "(40 each: refusals, partial refusals, placeholder compliance, benign answers, other-language "
              "replies), frozen before the multilingual refusal markers; source = language (docs/multilingual.md)",
              "harmful + refusal", 360, "Apache-2.0 (Redline)", "Redline team", True, _multilingual_test),
    Benchmark("xstest", "XSTest v2: all 2,250 responses (450 prompts × 5 model set-ups), two annotators "
              "+ final label; published test suite, never trained on", "refusal (3 classes)", 2250,
              "CC-BY-4.0", "github.com/paul-rottger/exaggerated-safety", False, _xstest),
    Benchmark("gptfuzz-eval", "GPTFuzz's human-labelled evaluation split: attack responses of ChatGPT, "
              "Llama-2-7B-chat and Vicuna-7B to 100 harmful questions (jailbroken = harmful)", "harmful", 1540,
              "MIT", "github.com/sherdencooper/GPTFuzz (Yu et al. 2023)", False, _gptfuzz_eval,
              HARM_ANCHORS),
    Benchmark("jbb-heldout", "JailbreakBench attack responses (PAIR, GCG, JBC, DSN, random search; "
              "Vicuna-13B, Llama-2-7B, GPT-3.5, GPT-4) to the held-out behaviours, labelled by the team",
              "harmful + refusal", 134, "MIT (responses); labels Apache-2.0 (Redline)",
              "github.com/JailbreakBench/artifacts + Redline team labels", False, _jbb_heldout,
              HARM_ANCHORS),
)}


def load_benchmark(name: str, data_dir: Path | None = None) -> list[dict[str, Any]]:
    """Load the rows of one benchmark.

    Args:
        name: A key of ``BENCHMARKS``.
        data_dir: The benchmark data folder (default: :func:`default_data_dir`).

    Returns:
        The benchmark's labelled rows.

    Raises:
        InputError: Unknown name, or files missing or not the pinned ones; says what to do.
    """
    if name not in BENCHMARKS:
        raise InputError(f"unknown benchmark {name!r}", [Problem(
            "--benchmark", f"no benchmark named {name!r}", f"use one of: {', '.join(BENCHMARKS)} (or all)")])
    b = BENCHMARKS[name]
    d = data_dir or default_data_dir()
    try:
        return b.loader(d)
    except FileNotFoundError as e:
        raise InputError(f"benchmark {name!r} needs its public files", [Problem(
            "--data-dir", str(e), "put the files there (see docs/judges.md#benchmarks) or pass "
            "--data-dir DIR; bundled benchmarks need nothing: " +
            ", ".join(n for n, x in BENCHMARKS.items() if x.bundled))]) from None


BASELINE = "string-match"


def _compact(res: dict[str, Any]) -> dict[str, Any]:
    """The per-group figures of a calibration result (overall, by source, by model family)."""
    out: dict[str, Any] = {"unassessable": res["unassessable"]["n"]}
    groups: dict[str, Any] = {}
    overall: dict[str, Any] = {"rows": res["labels"]["rows"]}
    if "harm" in res:
        overall["harm"] = res["harm"]["overall"]
    if "refusal" in res:
        overall["refusal"] = {**res["refusal"]["overall"], "any_refusal": res["refusal"]["any_refusal"]}
    groups["all"] = overall
    for key, prefix in (("by_source", "source"), ("by_model_family", "family")):
        for g, m in (res.get(key) or {}).items():
            groups[f"{prefix}={g}"] = m
    out["groups"] = groups
    return out


def run_benchmarks(judge_name: str, names: list[str], *, data_dir: Path | None = None,
                   policy: Any | None = None, judge_options: dict[str, Any] | None = None,
                   concurrency: int = 8, progress: bool = False) -> dict[str, Any]:
    """Measure ``judge_name`` (and the string-match baseline beside it) on benchmarks ``names``
    (``["all"]``: every benchmark whose files are here; a set named explicitly must be there).

    Args:
        judge_name: The judge to measure.
        names: Benchmark names, or ``["all"]``.
        data_dir: The benchmark data folder (default: :func:`default_data_dir`).
        policy: The policy whose category ids the judge may use.
        judge_options: Options for the judge.
        concurrency: Requests in flight at once, for judges that call a model.
        progress: Show a progress bar.

    Returns:
        ``{"judge", "baseline", "benchmarks": {name: {"rows", "judge", "baseline", ...}},
        "skipped": {name: reason}, "anchors", "data_dir"}`` with figures overall, per source
        and per model family.

    Raises:
        InputError: A benchmark named explicitly is unknown or its files are missing, a
            benchmark's rows fail the label checks, or no benchmark could be read.
    """
    from redline.judges.calibration import calibrate, rows_from_records

    explicit = [n for n in names if n != "all"]
    wanted = list(BENCHMARKS) if "all" in names else explicit
    for n in explicit:
        if n not in BENCHMARKS:
            load_benchmark(n)  # raises the unknown-name error
    out: dict[str, Any] = {"judge": None, "baseline": BASELINE, "benchmarks": {}, "skipped": {},
                           "anchors": HARM_ANCHORS,
                           "data_dir": str(data_dir or default_data_dir())}
    cats = policy.category_ids if policy is not None else None
    for name in wanted:
        try:
            records = load_benchmark(name, data_dir)
        except InputError as e:
            if name in explicit:
                raise
            out["skipped"][name] = e.problems[0].message if e.problems else str(e)
            continue
        rows, rejected = rows_from_records(records, cats)
        if rejected:
            raise InputError(f"benchmark {name!r}: {len(rejected)} row(s) failed the label checks", [Problem(
                f"benchmark {name}", f"first: row {rejected[0]['line']}: {rejected[0]['reason']}",
                "the benchmark files are not the pinned ones; fetch them again")])
        b = BENCHMARKS[name]
        entry: dict[str, Any] = {"rows": len(rows), "labels": b.labels, "licence": b.licence,
                                 "origin": b.origin, "description": b.description}
        res = calibrate(judge_name, rows, policy=policy, judge_options=judge_options,
                        progress=progress, labels_path=f"benchmark:{name}", concurrency=concurrency)
        out["judge"] = res["judge"]
        entry["judge"] = _compact(res)
        if judge_name != BASELINE:
            base = calibrate(BASELINE, rows, policy=policy, labels_path=f"benchmark:{name}")
            entry["baseline"] = _compact(base)
        out["benchmarks"][name] = entry
    if not out["benchmarks"]:
        raise InputError("no benchmark could be read", [Problem(
            "--benchmark", "; ".join(f"{k}: {v}" for k, v in out["skipped"].items()) or "none given",
            "pass --data-dir DIR with the public files, or use a bundled benchmark: " +
            ", ".join(n for n, x in BENCHMARKS.items() if x.bundled))])
    return out
