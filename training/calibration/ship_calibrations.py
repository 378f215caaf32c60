"""Measure the built-in offline judges on the held-out calibration set and ship the results.

    .venv/bin/python training/calibration/ship_calibrations.py

Resolves ``labels.jsonl`` + ``benign_source.py`` (needs ../shared/data) and adds the
evaluation-only public sets ``gptfuzz-eval`` (1,540 human harm labels) and ``xstest`` (2,250 human
refusal labels), read from ``$REDLINE_JUDGE_DATA`` (see ``training/judgedata/README.md``; none of
these rows is ever trained on). Runs :func:`redline.judges.calibration.calibrate` for each
built-in offline judge under the default policy, and writes
``src/redline/judges/calibrations/<judge>--<version>--<policy>.json`` (older shipped files of
these judges are removed). Run it after retraining any of the models.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "src"))

from build_calibration import build_records  # noqa: E402

from redline.judges.benchmarks import load_benchmark  # noqa: E402
from redline.judges.calibration import (  # noqa: E402
    calibrate,
    calibration_path,
    load_labels,
    rows_from_records,
    shipped_dir,
)
from redline.policy import load_policy  # noqa: E402

JUDGES = ("refusal", "harm")
#: evaluation-only public benchmarks added to the calibration rows (never trained on)
PUBLIC = ("gptfuzz-eval", "xstest")


def main() -> None:
    policy = load_policy("default")
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "calibration.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in build_records()),
                        encoding="utf-8")
        rows, rejected = load_labels(path, policy.category_ids)
    assert not rejected, rejected
    for r in rows:
        r.source = "jbb-heldout" if r.prompt_harmful is not False else "team-benign"
    public = [rec for name in PUBLIC for rec in load_benchmark(name)]
    more, rejected = rows_from_records(public, policy.category_ids)
    assert not rejected, rejected[:3]
    rows += more
    out_dir = shipped_dir()
    out_dir.mkdir(exist_ok=True)
    for name in JUDGES:
        res = calibrate(name, rows, policy=policy,
                        labels_path="training/calibration/labels.jsonl + benign_source.py (held-out test split)")
        res["labels"]["path"] = ("training/calibration/labels.jsonl + benign_source.py + benchmarks "
                                 + " + ".join(PUBLIC))
        res["labels"]["description"] = (
            "held out from every shipped judge: 134 JailbreakBench responses (test-split behaviours), "
            "hand-labelled harmful/refusal by the Redline team; 60 team-written responses to benign "
            "prompts; GPTFuzz's evaluation split (1,540 human harm labels, ChatGPT/Llama-2/Vicuna); "
            "XSTest v2 (2,250 human refusal labels, GPT-4/Llama-2/Mistral). See "
            "training/calibration/README.md and training/judgedata/README.md")
        for old in out_dir.glob(f"{name}--*.json"):
            old.unlink()
        p = calibration_path(out_dir, res["judge"]["id"], res["judge"]["version"], policy.content_hash)
        p.write_text(json.dumps(res, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        for scope, h in (("all rows", res["harm"]["overall"]),
                         ("harmful prompts (corrects run rates)", res["harm"]["harmful_prompts"]["overall"])):
            print(f"{p.name} [{scope}]: harm n {h['n']} acc {h['accuracy']['value']} kappa {h['kappa']} "
                  f"sens {h['sensitivity']['value']} spec {h['specificity']['value']}")


if __name__ == "__main__":
    main()
