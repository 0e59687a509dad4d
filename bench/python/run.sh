#!/usr/bin/env bash
# Run the Python (asyncio / uvloop) side of the solo benchmarks.
#
#   bench/python/run.sh [all|WORKLOAD] [--runtime asyncio|uvloop|all] [--reps N]
#                       [--json FILE] [--quick]
#
# Creates bench/python/.venv on first use (python3 -m venv; pip install uvloop
# matplotlib aiohttp) and then runs bench/python/bench.py with the venv's interpreter.
# With no arguments it runs every workload on both asyncio and uvloop, 3 reps,
# and writes bench/results/python.jsonl.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
py="$venv/bin/python"

if [ ! -x "$py" ]; then
    echo "run.sh: creating $venv" >&2
    python3 -m venv "$venv"
fi
if ! "$py" -c 'import uvloop, matplotlib, aiohttp' 2>/dev/null; then
    echo "run.sh: installing uvloop, matplotlib and aiohttp into $venv" >&2
    "$py" -m pip install --quiet --upgrade pip >&2
    "$py" -m pip install --quiet uvloop matplotlib aiohttp >&2
fi

if [ $# -eq 0 ]; then
    set -- all
fi
exec "$py" "$here/bench.py" "$@"
