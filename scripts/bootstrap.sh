#!/usr/bin/env bash
# Install everything EdgePlug needs on this machine, safely re-runnable:
# Debian packages (as root, via apt-get), a virtualenv in .venv, and the pinned requirements.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages: the Python toolchain, PostgreSQL/Redis clients, QEMU and the ARM
# toolchain for hardware simulation, bubblewrap for sandboxing, Chromium for browser tests,
# docker-compose to validate docker-compose.yml, wrk to drive make bench-web, and Pango
# (with HarfBuzz's subsetter) for WeasyPrint's invoice PDFs, with fonts for the names and
# addresses the shipped DejaVu cannot print (Chinese, Japanese, Korean; Thai; the scripts of
# India; Myanmar; Ethiopic; emoji: docs/invoices.md).
DEBIAN_PACKAGES=(
  python3-venv python3-dev build-essential libpq-dev
  qemu-system-arm gcc-arm-none-eabi bubblewrap
  chromium chromium-driver docker-compose wrk
  libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-wqy-zenhei
  fonts-tlwg-loma-ttf fonts-lohit-deva
  fonts-lohit-beng-bengali fonts-lohit-taml fonts-lohit-telu fonts-lohit-knda
  fonts-lohit-mlym fonts-lohit-gujr fonts-lohit-guru fonts-lohit-orya
  fonts-sil-padauk fonts-sil-abyssinica fonts-noto-color-emoji
)

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for pkg in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = "0" ]; then
      echo "==> apt-get install ${missing[*]}"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
      echo "!! Missing Debian packages: ${missing[*]}" >&2
      echo "!! Install them with: sudo apt-get install ${missing[*]}" >&2
      exit 1
    fi
  fi
else
  echo "!! Not a Debian system: install Python 3.11 with venv, a C compiler, qemu-system-arm," >&2
  echo "!! gcc-arm-none-eabi with newlib, bubblewrap and chromium + chromedriver yourself." >&2
fi

# The QEMU instruction-counting plugin (C, built with the host compiler; see
# docs/firmware-harness.md). make does nothing when it is up to date.
if command -v gcc >/dev/null 2>&1; then
  make -s -C certification/qemu_plugin
fi

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv with $PYTHON"
  "$PYTHON" -m venv .venv
fi
if [ ! -f .venv/.requirements.sha ] \
   || ! sha256sum -c --status .venv/.requirements.sha 2>/dev/null; then
  echo "==> pip install -r requirements.txt"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r requirements.txt
  .venv/bin/python -m pip install -q --no-deps -e .
  sha256sum requirements.txt pyproject.toml > .venv/.requirements.sha
fi
