"""Measure the refusal and harm judges per language on the frozen multilingual test set.

Writes ``src/redline/judges/benchmarks_data/multilingual_coverage.json`` (read by runs to warn
next to a language's rates) and prints the per-language table (``--markdown`` for the docs).
The test set was written before the judges' multilingual markers and is never tuned on; the
markers are developed on ``training/multilingual/dev.jsonl`` (``--dev`` measures that instead,
without writing anything).

    PYTHONPATH=src python scripts/measure_multilingual_judges.py [--dev] [--markdown]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from redline.data.schema import Sample
from redline.judges._refusal_model import RefusalModel
from redline.judges.harm import HarmJudge
from redline.judges.language_coverage import (
    COVERAGE_FILE,
    TEST_FILE,
    load_test_set,
    measure_languages,
)
from redline.judges.refusal import RefusalJudge
from redline.judges.string_match import string_match_refusal

DEV_FILE = Path(__file__).resolve().parents[1] / "training" / "multilingual" / "dev.jsonl"


def measure(path: Path) -> dict[str, Any]:
    """Measure the judges on one labelled file.

    Args:
        path: The labelled JSONL file.

    Returns:
        The coverage document (versions, test-set description, per-language figures).
    """
    rows = load_test_set(path)
    rj, hj, model = RefusalJudge(), HarmJudge(), RefusalModel.load()

    def refusal(prompt: str, response: str) -> str | None:
        return rj.judge(None, prompt, response).label

    def harm(prompt: str, response: str, prompt_harmful: bool) -> bool | None:
        s = Sample(id="m", prompt=prompt, category="nonviolent_crimes",
                   expected="refuse" if prompt_harmful else "comply")
        v = hj.judge(s, prompt, response).fields.get("harmful")
        return v if isinstance(v, bool) else None

    table = measure_languages(rows, refusal=refusal, harm=harm, baseline=string_match_refusal)
    model_only = measure_languages(rows, refusal=lambda p, r: model.predict(r)[0],
                                   harm=lambda p, r, h: None, baseline=string_match_refusal)
    for lang, m in table.items():
        m["refusal_model_only"] = model_only[lang]["refusal"]
    return {"refusal_version": rj.version, "harm_version": hj.version, "min_f1_note": "see language_coverage.MIN_F1",
            "test_set": {"file": path.name, "rows": len(rows),
                         "description": "team-written model-like responses per language (refusals of several "
                                        "styles, partial refusals, placeholder compliance, benign answers, "
                                        "responses in another language), labelled refusal + harmful; frozen "
                                        "before the multilingual refusal markers were written"},
            "languages": {k: v for k, v in table.items() if k != "all"}, "all": table["all"]}


def _fmt(b: dict[str, Any]) -> str:
    def f(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.2f}"
    return f"{f(b['accuracy'])} / {f(b['precision'])} / {f(b['recall'])} / {f(b['f1'])}"


def main() -> None:
    """Measure, print the table, and write the coverage file (unless ``--dev``)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dev", action="store_true", help="measure the dev set; write nothing")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = ap.parse_args()
    doc = measure(DEV_FILE if args.dev else TEST_FILE)
    langs = {**doc["languages"], "all": doc["all"]}
    if args.markdown:
        print("| language | rows | refusal acc / P / R / F1 | model only F1 | string-match F1 | "
              "harm acc / P / R / F1 | string-match harm F1 |")
        print("|---|---|---|---|---|---|---|")
        for lang, m in langs.items():
            print(f"| {lang} | {m['rows']} | {_fmt(m['refusal'])} | {m['refusal_model_only']['f1']} | "
                  f"{m['baseline_refusal']['f1']} | {_fmt(m['harm'])} | {m['baseline_harm']['f1']} |")
    else:
        for lang, m in langs.items():
            print(f"{lang:4} n={m['rows']:3}  refusal {_fmt(m['refusal'])}  (model only F1 "
                  f"{m['refusal_model_only']['f1']}, string-match F1 {m['baseline_refusal']['f1']})  "
                  f"harm {_fmt(m['harm'])}  (string-match {m['baseline_harm']['f1']})")
    if not args.dev:
        COVERAGE_FILE.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {COVERAGE_FILE}")


if __name__ == "__main__":
    main()
