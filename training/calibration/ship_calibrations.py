"""Measure the built-in offline judges on the held-out calibration set and ship the results.

    .venv/bin/python training/calibration/ship_calibrations.py

Resolves ``labels.jsonl`` + ``benign_source.py`` (needs ../shared/data), runs
:func:`redline.judges.calibration.calibrate` for ``refusal`` and ``harm`` under the default
policy, and writes ``src/redline/judges/calibrations/<judge>--<version>--<policy>.json``
(older shipped files of these judges are removed). Run it after retraining either model.
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

from redline.judges.calibration import calibrate, calibration_path, load_labels, shipped_dir  # noqa: E402
from redline.policy import load_policy  # noqa: E402

JUDGES = ("refusal", "harm")


def main() -> None:
    policy = load_policy("default")
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "calibration.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in build_records()),
                        encoding="utf-8")
        rows, rejected = load_labels(path, policy.category_ids)
    assert not rejected, rejected
    out_dir = shipped_dir()
    out_dir.mkdir(exist_ok=True)
    for name in JUDGES:
        res = calibrate(name, rows, policy=policy,
                        labels_path="training/calibration/labels.jsonl + benign_source.py (held-out test split)")
        res["labels"]["description"] = (
            "134 JailbreakBench responses (test-split behaviours, never trained on), hand-labelled "
            "harmful/refusal by the Redline team, plus 60 team-written responses to benign prompts; "
            "see training/calibration/README.md")
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
