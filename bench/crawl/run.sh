#!/usr/bin/env bash
# Crawl benchmark (issues 6 and 13): a static site of N interlinked pages
# (bench/crawl/gen_site.py) served by nginx on 127.0.0.1, crawled fully with
# 256 requests in flight and robots.txt off by each crawler in turn, REPS times
# in alternation (default 3):
#   solo        solo-crawl (--concurrency 256 --per-host 256 --delay 0)
#   scrapy      Scrapy runspider (bench/crawl/scrapy_spider.py)
#   aiohttp     an aiohttp+uvloop queue/workers crawler (aiohttp_crawler.py)
#   spider-rs   the `spider` crate on tokio's multi-threaded runtime with its
#               default features (bench/crawl/spider-rs, standalone Cargo
#               project built here into target/peers)
#   spider-rs-nobalance  the same program built with --no-default-features
#               (no load balancing, adaptive concurrency, auto throttle, rate
#               limit or SQLite spill of the seen set)
#   crawlee     Crawlee's CheerioCrawler on Node (bench/crawl/crawlee; npm ci
#               into bench/crawl/crawlee/node_modules on first use)
# Each run must fetch exactly N pages (each program prints "pages N"; solo-crawl's
# records are counted). Wall time, peak RSS and CPU seconds come from
# /usr/bin/time -v; the medians over the reps go to bench/results/crawl.jsonl
# (solo-crawl's runtime is named "solo" there), with CPU seconds per 1,000
# pages as cpu_per_1k.
#
# Scrapy runs with CONCURRENT_ITEMS=5 (a page here yields at most 5 requests):
# its default of 100 starts 100 asyncio tasks per response to drain the
# callback's output and halves its pages/s on this site (bench/notes.md).
# spider-rs: concurrency_limit 256, delay 0, robots off, jemalloc as the global
# allocator (spider's README: "tikv-jemallocator for pure crawl workloads");
# pages are counted from its broadcast subscription. Crawlee: min = max
# concurrency 256, no session pool, storage in memory only (persistStorage
# false, purgeOnStart); see the headers of spider-rs/src/main.rs and
# crawlee/crawl.mjs, and bench/notes.md ("Five crawlers").
# The peers are skipped, with a message, when their toolchain is missing
# (cargo for spider-rs, node and npm for crawlee); with --only they are required.
# The first run compiles the spider crate twice (5 and 18 minutes on the busy
# 2-core machine; its default features also need OpenSSL's headers:
# apt-get install -y libssl-dev pkg-config) and npm-installs ~290 packages.
#
#   bench/crawl/run.sh [--pages N] [--reps N] [--only NAME[,NAME...]] [--no-report] [--prebuilt]
#       NAME: solo scrapy aiohttp spider-rs spider-rs-nobalance crawlee
#       and, only when --only names them, solo-crawl with a feature on:
#       solo-warc (--warc, gzipped WARC of every exchange), solo-metrics
#       (--metrics, the Prometheus endpoint; logging stays at its default),
#       solo-state (--state, a first pass kept for recrawls) and solo-recrawl
#       (the second pass of that state with --recrawl: nginx answers 304)
#   --prebuilt: use the spider-rs binaries an earlier run left in target/peers
#       (its builds take minutes) instead of rebuilding them.
#   --cpus N: every crawler runs on CPUs 0..N-1 only and nginx (one process)
#       on the others (taskset): each crawler gets the same N cores, whatever
#       threads it starts (tokio's runtime sizes itself to them), and never
#       shares them with the server. Its medians go to
#       bench/results/features/crawl-PAGES-cpusN.jsonl, not crawl.jsonl.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=bench/crawl/nginx_conf.sh
source bench/crawl/nginx_conf.sh
pages=100000
reps=3
only=""
report=1
prebuilt=0
cpus=""
usage="usage: $0 [--pages N] [--reps N] [--only NAME[,NAME...]] [--no-report] [--prebuilt] [--cpus N]
  NAME: solo scrapy aiohttp spider-rs spider-rs-nobalance crawlee"
while [[ $# -gt 0 ]]; do
    case $1 in
        --pages) pages=$2; shift 2 ;;
        --reps) reps=$2; shift 2 ;;
        --only) only=$2; shift 2 ;;
        --no-report) report=0; shift ;;
        --prebuilt) prebuilt=1; shift ;;
        --cpus) cpus=$2; shift 2 ;;
        *) echo "$usage" >&2; exit 2 ;;
    esac
done
for name in ${only//,/ }; do
    case $name in
        solo|scrapy|aiohttp|spider-rs|spider-rs-nobalance|crawlee) ;;
        solo-warc|solo-metrics|solo-state|solo-recrawl) ;;
        *) echo "unknown crawler '$name' in --only" >&2; echo "$usage" >&2; exit 2 ;;
    esac
done
conc=256
nginx=$(command -v nginx || echo /usr/sbin/nginx)
[[ -x $nginx ]] || { echo "nginx not found (apt-get install -y nginx)" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "/usr/bin/time not found (apt-get install -y time)" >&2; exit 1; }

# --cpus: the crawlers' CPUs and the server's, as taskset prefixes.
pin_crawler=()
pin_server=()
if [[ -n $cpus ]]; then
    total=$(nproc)
    command -v taskset >/dev/null || { echo "--cpus needs taskset (apt-get install -y util-linux)" >&2; exit 1; }
    if ! [[ $cpus =~ ^[0-9]+$ ]] || (( cpus < 1 || cpus >= total )); then
        echo "--cpus N needs 1 <= N < $total (the CPUs left serve the site)" >&2; exit 2
    fi
    pin_crawler=(taskset -c "0-$((cpus - 1))")
    pin_server=(taskset -c "$cpus-$((total - 1))")
fi

want() { [[ -z $only || ",$only," == *",$1,"* ]] && [[ " $skipped " != *" $1 "* ]]; }
asked() { [[ ",$only," == *",$1,"* ]]; }
skipped=""
# unavailable NAME WHY: a crawler whose toolchain is missing is skipped with a
# message, or stops the run when --only asked for it by name.
unavailable() {
    if [[ -n $only ]]; then echo "$1: $2" >&2; exit 1; fi
    echo "skipping $1: $2" >&2
    skipped="$skipped $1"
}
have_cargo=1
command -v cargo >/dev/null || have_cargo=0

if want scrapy || want aiohttp; then
    venv=bench/crawl/.venv
    if [[ ! -x $venv/bin/scrapy ]] || ! $venv/bin/python -c 'import aiohttp, uvloop' 2>/dev/null; then
        python3 -m venv "$venv"
        "$venv/bin/pip" install -q scrapy aiohttp uvloop
    fi
fi
if want solo || [[ $only == *solo-* ]]; then
    [[ $have_cargo == 1 ]] || { echo "cargo not found: solo-crawl cannot be built" >&2; exit 1; }
    cargo build --release -q -p solo-crawl
    solo_crawl=${CARGO_TARGET_DIR:-target}/release/solo-crawl
fi

# spider-rs: one standalone Cargo project (not a workspace member), built twice
# into its own target dir; each build's binary is copied to a name of its own.
peers_target=${CARGO_TARGET_DIR:-target}/peers
build_spider() {  # build_spider NAME CARGO_FEATURE_FLAGS...
    local name=$1; shift
    if [[ $prebuilt == 1 && -x $peers_target/$name ]]; then
        echo "using the prebuilt $peers_target/$name (--prebuilt)"
        return
    fi
    echo "building $name (spider crate, release) in $peers_target"
    CARGO_TARGET_DIR=$peers_target cargo build --release --locked -q \
        --manifest-path bench/crawl/spider-rs/Cargo.toml "$@"
    cp "$peers_target/release/spider-bench" "$peers_target/$name"
}
for name in spider-rs spider-rs-nobalance; do
    if want $name && [[ $have_cargo == 0 ]]; then unavailable $name "cargo not found"; fi
done
if want spider-rs; then build_spider spider-rs; fi
if want spider-rs-nobalance; then build_spider spider-rs-nobalance --no-default-features --features lean; fi

# crawlee: Node 18 or later and npm; the pinned packages go into
# bench/crawl/crawlee/node_modules (npm ci, from package-lock.json).
if want crawlee; then
    node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
    if ! command -v npm >/dev/null; then
        unavailable crawlee "npm not found (apt-get install -y nodejs npm)"
    elif (( node_major < 18 )); then
        unavailable crawlee "node 18 or later needed, found '$(node --version 2>/dev/null || echo none)'"
    elif [[ ! -d bench/crawl/crawlee/node_modules/crawlee ||
            bench/crawl/crawlee/package-lock.json -nt bench/crawl/crawlee/node_modules/.package-lock.json ]]; then
        echo "installing crawlee (npm ci in bench/crawl/crawlee)"
        (cd bench/crawl/crawlee && npm ci --no-audit --no-fund --loglevel=error)
    fi
fi

tmp=$(mktemp -d /tmp/solo-crawl-bench.XXXXXX)
nginx_pid=""
cleanup() {
    [[ -n $nginx_pid ]] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

echo "generating $pages pages in $tmp/html"
python3 bench/crawl/gen_site.py "$tmp/html" "$pages"

for try in 1 2 3 4 5; do
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    nginx_conf "$tmp" "127.0.0.1:$port"
    "${pin_server[@]}" "$nginx" -c "$tmp/nginx.conf" -e "$tmp/error.log" &
    nginx_pid=$!
    up=0
    for _ in $(seq 100); do
        if ! kill -0 "$nginx_pid" 2>/dev/null; then break; fi
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then up=1; break; fi
        sleep 0.05
    done
    [[ $up == 1 ]] && break
    wait "$nginx_pid" 2>/dev/null || true
    nginx_pid=""
done
[[ -n $nginx_pid ]] || { echo "nginx did not start:" >&2; cat "$tmp/error.log" >&2; exit 1; }
start="http://127.0.0.1:$port/index.html"
echo "nginx on 127.0.0.1:$port (pid $nginx_pid)"

# run NAME CMD... : runs CMD under /usr/bin/time -v, leaves its stdout in
# $tmp/NAME.out and the time report in $tmp/NAME.time.
run() {
    local name=$1; shift
    echo "== $name: $*"
    /usr/bin/time -v -o "$tmp/$name.time" "${pin_crawler[@]}" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" || {
        echo "$name failed:" >&2; tail -20 "$tmp/$name.err" >&2; exit 1; }
}

results=$tmp/results.txt
: >"$results"
record() {  # record RUNTIME PAGES_CRAWLED
    local rt=$1 got=$2
    if [[ $got != "$pages" ]]; then
        echo "FAIL: $rt crawled $got pages, expected $pages" >&2
        tail -20 "$tmp/$rt.err" >&2
        exit 1
    fi
    python3 - "$tmp/$rt.time" "$rt" "$pages" >>"$results" <<'PY'
import sys
t, rt, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
kv = {}
for line in open(t):
    k, _, v = line.strip().rpartition(": ")
    kv[k] = v
def wall(s):
    secs = 0.0
    for part in s.split(":"):
        secs = secs * 60 + float(part)
    return secs
w = wall(kv["Elapsed (wall clock) time (h:mm:ss or m:ss)"])
cpu = float(kv["User time (seconds)"]) + float(kv["System time (seconds)"])
rss = int(kv["Maximum resident set size (kbytes)"]) / 1024
print(rt, n / w, rss, cpu, w)
PY
    echo "   $(tail -1 "$results" | awk '{printf "%s: %.0f pages/s, peak RSS %.1f MiB, CPU %.2f s, wall %.2f s", $1, $2, $3, $4, $5}')"
}

for rep in $(seq "$reps"); do
    echo "-- rep $rep of $reps (load average $(cut -d" " -f1-3 /proc/loadavg))"
    if want solo; then
        rm -f "$tmp/solo.jsonl" # --output appends
        run solo "$solo_crawl" crawl --concurrency $conc --per-host $conc --delay 0 \
            --ignore-robots --output "$tmp/solo.jsonl" "$start"
        record solo "$(grep -c '"status":200,' "$tmp/solo.jsonl")"
    fi
    solo_run=("$solo_crawl" crawl --concurrency $conc --per-host $conc --delay 0 --ignore-robots)
    if asked solo-warc; then
        rm -f "$tmp/solo-warc.jsonl" "$tmp"/w-*.warc.gz
        run solo-warc "${solo_run[@]}" --warc "$tmp/w.warc.gz" --output "$tmp/solo-warc.jsonl" "$start"
        record solo-warc "$(grep -c '"status":200,' "$tmp/solo-warc.jsonl")"
        echo "   WARC files: $(du -cb "$tmp"/w-*.warc.gz | tail -1 | cut -f1) bytes"
    fi
    if asked solo-metrics; then
        rm -f "$tmp/solo-metrics.jsonl"
        mport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
        run solo-metrics "${solo_run[@]}" --metrics "127.0.0.1:$mport" --output "$tmp/solo-metrics.jsonl" "$start"
        record solo-metrics "$(grep -c '"status":200,' "$tmp/solo-metrics.jsonl")"
    fi
    if asked solo-state || asked solo-recrawl; then
        rm -rf "$tmp/state" "$tmp/solo-state.jsonl" "$tmp/solo-recrawl.jsonl"
        run solo-state "${solo_run[@]}" --state "$tmp/state" --output "$tmp/solo-state.jsonl" "$start"
        record solo-state "$(grep -c '"status":200,' "$tmp/solo-state.jsonl")"
        echo "   first pass: $(grep -E '^bytes' "$tmp/solo-state.err" | head -1)"
    fi
    if asked solo-recrawl; then
        run solo-recrawl "${solo_run[@]}" --state "$tmp/state" --recrawl --output "$tmp/solo-recrawl.jsonl" "$start"
        record solo-recrawl "$(grep -cE '"status":(200|304),' "$tmp/solo-recrawl.jsonl")"
        echo "   recrawl: $(grep -c '"status":304,' "$tmp/solo-recrawl.jsonl") answered 304; $(grep -E '^bytes' "$tmp/solo-recrawl.err" | head -1)"
    fi
    if want scrapy; then
        run scrapy "$venv/bin/scrapy" runspider bench/crawl/scrapy_spider.py \
            -a start_url="$start" \
            -s CONCURRENT_REQUESTS=$conc -s CONCURRENT_REQUESTS_PER_DOMAIN=$conc \
            -s CONCURRENT_ITEMS=5 \
            -s ROBOTSTXT_OBEY=False -s LOG_LEVEL=WARNING -s DEPTH_LIMIT=0 \
            -s TELNETCONSOLE_ENABLED=False -s COOKIES_ENABLED=False
        record scrapy "$(awk '$1 == "pages" {print $2}' "$tmp/scrapy.out")"
    fi
    if want aiohttp; then
        run aiohttp "$venv/bin/python" bench/crawl/aiohttp_crawler.py "$start" $conc
        record aiohttp "$(awk '$1 == "pages" {print $2}' "$tmp/aiohttp.out")"
    fi
    for name in spider-rs spider-rs-nobalance; do
        if want $name; then
            run $name "$peers_target/$name" "$start" $conc
            record $name "$(awk '$1 == "pages" {print $2}' "$tmp/$name.out")"
        fi
    done
    if want crawlee; then
        rm -rf "$tmp/crawlee-storage"
        run crawlee env CRAWLEE_STORAGE_DIR="$tmp/crawlee-storage" CRAWLEE_PURGE_ON_START=1 \
            CRAWLEE_PERSIST_STORAGE=0 node bench/crawl/crawlee/crawl.mjs "$start" $conc
        record crawlee "$(awk '$1 == "pages" {print $2}' "$tmp/crawlee.out")"
    fi
done

mkdir -p bench/results
python3 - "$results" "$pages" >"$tmp/all.jsonl" <<'PY'
import json, statistics, sys
runs = {}
pages = int(sys.argv[2])
for line in open(sys.argv[1]):
    rt, tput, rss, cpu, _wall = line.split()
    cpu = float(cpu)
    runs.setdefault(rt, []).append((float(tput), float(rss), cpu, cpu * 1000 / pages))
for rt, rows in runs.items():
    for i, (metric, unit, hib) in enumerate((("throughput", "pages/s", True),
                                             ("peak_rss", "MiB", False),
                                             ("cpu_s", "s", False),
                                             ("cpu_per_1k", "s/1k pages", False))):
        vals = [r[i] for r in rows]
        digits = 5 if metric == "cpu_per_1k" else 3
        print(json.dumps(dict(workload="crawl", runtime=rt, metric=metric,
                              value=round(statistics.median(vals), digits), unit=unit,
                              higher_is_better=hib, reps=len(vals), pages=pages,
                              runs=[round(v, digits) for v in vals])))
PY
# The crawlers' comparison goes to crawl.jsonl; a run with solo-crawl's
# feature runs goes, whole (its plain solo-crawl rows are their baseline),
# to features/crawl-PAGES.jsonl (not read by bench/report.py) and leaves
# crawl.jsonl alone.
if [[ -n $cpus ]]; then
    mkdir -p bench/results/features
    cp "$tmp/all.jsonl" "bench/results/features/crawl-$pages-cpus$cpus.jsonl"
    echo "wrote bench/results/features/crawl-$pages-cpus$cpus.jsonl"
elif grep -qE '"runtime": "solo-(warc|metrics|state|recrawl)"' "$tmp/all.jsonl"; then
    mkdir -p bench/results/features
    cp "$tmp/all.jsonl" "bench/results/features/crawl-$pages.jsonl"
    echo "wrote bench/results/features/crawl-$pages.jsonl"
else
    cp "$tmp/all.jsonl" bench/results/crawl.jsonl
    echo "wrote bench/results/crawl.jsonl"
fi
if [[ -n $skipped ]]; then echo "not measured (toolchain missing):$skipped" >&2; fi
if [[ $report == 1 ]]; then python3 bench/report.py; fi
