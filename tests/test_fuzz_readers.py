"""Property-based fuzzing of every reader (issue 19, "make it stay fixed"): the data formats (JSONL,
JSON, CSV/TSV, Excel and the chat/training formats), suite validation, `data profile`, the policy
loader, the mapping-file loader and the vendor batch importer. Generated hostile files
(tests/fuzz_inputs.py) must be read — bad rows rejected and counted — or refused with a clear
error; never a traceback.

The budget is bounded for `make test` (REDLINE_FUZZ_EXAMPLES, default 25 per reader group);
`make fuzz` runs bench/fuzz_readers.py, which drives the same generators over ≥ 10,000 inputs in
worker processes and reports tracebacks, hangs and peak memory.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from tests import fuzz_inputs as fz

pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")  # large reprs of files
N = int(os.environ.get("REDLINE_FUZZ_EXAMPLES", "25"))
FUZZ = settings(max_examples=N, deadline=None, derandomize=os.environ.get("REDLINE_FUZZ_RANDOM") is None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture], database=None)


def _run(case: fz.Case, batch: fz.BatchProject | None = None) -> None:
    with tempfile.TemporaryDirectory() as d:
        assert fz.run_case(case, d, batch) in ("read", "refused")


@FUZZ
@given(fz.jsonl_case())
def test_jsonl_readers_never_crash(case: fz.Case) -> None:
    _run(case)


@FUZZ
@given(fz.json_case())
def test_json_readers_never_crash(case: fz.Case) -> None:
    _run(case)


@FUZZ
@given(fz.csv_case())
def test_csv_readers_never_crash(case: fz.Case) -> None:
    _run(case)


@settings(FUZZ, max_examples=max(5, N // 2))
@given(fz.xlsx_case())
def test_excel_reader_never_crashes(monkeypatch: pytest.MonkeyPatch, case: fz.Case) -> None:
    from redline.data import limits

    monkeypatch.setattr(limits, "MAX_XLSX_BYTES", 10_000_000)  # the generated bombs stay small
    _run(case)


@FUZZ
@given(fz.policy_case())
def test_policy_loader_never_crashes(case: fz.Case) -> None:
    _run(case)


@FUZZ
@given(fz.mapfile_case())
def test_map_file_loader_never_crashes(case: fz.Case) -> None:
    _run(case)


@pytest.fixture(scope="module")
def batch_project(tmp_path_factory: pytest.TempPathFactory) -> fz.BatchProject:
    return fz.BatchProject(tmp_path_factory.mktemp("batch"))


@settings(FUZZ, max_examples=max(5, N // 2))
@given(fz.st.one_of(fz.jsonl_case(), fz.csv_case(), fz.json_case()))
def test_batch_importer_never_crashes(batch_project: fz.BatchProject, case: fz.Case) -> None:
    target = {"in.jsonl": "batch_jsonl", "in.csv": "batch_csv", "in.tsv": "batch_csv",
              "in.json": "batch_label_studio"}[case.name]
    _run(fz.Case(target, case.name.replace(".tsv", ".csv"), case.data), batch_project)


def test_the_generators_reach_the_hostile_cases() -> None:
    """The strategies do produce what the limits are for (else the fuzzing proves little)."""
    from hypothesis import find

    search = settings(max_examples=2_000, deadline=None, database=None, phases=[Phase.generate],
                      suppress_health_check=list(HealthCheck))
    find(fz.jsonl_case(), lambda c: b'"\\ud800"' in c.data or b"\\udfff" in c.data, settings=search)
    find(fz.jsonl_case(), lambda c: b"[" * 1_001 in c.data, settings=search)
    find(fz.policy_case(), lambda c: b"*a5" in c.data, settings=search)
    find(fz.csv_case(), lambda c: c.data.count(b",") > 1_000, settings=search)
    assert Path(fz.__file__).is_file()
