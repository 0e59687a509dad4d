#!/usr/bin/env bash
# wrk against the minimal HTTP "hello" server, written on solo
# (crates/solo/examples/hello_server.rs) and on tokio current_thread
# (bench/src/bin/hello-tokio.rs): server pinned to core 0, wrk (one thread)
# pinned to core 1, alternating servers, REPS runs each; medians of
# requests/s and p99 latency go to bench/results/wrk.jsonl.
#
#   bench/wrk/run.sh [REPS] [DURATION_S] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/../.."
reps=${1:-3}
dur=${2:-10}
conns=${3:-100}
command -v wrk >/dev/null || { echo "wrk not found (apt-get install wrk)" >&2; exit 1; }
cargo build --release -q -p solo --example hello_server
cargo build --release -q -p solo-bench --bin hello-tokio
target=${CARGO_TARGET_DIR:-target}/release
solo_bin=$target/examples/hello_server
tokio_bin=$target/hello-tokio
# taskset execs the program, so `$!` below is the server itself.
pin0=(); pin1=()
if command -v taskset >/dev/null; then pin0=(taskset -c 0); pin1=(taskset -c 1); fi
out=$(mktemp)
for rep in $(seq "$reps"); do
    for rt in solo tokio; do
        port=$((18080 + RANDOM % 1000))
        bin=$solo_bin; [[ $rt == tokio ]] && bin=$tokio_bin
        "${pin0[@]}" "$bin" "127.0.0.1:$port" >/dev/null &
        pid=$!
        for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
        # Check the answer before measuring it.
        reply=$(python3 -c "import urllib.request as u; print(u.urlopen('http://127.0.0.1:$port/').read().decode())")
        [[ $reply == "Hello, world!" ]] || { echo "$rt server answered: $reply" >&2; kill "$pid"; exit 1; }
        res=$("${pin1[@]}" wrk -t1 -c"$conns" -d"${dur}s" --latency "http://127.0.0.1:$port/")
        kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
        rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$res")
        p99=$(awk '$1 == "99%" {print $2}' <<<"$res")
        errs=$(awk '/Non-2xx|Socket errors/ {print}' <<<"$res")
        [[ -z $errs ]] || { echo "$rt: wrk reported errors: $errs" >&2; exit 1; }
        echo "rep $rep $rt: $rps req/s, p99 $p99"
        echo "$rt $rps $p99" >>"$out"
    done
done
python3 - "$out" "$reps" <<'PY'
import json, statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
reps = int(sys.argv[2])
def ms(v):
    for unit, f in (("us", 1e-3), ("ms", 1.0), ("s", 1e3)):
        if v.endswith(unit) and not (unit == "s" and v.endswith(("us", "ms"))):
            return float(v[: -len(unit)]) * f
    raise ValueError(v)
out = []
for rt in ("solo", "tokio"):
    rps = statistics.median(float(r[1]) for r in rows if r[0] == rt)
    p99 = statistics.median(ms(r[2]) for r in rows if r[0] == rt)
    out.append(dict(workload="hello-wrk", runtime=rt, metric="throughput", value=rps,
                    unit="requests/s", higher_is_better=True, reps=reps))
    out.append(dict(workload="hello-wrk", runtime=rt, metric="p99_latency", value=p99,
                    unit="ms", higher_is_better=False, reps=reps))
    print(f"{rt}: median {rps:,.0f} requests/s, p99 {p99:.2f} ms")
with open("bench/results/wrk.jsonl", "w") as f:
    for r in out:
        f.write(json.dumps(r) + "\n")
s, t = out[0]["value"], out[2]["value"]
print(f"solo/tokio: {s / t:.2f}x requests/s")
PY
rm -f "$out"
