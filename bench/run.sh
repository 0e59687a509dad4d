#!/usr/bin/env bash
# The whole benchmark suite in one command: solo vs tokio vs smol
# (solo-bench), asyncio and uvloop (bench/python), wrk against the hello
# servers (bench/wrk), solo-http vs reqwest vs aiohttp against nginx, then
# BENCHMARKS.md and the chart (bench/report.py).
# Every workload checks its own result and the run stops at the first
# failure. Run it on an otherwise idle machine; it prints the load average.
#
#   bench/run.sh            # full scale (about 15 minutes on 2 cores)
#   bench/run.sh --quick    # 1/100 scale smoke run; writes nothing
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ${1:-} == --quick ]]; then
    cargo run --release -q -p solo-bench -- all --quick
    bench/python/run.sh all --quick
    exit 0
fi
uptime
cargo run --release -q -p solo-bench -- all --json bench/results/rust.jsonl
bench/python/run.sh all --json bench/results/python.jsonl
if command -v wrk >/dev/null; then
    bench/wrk/run.sh
else
    echo "wrk not found (apt-get install wrk): hello-wrk not measured" >&2
fi
if command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]]; then
    cargo run --release -q -p solo-bench -- http --json bench/results/http.jsonl
    bench/python/run.sh http --runtime uvloop --json bench/results/python-http.jsonl
else
    echo "nginx not found (apt-get install nginx): http not measured" >&2
fi
python3 bench/report.py
