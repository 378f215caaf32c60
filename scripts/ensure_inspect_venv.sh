#!/usr/bin/env bash
# A separate virtual environment with Inspect AI, for the interop tests that run a real Inspect eval
# (tests/test_data_inspect_logs.py). It is separate because inspect-ai pins versions that differ
# from the main venv's (e.g. fsspec, python-dateutil); Redline itself reads Inspect logs without it.
# Where it cannot be installed (no network, no PyPI) the live tests skip with a reason and the
# committed logs in tests/data/inspect/ (written by the real tool) still test the reader.
# ~50 s on 2 cores with pip's cache warm (325 MB). Usage: ensure_inspect_venv.sh [DIR] (default
# $REDLINE_INSPECT_VENV, else .venv-inspect).
set -u
DIR=${1:-${REDLINE_INSPECT_VENV:-.venv-inspect}}
PY=${PYTHON:-python3}
"$DIR/bin/python" -c "import inspect_ai" 2>/dev/null && exit 0
start=$(date +%s)
install() {
  { [ -x "$DIR/bin/python" ] || "$PY" -m venv "$DIR"; } && "$DIR/bin/pip" install -q "inspect-ai==0.3.285"
}
# one retry: a download that fails half-way should not cost the live tests
if ! install >/tmp/redline-inspect.log 2>&1 && ! install >>/tmp/redline-inspect.log 2>&1; then
  echo "note: could not install inspect-ai into $DIR (see /tmp/redline-inspect.log); the live Inspect tests will skip" >&2
  exit 0
fi
echo "installed inspect-ai 0.3.285 into $DIR in $(( $(date +%s) - start )) s" >&2
exit 0
