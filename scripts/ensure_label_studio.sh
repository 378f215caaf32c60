#!/usr/bin/env bash
# Install Label Studio (PyPI `label-studio` 1.23.x) into its OWN virtual environment, for the
# round-trip tests against a real Label Studio server (tests/test_data_label_studio.py). Its
# dependencies (Django and friends, pinned) conflict with Redline's, so it never goes into .venv.
# It currently needs sentry-sdk<3. ~1 GB on disk; about 2.5 min on a cold pip cache, well under a
# minute from cached wheels. Where it cannot install (no network, no disk), the tests skip and say
# why. Idempotent: an installed Label Studio of the right version is kept.
# Usage: ensure_label_studio.sh [VENV_DIR]   (default .venv-ls; the tests read REDLINE_LABEL_STUDIO_VENV)
set -u
VENV=${1:-.venv-ls}
PYTHON=${PYTHON:-python3}
SPEC=${LABEL_STUDIO_SPEC:-label-studio==1.23.*}
if "$VENV/bin/python" - <<'PY' 2>/dev/null; then exit 0; fi
import importlib.metadata as m, sys
sys.exit(0 if m.version("label-studio").startswith("1.23.") else 1)
PY
start=$(date +%s)
echo "installing Label Studio ($SPEC) into $VENV for the Label Studio round-trip tests …" >&2
rm -f "$VENV/redline-template.sqlite3"  # a database migrated by another version would not do
if ! { [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"; } >/tmp/redline-label-studio.log 2>&1 \
   || ! "$VENV/bin/pip" install -q "$SPEC" "sentry-sdk<3" >>/tmp/redline-label-studio.log 2>&1; then
  echo "note: could not install Label Studio (see /tmp/redline-label-studio.log); its round-trip tests will be skipped" >&2
  exit 0
fi
echo "Label Studio installed in $(( $(date +%s) - start )) s" >&2
exit 0
