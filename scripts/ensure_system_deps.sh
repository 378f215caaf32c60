#!/usr/bin/env bash
# Install the system packages that optional tests use (Debian's chromium for the browser tests,
# PostgreSQL's server binaries for the Postgres tests, tesseract-ocr for the fake vision server of
# the multimodal tests, and the fonts the image suites draw with: DejaVu, Comic Neue for the
# handwriting-like layout, WenQuanYi Micro Hei for Chinese),
# where this machine can: as root with apt. Elsewhere the tests that need them skip with a reason.
set -u
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v tesseract >/dev/null || need+=(tesseract-ocr)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
ls /usr/share/fonts/opentype/comic-neue/ComicNeue-Regular.otf >/dev/null 2>&1 || need+=(fonts-comic-neue)
[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need+=(fonts-wqy-microhei)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "note: cannot install ${need[*]} (needs root + apt); the tests that need it will be skipped" >&2
  exit 0
fi
echo "installing system packages: ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
(apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}") >/tmp/redline-apt.log 2>&1 \
  || echo "note: apt-get install ${need[*]} failed (see /tmp/redline-apt.log); those tests will be skipped" >&2
exit 0
