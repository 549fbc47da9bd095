#!/usr/bin/env bash
# Regenerate the notebooks in notebooks/ with their outputs, or check that they run.
#
#   bash scripts/notebooks.sh           execute every notebook in place (the committed outputs)
#   bash scripts/notebooks.sh --check   execute every notebook into a temporary copy; fail on any error
#                                       or when a committed notebook's outputs differ from the run
#   bash scripts/notebooks.sh [--check] notebooks/01-crash-test.ipynb ...   only these
#
# Creates notebooks/.venv (Python 3.11 or newer) with notebooks/requirements.txt, builds
# target/release/statesim, then executes the notebooks with nbclient from notebooks/ (their
# working directory in Jupyter too). Simulation outputs go to notebooks/output/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."

check=()
notebooks=()
for arg in "$@"; do
  case "$arg" in
    --check) check=(--check) ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "unknown option: $arg" >&2; exit 2 ;;
    *) notebooks+=("$arg") ;;
  esac
done

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "scripts/notebooks.sh needs Python 3.11 or newer as $PYTHON (set PYTHON=...)" >&2
  exit 1
fi

venv=notebooks/.venv
if [ ! -x "$venv/bin/python" ]; then
  echo "== creating $venv"
  "$PYTHON" -m venv "$venv"
fi
echo "== installing notebooks/requirements.txt"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r notebooks/requirements.txt

echo "== building statesim"
if [ ${#check[@]} -gt 0 ]; then
  cargo build --release --locked --quiet
else
  cargo build --release --quiet
fi

# Notebooks read and write notebooks/output/; start clean so no output of an older binary lingers.
rm -rf notebooks/output

echo "== executing notebooks${check:+ (check: into a temporary copy)}"
"$venv/bin/python" notebooks/execute.py ${check[@]+"${check[@]}"} ${notebooks[@]+"${notebooks[@]}"}
