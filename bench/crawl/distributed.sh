#!/usr/bin/env bash
# Distributed crawl benchmark (issue 14): the generated site of
# bench/crawl/gen_site.py spread over 64 hosts (127.0.0.1 .. 127.0.0.64, one
# nginx listening on all of them), so per-host limits matter, crawled with
# at most 4 requests in flight per host and 256 per worker, robots.txt off:
#
#   solo       the in-process frontier (one process)
#   solo-rN    the Redis frontier with N worker processes (`--workers N`)
#   sredis-rN  scrapy-redis with N `scrapy runspider` processes (its
#              Scheduler and RFPDupeFilter; SCHEDULER_PERSIST on so that the
#              first worker to stop does not delete the others' queue;
#              MAX_IDLE_TIME_BEFORE_CLOSE=2 to stop at all)
#
# for N in WORKERS (default "1 2 4"). Each run must fetch exactly the site's
# pages (distinct URLs answered 200). Measured per run: pages/s (from the
# start to the last page written: scrapy-redis workers idle 2 s before they
# stop, which is not counted), CPU seconds per 1,000 pages of the crawler
# processes (/usr/bin/time -v over the process tree) and of redis-server
# (INFO cpu, before/after), Redis commands per page (INFO stats
# total_commands_processed, which counts the calls a Lua script makes too)
# and scripts per page (EVALSHA calls: one round trip each), Redis memory
# per seen URL (the seen set's keys by MEMORY USAGE: solo's buckets,
# scrapy-redis's dupefilter), all of Redis's memory per URL after the crawl
# (used_memory over an empty database's: settings, robots.txt, counters
# too), and the peak RSS of the largest worker process.
#
# Then the kill test, for both: two workers, one SIGKILLed when 40% of the
# pages are written, the other goes on (solo's leases expire after
# --lease-timeout 3); pages lost = site pages missing from the union of the
# outputs.
#
#   bench/crawl/distributed.sh [--pages N] [--workers "1 2 4"] [--reps N] [--quick] [--solo-only]
#
# --quick: 2,000 pages, one and two workers, no scrapy-redis (CI smoke).
# --solo-only: no scrapy-redis (no Python needed).
# --reps N: the solo-crawl runs N times, interleaved (in-process, then each
#   worker count, N times over; scrapy-redis once): the table gets every
#   run and then the medians, and each worker count's CPU per page
#   (crawler + Redis) over the in-process crawl's of the same rep.
# Results: bench/results/distributed.txt (a table) and stdout.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=bench/crawl/nginx_conf.sh
source bench/crawl/nginx_conf.sh
pages=20000
workers="1 2 4"
quick=0
solo_only=0
reps=1
while [[ $# -gt 0 ]]; do
    case $1 in
        --pages) pages=$2; shift 2 ;;
        --workers) workers=$2; shift 2 ;;
        --reps) reps=$2; shift 2 ;;
        --quick) quick=1; pages=2000; workers="1 2"; shift ;;
        --solo-only) solo_only=1; shift ;;
        *) echo "usage: $0 [--pages N] [--workers \"1 2 4\"] [--reps N] [--quick] [--solo-only]" >&2; exit 2 ;;
    esac
done
hosts=64
per_host=4
conc=256
nginx=$(command -v nginx || echo /usr/sbin/nginx)
[[ -x $nginx ]] || { echo "nginx not found (apt-get install -y nginx)" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "redis-server not found (apt-get install -y redis-server)" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "/usr/bin/time not found (apt-get install -y time)" >&2; exit 1; }

venv=bench/crawl/.venv
[[ $quick == 1 ]] && solo_only=1
if [[ $solo_only == 0 ]]; then
    if [[ ! -x $venv/bin/scrapy ]] || ! $venv/bin/python -c 'import scrapy_redis' 2>/dev/null; then
        [[ -x $venv/bin/python ]] || python3 -m venv "$venv"
        "$venv/bin/pip" install -q scrapy scrapy-redis
    fi
fi
cargo build --release -q -p solo-crawl
solo_crawl=${CARGO_TARGET_DIR:-target}/release/solo-crawl

tmp=$(mktemp -d /tmp/solo-crawl-dist.XXXXXX)
nginx_pid=""
redis_pid=""
cleanup() {
    [[ -n $nginx_pid ]] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
    [[ -n $redis_pid ]] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
    pkill -9 -f "$tmp" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {  # wait_port PID PORT
    for _ in $(seq 200); do
        kill -0 "$1" 2>/dev/null || return 1
        (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

# nginx on 127.0.0.1..64, one port.
port=$(free_port)
base="http://127.0.0.{h}:$port"
echo "generating $pages pages over $hosts hosts in $tmp/html"
python3 bench/crawl/gen_site.py "$tmp/html" "$pages" --hosts $hosts --base "$base"
python3 bench/crawl/gen_site.py --starts "$pages" $hosts "$base" >"$tmp/starts.txt"
mapfile -t starts <"$tmp/starts.txt"
listens=()
for h in $(seq $hosts); do listens+=("127.0.0.$h:$port"); done
nginx_conf "$tmp" "${listens[@]}"
"$nginx" -c "$tmp/nginx.conf" -e "$tmp/error.log" &
nginx_pid=$!
wait_port "$nginx_pid" "$port" || { echo "nginx did not start:" >&2; cat "$tmp/error.log" >&2; exit 1; }

rport=$(free_port)
mkdir -p "$tmp/redis"
redis-server --port "$rport" --bind 127.0.0.1 --dir "$tmp/redis" --save '' --appendonly no \
    --logfile "$tmp/redis/log" &
redis_pid=$!
wait_port "$redis_pid" "$rport" || { echo "redis-server did not start" >&2; cat "$tmp/redis/log" >&2; exit 1; }
rurl="redis://127.0.0.1:$rport/0"
rcli() { redis-cli -p "$rport" "$@"; }
info() {  # info FIELD: a number from INFO
    rcli info all | tr -d '\r' | awk -F: -v k="$1" '$1 == k {print $2}'
}
redis_cpu() { rcli info cpu | tr -d '\r' | awk -F: '$1 == "used_cpu_user" || $1 == "used_cpu_sys" {s += $2} END {print s}'; }
echo "nginx on 127.0.0.1..$hosts:$port, redis-server on 127.0.0.1:$rport"

results=$tmp/results.txt
printf '%-10s %8s %10s %12s %12s %10s %12s %10s %11s %9s\n' run pages pages/s "cpu/1k crawl" "cpu/1k redis" cmds/page scripts/page "B/seen URL" "B/URL all" "rss MiB" >"$results"

# distinct site pages answered 200 in the given output files
count_pages() { cat "$@" 2>/dev/null | python3 -c '
import json, sys
seen = set()
for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    if line.startswith("{"):
        r = json.loads(line)
        if r.get("status") == 200:
            seen.add(r["url"])
    else:
        seen.add(line)
print(len(seen))'; }
last_mtime() { stat -c %.Y "$@" 2>/dev/null | sort -n | tail -1; }

# seen_bytes: bytes Redis holds for the seen set(s) now (MEMORY USAGE
# summed over solo's seen buckets and scrapy-redis's dupefilter)
seen_bytes() {
    rcli --scan --pattern 'solo:*:seen:*' | sed 's/^/MEMORY USAGE /' | rcli | awk '{s += $1} END {print s + 0}' >"$tmp/seen.sum"
    local dupe
    dupe=$(rcli memory usage bench:dupefilter)
    echo $(( $(cat "$tmp/seen.sum") + ${dupe:-0} ))
}
scripts_run() {  # EVAL/EVALSHA/FCALL calls since the last CONFIG RESETSTAT
    rcli info commandstats | tr -d '\r' | awk -F'[:=,]' '$1 ~ /^cmdstat_(eval|evalsha|fcall)$/ {s += $3} END {print s + 0}'
}

# measure NAME OUTPUT_GLOB CMD...: runs CMD under /usr/bin/time with Redis
# emptied first, appends a row to the results.
measure() {
    local name=$1 glob=$2; shift 2
    rcli flushall >/dev/null
    rcli config resetstat >/dev/null
    local mem0 cpu0 t0
    mem0=$(info used_memory)
    cpu0=$(redis_cpu)
    rm -f $glob
    echo "== $name: $(printf '%s ' "$@" | sed -E 's#( http://[^ ]+)+# [the 64 start URLs]#')"
    t0=$(date +%s.%N)
    /usr/bin/time -v -o "$tmp/$name.time" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" || {
        echo "$name failed:" >&2; tail -20 "$tmp/$name.err" >&2; exit 1; }
    local got t1 cmds mem1 cpu1
    # Redis's CPU first: the seen set's MEMORY USAGE scan below costs
    # Redis more CPU than a small crawl does.
    cpu1=$(redis_cpu)
    # shellcheck disable=SC2086
    got=$(count_pages $glob)
    # shellcheck disable=SC2086
    t1=$(last_mtime $glob)
    cmds=$(info total_commands_processed)
    scripts=$(scripts_run)
    seen=$(seen_bytes)
    mem1=$(info used_memory)
    if [[ $got != "$pages" ]]; then
        echo "FAIL: $name crawled $got pages, expected $pages" >&2
        tail -20 "$tmp/$name.err" >&2
        exit 1
    fi
    python3 - "$tmp/$name.time" "$name" "$pages" "$t0" "$t1" "$cmds" "$mem0" "$mem1" "$cpu0" "$cpu1" "$scripts" "$seen" >>"$results" <<'PY'
import sys
t, name, n, t0, t1, cmds, mem0, mem1, cpu0, cpu1, scripts, seen = sys.argv[1:]
n = int(n)
kv = {}
for line in open(t):
    k, _, v = line.strip().rpartition(": ")
    kv[k] = v
cpu = float(kv["User time (seconds)"]) + float(kv["System time (seconds)"])
rss = int(kv["Maximum resident set size (kbytes)"]) / 1024
wall = float(t1) - float(t0)
rcpu = float(cpu1) - float(cpu0)
remote = name != "solo"
print(f"{name:<10} {n:>8} {n / wall:>10.0f} {cpu / n * 1000:>12.3f} "
      f"{(rcpu / n * 1000 if remote else 0):>12.3f} {(int(cmds) / n if remote else 0):>10.2f} "
      f"{(int(scripts) / n if remote else 0):>12.3f} {(int(seen) / n if remote else 0):>10.1f} "
      f"{((int(mem1) - int(mem0)) / n if remote else 0):>11.1f} {rss:>9.1f}")
PY
    tail -1 "$results"
}

common=(--concurrency $conc --per-host $per_host --delay 0 --ignore-robots)
for _ in $(seq "$reps"); do
    measure solo "$tmp/solo.jsonl" "$solo_crawl" crawl "${common[@]}" --output "$tmp/solo.jsonl" "${starts[@]}"
    for w in $workers; do
        measure "solo-r$w" "$tmp/r$w.*.jsonl" "$solo_crawl" crawl "${common[@]}" \
            --redis "$rurl" --crawl-id "bench$w" --workers "$w" --output "$tmp/r$w.jsonl" "${starts[@]}"
    done
done

if [[ $solo_only == 0 ]]; then
    for w in $workers; do
        measure "sredis-r$w" "$tmp/s$w.*.txt" bench/crawl/scrapy_redis_workers.sh "$w" "$tmp/s$w" \
            "$rurl" "$tmp/starts.txt" $conc $per_host
    done
fi

# The kill test: two workers, one SIGKILLed at 40% of the pages.
kill_at=$((pages * 2 / 5))
wait_pages() {  # wait_pages N GLOB: until the files matching GLOB (now) hold N lines
    local n=$1 glob=$2
    for _ in $(seq 6000); do
        # shellcheck disable=SC2086
        (( $(cat $glob 2>/dev/null | wc -l) >= n )) && return 0
        sleep 0.02
    done
    return 1
}
lost() { echo $((pages - $(count_pages "$@"))); }

rcli flushall >/dev/null
echo "== kill test: solo-crawl, 2 workers, one SIGKILLed at $kill_at pages"
rm -f "$tmp"/k-solo.*
"$solo_crawl" crawl "${common[@]}" --redis "$rurl" --crawl-id kill --lease-timeout 3 \
    --output "$tmp/k-solo.a.jsonl" "${starts[@]}" 2>"$tmp/k-solo.a.err" &
first=$!
sleep 0.3
"$solo_crawl" worker --redis "$rurl" --crawl-id kill --output "$tmp/k-solo.b.jsonl" 2>"$tmp/k-solo.b.err" &
victim=$!
wait_pages "$kill_at" "$tmp/k-solo.*.jsonl" || { echo "FAIL: the kill test's crawl did not reach $kill_at pages" >&2; exit 1; }
kill -9 "$victim" 2>/dev/null || true
wait "$victim" 2>/dev/null || true
wait "$first" || { echo "solo-crawl's surviving worker failed:" >&2; tail "$tmp/k-solo.a.err" >&2; exit 1; }
solo_lost=$(lost "$tmp"/k-solo.*.jsonl)
echo "   solo-crawl: $solo_lost pages lost"

sredis_lost="not run"
if [[ $solo_only == 0 ]]; then
    rcli flushall >/dev/null
    echo "== kill test: scrapy-redis, 2 workers, one SIGKILLed at $kill_at pages"
    rm -f "$tmp"/k-sr.*
    bench/crawl/scrapy_redis_workers.sh 2 "$tmp/k-sr" "$rurl" "$tmp/starts.txt" $conc $per_host &
    both=$!
    wait_pages "$kill_at" "$tmp/k-sr.*.txt" || { echo "FAIL: scrapy-redis's kill test did not reach $kill_at pages" >&2; exit 1; }
    pkill -9 -f "pages_file=$tmp/k-sr.2.txt" || true
    wait "$both" 2>/dev/null || true
    sredis_lost=$(lost "$tmp"/k-sr.*.txt)
    echo "   scrapy-redis: $sredis_lost pages lost"
fi

seen_scale=""
if [[ $solo_only == 0 ]]; then
    echo "== the seen set at 1,000,000 URLs (bench/crawl/seen_memory.py)"
    seen_scale=$("$venv/bin/python" bench/crawl/seen_memory.py "$rurl" 1000000)
fi

# Medians per run name, and each Redis run's CPU per page (crawler +
# Redis) over the in-process run's of the same rep.
summary() {
    python3 - "$results" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]).read().splitlines()[1:] if l.strip()]
names = []
by = {}
for r in rows:
    if r[0] not in by:
        names.append(r[0])
    by.setdefault(r[0], []).append([float(x) for x in r[1:]])
reps = max(len(v) for v in by.values())
if reps > 1:
    print(f"medians of {reps} reps:")
    for n in names:
        m = [statistics.median(c) for c in zip(*by[n])]
        print(f"{n:<10} {m[0]:>8.0f} {m[1]:>10.0f} {m[2]:>12.3f} {m[3]:>12.3f} {m[4]:>10.2f} "
              f"{m[5]:>12.3f} {m[6]:>10.1f} {m[7]:>11.1f} {m[8]:>9.1f}")
base = by.get("solo", [])
for n in names:
    if not n.startswith("solo-r"):
        continue
    ratios = [(r[2] + r[3]) / b[2] for r, b in zip(by[n], base) if b[2] > 0]
    if ratios:
        each = ", ".join(f"{x:.2f}" for x in ratios)
        print(f"{n}: CPU per page, crawler + Redis, over in-process: "
              f"{statistics.median(ratios):.2f}x (median; each rep: {each})")
PY
}

{
    echo "# bench/crawl/distributed.sh --pages $pages --workers \"$workers\" --reps $reps$([[ $quick == 1 ]] && echo ' --quick')"
    echo "# $(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
    cat "$results"
    summary
    echo "kill test (2 workers, one SIGKILLed at 40%): pages lost: solo-crawl $solo_lost, scrapy-redis $sredis_lost"
    [[ -n $seen_scale ]] && echo "$seen_scale"
} | tee "$tmp/table.txt"
if [[ $solo_only == 0 ]]; then
    mkdir -p bench/results
    cp "$tmp/table.txt" bench/results/distributed.txt
    echo "wrote bench/results/distributed.txt"
fi
[[ $solo_lost == 0 ]] || { echo "FAIL: solo-crawl lost $solo_lost pages in the kill test" >&2; exit 1; }
