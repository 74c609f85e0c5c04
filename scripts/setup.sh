#!/usr/bin/env bash
# Installs what framecast needs, skipping whatever is already there.
# System packages come from apt (as root); the Python side lives in .venv,
# built from Debian's own interpreter so the sandbox uid can execute it.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  ffmpeg libcairo2-dev libpango1.0-dev pkg-config bubblewrap
  python3-venv python3-dev gcc
  texlive-latex-base texlive-latex-recommended texlive-latex-extra
  texlive-fonts-recommended dvisvgm fonts-dejavu-core
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "framecast needs these system packages: ${missing[*]}" >&2
    echo "Install them with:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
  echo "==> installing system packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

PY=/usr/bin/python3
stamp=.venv/.framecast-installed
if [[ ! -x .venv/bin/python ]]; then
  echo "==> creating .venv from $PY"
  "$PY" -m venv .venv
fi
if [[ ! -f $stamp || pyproject.toml -nt $stamp ]]; then
  echo "==> installing framecast and its test extras into .venv"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[test]'
  touch "$stamp"
fi
# The sandbox runs as an unprivileged uid: it must be able to read the venv,
# the source tree and every directory above them.
chmod -R a+rX .venv core
d=$PWD
while [[ $d != / ]]; do chmod a+x "$d" 2>/dev/null || true; d=$(dirname "$d"); done
