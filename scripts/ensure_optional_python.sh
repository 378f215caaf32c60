#!/usr/bin/env bash
# Install the optional Python packages that some interop tests use, where this machine can do it
# cheaply: TRL (its own is_conversational / maybe_apply_chat_template check our TRL exports) needs
# torch, and PyPI's default torch is a multi-GB CUDA build. So TRL is installed only when a CPU
# torch wheel is available locally (pip's find-links, e.g. /opt/wheels); elsewhere the TRL checks
# skip with a reason and the documented TRL rules are still tested. Usage: ensure_optional_python.sh BIN
set -u
BIN=${1:-.venv/bin}
"$BIN/python" -c "import trl" 2>/dev/null && exit 0
# --no-index --no-deps: only a local wheel will do (fails at once where there is none)
if ! "$BIN/pip" install -q --no-index --no-deps "torch==2.13.*" >/tmp/redline-torch.log 2>&1; then
  echo "note: no local CPU torch wheel; TRL's own checks will be skipped (see /tmp/redline-torch.log)" >&2
  exit 0
fi
"$BIN/pip" install -q "torch==2.13.*" "trl>=1.16,<2" >/tmp/redline-trl.log 2>&1 \
  || echo "note: pip install trl failed (see /tmp/redline-trl.log); TRL's own checks will be skipped" >&2
exit 0
