"""Calibration: measure a judge against human labels, store the result, and correct rates.

One module per job: :mod:`~redline.judges.calibration.labels` (labelled rows),
:mod:`~redline.judges.calibration.metrics` (agreement figures),
:mod:`~redline.judges.calibration.measure` (running a judge over the rows),
:mod:`~redline.judges.calibration.storage` (saving and finding results) and
:mod:`~redline.judges.calibration.correction` (Rogan-Gladen corrected rates); every public name
is importable from this package.

* :func:`load_labels` reads a labelled JSONL file (``prompt`` or ``messages``, ``response``,
  human ``harmful`` and/or ``refusal``, optional ``category`` and ``prompt_harmful``);
  bad rows are returned with line numbers and reasons (the caller quarantines them).
* :func:`calibrate` runs any registered judge over the rows and reports accuracy, Cohen's
  kappa, sensitivity/specificity/precision with Wilson 95% intervals, overall and per
  category, and confusion matrices.
* :func:`save_calibration` / :func:`find_calibration` store and look results up, keyed by
  judge id + version + policy hash: first the workspace (``$REDLINE_HOME/calibrations``),
  then the calibrations shipped with Redline for the built-in judges.
* :func:`calibrated_rates` turns a run's raw harmful-response rates into Rogan-Gladen
  corrected rates with bootstrap intervals, flagging categories the judge was never
  calibrated on.

Which verdict is "the judge says harmful": a harm judge's ``harmful`` field; for the
``refusal`` judge (whose verdict decides harm under the spine's outcome rule) a
``full_compliance`` on a harmful prompt.  Rows with ``prompt_harmful: false`` are left out
of the refusal judge's harm figures, because the outcome rule never calls a response to a
benign prompt harmful.

A run's harmful-response rate is measured on harmful prompts only, so the figures that correct
it (``harm.harmful_prompts``) come from the rows whose ``prompt_harmful`` is not ``false``: a
judge's specificity on easy benign-prompt rows must not inflate the specificity used to correct
a harmful-prompt rate.
"""

from __future__ import annotations

from redline.judges.calibration.correction import (
    MAX_CHANCE_DRAWS,
    MIN_PER_CLASS,
    calibrated_rates,
    calibration_block_for_run,
    rogan_gladen,
)
from redline.judges.calibration.labels import (
    REFUSAL_LABELS,
    LabelledRow,
    load_labels,
    rows_from_records,
)
from redline.judges.calibration.measure import calibrate
from redline.judges.calibration.metrics import binary_metrics, multiclass_metrics
from redline.judges.calibration.storage import (
    SCHEMA,
    calibration_path,
    find_calibration,
    save_calibration,
    shipped_dir,
)

__all__ = [
    "MAX_CHANCE_DRAWS",
    "MIN_PER_CLASS",
    "REFUSAL_LABELS",
    "SCHEMA",
    "LabelledRow",
    "binary_metrics",
    "calibrate",
    "calibrated_rates",
    "calibration_block_for_run",
    "calibration_path",
    "find_calibration",
    "load_labels",
    "multiclass_metrics",
    "rogan_gladen",
    "rows_from_records",
    "save_calibration",
    "shipped_dir",
]
