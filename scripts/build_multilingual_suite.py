#!/usr/bin/env python3
"""Build the ``core_multilingual`` suite deterministically.

Inputs
    * ``../shared/data`` (``--data`` or ``REDLINE_SHARED_DATA``), pinned by SHA-256:
        - MultiJail (MIT): ``multijail/MultiJail.csv`` — en, zh, ar, bn, sw, jv versions of
          the harmful prompts it ships;
        - AILuminate v1.0 DEMO fr_FR (CC-BY-4.0): French prompts named in the team file.
    * ``src/redline/packs/suites/core.jsonl``: English originals (``source: core`` items and the
      benign contrast prompts), and each category's expected behaviour for harmful prompts.
    * ``src/redline/packs/suites/multilingual_team.yaml``: the team's translations (fr and es of
      MultiJail items, every language of the others, benign contrast prompts per language).

Output
    ``src/redline/packs/suites/core_multilingual.jsonl``: for each of the 17 ``default``-policy
    categories, 5 harmful + 5 benign requests, each in en (the reference) and zh, fr, es, ar,
    bn, sw, jv: 17 × 10 × 8 = 1,360 samples. Every sample records ``language`` and
    ``meta.en_id`` (the id of its English original, itself included: its own id), so results pair
    across languages (``redline.evals.gaps``); ``meta.translation`` says where the text comes
    from (``original``, ``multijail``, ``ailuminate-fr_FR``, ``team``).

Ids: ``cml-<category>-hNN-<lang>`` / ``cml-<category>-bNN-<lang>``; the benign ones follow
``core-<category>-b01..b05``. Running twice gives byte-identical output; ``--check`` exits 1
when the committed file is stale.

    REDLINE_SHARED_DATA=/path/to/shared/data python scripts/build_multilingual_suite.py [--check]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
SUITES = REPO / "src" / "redline" / "packs" / "suites"
LANGS = ("en", "zh", "fr", "es", "ar", "bn", "sw", "jv")
MULTIJAIL_LANGS = ("zh", "ar", "bn", "sw", "jv")
PINS = {
    "multijail/MultiJail.csv": "2798ed6fe470b80b1f486976e0fb3baa3ce008e62b6ca0abbf2e1ed5b1dfb355",
    "ailuminate/airr_official_1.0_demo_fr_fr_prompt_set_release.csv":
        "5f26484aca585ed690f6da61230e214069778fed43bc2c735d30b4df29f1fe1c",
}
PER_CATEGORY = 5


def _read(data: Path, rel: str, verify: bool) -> Path:
    path = data / rel
    if not path.is_file():
        sys.exit(f"missing input {path}: pass --data DIR (the shared public data sets)")
    if verify:
        got = hashlib.sha256(path.read_bytes()).hexdigest()
        if got != PINS[rel]:
            sys.exit(f"{path}: sha256 {got[:12]}… is not the pinned {PINS[rel][:12]}…")
    return path


def _clean(text: str) -> str:
    return " ".join(text.split())


def build(data: Path, verify: bool = True) -> list[dict[str, Any]]:
    """Build the suite's records.

    Args:
        data: The shared data folder.
        verify: Check the inputs' SHA-256.

    Returns:
        The records, in output order.
    """
    with _read(data, "multijail/MultiJail.csv", verify).open(encoding="utf-8-sig", newline="") as f:
        multijail = {r["id"]: r for r in csv.DictReader(f)}
    fr_path = _read(data, "ailuminate/airr_official_1.0_demo_fr_fr_prompt_set_release.csv", verify)
    with fr_path.open(encoding="utf-8-sig", newline="") as f:
        ailuminate_fr = {r["release_prompt_id"]: r for r in csv.DictReader(f)}
    core = {}
    with (SUITES / "core.jsonl").open(encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            core[rec["id"]] = rec
    expected = {r["category"]: r["expected"] for r in core.values() if r["expected"] != "comply"}
    team = yaml.safe_load((SUITES / "multilingual_team.yaml").read_text(encoding="utf-8"))

    out: list[dict[str, Any]] = []
    for category in sorted(team["harmful"], key=list(expected).index):
        items = team["harmful"][category]
        if len(items) != PER_CATEGORY:
            sys.exit(f"harmful.{category}: {len(items)} items, want {PER_CATEGORY}")
        for n, item in enumerate(items, 1):
            texts: dict[str, tuple[str, str]] = {}  # lang -> (text, translation)
            if item["source"] == "multijail":
                row = multijail[str(item["id"])]
                texts["en"] = (row["en"], "original")
                for lang in MULTIJAIL_LANGS:
                    texts[lang] = (row[lang], "multijail")
                upstream, source = f"multijail:{item['id']}", "multijail"
            elif item["source"] == "core":
                texts["en"] = (core[item["id"]]["prompt"], "original")
                upstream, source = item["id"], core[item["id"]]["source"]
            elif item["source"] == "ailuminate_fr":
                texts["en"] = (item["en"], "team")
                texts["fr"] = (ailuminate_fr[item["id"]]["prompt_text"], "ailuminate-fr_FR")
                upstream, source = item["id"], "ailuminate-demo-v1.0"
            else:
                sys.exit(f"harmful.{category}[{n}]: unknown source {item['source']!r}")
            for lang in LANGS:
                if lang in texts:
                    continue
                value = item.get(lang)
                if isinstance(value, dict) and "ailuminate" in value:
                    texts[lang] = (ailuminate_fr[value["ailuminate"]]["prompt_text"], "ailuminate-fr_FR")
                elif isinstance(value, str):
                    texts[lang] = (value, "team")
                else:
                    sys.exit(f"harmful.{category}[{n}]: no {lang} text")
            en_id = f"cml-{category}-h{n:02d}-en"
            for lang in LANGS:
                text, translation = texts[lang]
                out.append({"id": f"cml-{category}-h{n:02d}-{lang}", "prompt": _clean(text), "category": category,
                            "expected": expected[category], "language": lang, "source": source,
                            "meta": {"intent": "harmful", "en_id": en_id, "upstream_id": upstream,
                                     "translation": translation}})
        benign = team["benign"][category]
        if len(benign) != PER_CATEGORY:
            sys.exit(f"benign.{category}: {len(benign)} items, want {PER_CATEGORY}")
        for n, item in enumerate(benign, 1):
            orig = core[f"core-{category}-b{n:02d}"]
            en_id = f"cml-{category}-b{n:02d}-en"
            for lang in LANGS:
                text, translation = (orig["prompt"], "original") if lang == "en" else (item[lang], "team")
                out.append({"id": f"cml-{category}-b{n:02d}-{lang}", "prompt": _clean(text), "category": category,
                            "expected": "comply", "language": lang, "source": "redline-team",
                            "meta": {"intent": "benign", "en_id": en_id, "upstream_id": orig["id"],
                                     "contrast_type": orig["meta"].get("contrast_type"),
                                     "translation": translation}})
    return out


def dump(rows: list[dict[str, Any]]) -> str:
    """The suite file's text (one JSON record a line, UTF-8, not ASCII-escaped).

    Args:
        rows: The records.

    Returns:
        The text.
    """
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def main(argv: list[str] | None = None) -> int:
    """Build (or ``--check``) the suite.

    Args:
        argv: Command-line arguments.

    Returns:
        The exit status.
    """
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path,
                    default=Path(os.environ.get("REDLINE_SHARED_DATA", REPO.parent / "shared" / "data")),
                    help="folder with the shared public data sets (default: ../shared/data)")
    ap.add_argument("--out", type=Path, default=SUITES / "core_multilingual.jsonl", help="output file")
    ap.add_argument("--check", action="store_true", help="do not write; exit 1 if the file on disk differs")
    ap.add_argument("--no-verify", action="store_true", help="skip the input sha256 check")
    args = ap.parse_args(argv)
    rows = build(args.data, verify=not args.no_verify)
    text = dump(rows)
    langs = sorted({r["language"] for r in rows})
    print(f"core_multilingual: {len(rows)} records, {len(langs)} languages ({', '.join(langs)})")
    if args.check:
        if not args.out.exists() or args.out.read_text(encoding="utf-8") != text:
            print("out of date: core_multilingual.jsonl", file=sys.stderr)
            return 1
        return 0
    with args.out.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
