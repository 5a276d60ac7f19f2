#!/usr/bin/env bash
# Sets up everything the harness needs on a Debian or Ubuntu machine, idempotently:
# the Debian packages (apt-get when root, otherwise the exact command to run),
# a virtual environment in .venv, and the harness installed into it.
set -euo pipefail
cd "$(dirname "$0")"

# kamailio*: the reference platform's registrar/proxy; libspandsp2: in-band DTMF
# detection; espeak-ng, sox: prompt generation; python3-venv: the virtual environment;
# chromium, fonts-noto-cjk: the evidence report's PDF (Chinese fonts embedded) and its
# screenshots; poppler-utils: the report tests look into the PDF (pdffonts, pdftoppm);
# ffmpeg: decodes recordings stored as GSM, WAV49, MP3 or Ogg (Opus, Vorbis); build-essential,
# python3-dev: PyPI's pesq (PESQ scores) has no wheel and is compiled on install.
APT_PACKAGES="kamailio kamailio-sqlite-modules libspandsp2 espeak-ng sox python3-venv chromium fonts-noto-cjk poppler-utils ffmpeg sipvicious build-essential python3-dev"

missing=""
for pkg in $APT_PACKAGES; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing Debian packages:$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  else
    echo "setup: these Debian packages are missing:$missing" >&2
    echo "setup: run this, then run setup again:  sudo apt-get install -y$missing" >&2
    exit 1
  fi
fi

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "setup: Python 3.11 or newer is needed (found $("$PYTHON" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2
  exit 1
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv

# Reinstall only when the project's dependencies changed since the last install; the
# versions are pinned by constraints.txt, so a fresh machine gets what CI tested.
stamp=.venv/.ccharness-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ constraints.txt -nt "$stamp" ]; then
  echo "setup: installing Python packages into .venv"
  .venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -m pip install -q -c constraints.txt -e '.[test]' 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -c 'import pjsua2, harness, pjsua2fix' || { echo "setup: the install failed (see above)" >&2; exit 1; }
  touch "$stamp"
fi
# The Allure 3 command line renders the Allure HTML report; it needs Node.js 20+ (from npm's
# registry into .allure/). Without Node.js the run still writes allure-results and says so.
if command -v npm >/dev/null && node -e 'process.exit(parseInt(process.versions.node, 10) < 20 ? 1 : 0)' 2>/dev/null; then
  if [ ! -x .allure/node_modules/.bin/allure ]; then
    echo "setup: installing the Allure command line (npm allure@3) into .allure/"
    mkdir -p .allure
    (cd .allure && npm install --no-audit --no-fund --loglevel=error allure@3 >/dev/null) \
      || echo "setup: could not install allure@3 from npm; reports skip the Allure HTML" >&2
  fi
else
  echo "setup: Node.js 20+ not found: the Allure HTML report will be skipped (allure-results are still written)"
fi
echo "setup: ready (.venv/bin/ccharness)"
