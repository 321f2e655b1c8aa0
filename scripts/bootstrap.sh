#!/usr/bin/env bash
# Builds .venv from requirements.lock on a fresh machine; does nothing when it is already current.
# Usage: scripts/bootstrap.sh   (the Makefile calls it; it prints where the install log went)
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
STAMP="$VENV/.installed"
LOCK=requirements.lock

# System packages the tests use: PostgreSQL (the gateway's multi-replica store), Chromium + chromedriver (the
# browser tests of /docs and of the web interface, tests/ui), a CJK font (legible Japanese in those screenshots),
# wrk (benchmarks/gateway_bench.py). Installed only when missing.
SYSTEM_PACKAGES=(postgresql chromium chromium-driver fonts-droid-fallback wrk)
missing=()
for package in "${SYSTEM_PACKAGES[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
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
