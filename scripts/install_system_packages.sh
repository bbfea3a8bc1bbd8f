#!/usr/bin/env bash
# Debian packages the pipeline needs: ffmpeg (cutting, probing, audio), a Korean font
# (title cards, the demo 자료집) and, for the tests, Chromium, espeak-ng (synthetic Korean
# speech for fixtures that must not copy the licensed corpus) and Node.js with npm (the
# tests' JavaScript tools). Installs only what is missing, so re-runs are quiet. SORT_ARCHIVE_NO_BROWSER=1 skips Chromium (production hosts).
set -euo pipefail
missing=()
command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1 || missing+=(ffmpeg)
[ -f /usr/share/fonts/truetype/nanum/NanumGothic.ttf ] || missing+=(fonts-nanum)
command -v fc-match >/dev/null 2>&1 || missing+=(fontconfig)
# Debian's own python3 needs python3-venv for `python3 -m venv` (ensurepip).
python3 -c "import ensurepip" >/dev/null 2>&1 || missing+=(python3-venv)
# The tests open the viewer pages in a real browser (Playwright drives Debian's Chromium).
if [ "${SORT_ARCHIVE_NO_BROWSER:-0}" != 1 ]; then
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
  # The tests' JavaScript tools (package.json): the W3C WebVTT parser and axe-core.
  command -v node >/dev/null 2>&1 || missing+=(nodejs)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
fi
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing Debian packages: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "need root (or sudo) to apt-get install ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
