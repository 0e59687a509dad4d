#!/usr/bin/env bash
# The Redis frontier step's cost in redis-server instructions, load-independent
# (issue 14): capture one crawl's EVALSHA calls, replay them into a fresh
# redis-server under callgrind.
#
#   bench/crawl/step_replay.sh capture BIN OUT [PAGES]
#       one 1-worker crawl of the generated site (PAGES, default 20000, over
#       64 hosts; the flags of distributed.sh) with solo-crawl binary BIN,
#       redis-cli MONITOR written to OUT
#   bench/crawl/step_replay.sh replay SCRIPT.lua CAPTURE [CONVERT] [--plain]
#       the captured EVALSHA calls, in order, into a fresh redis-server under
#       valgrind --tool=callgrind (zeroed after start, dumped after the last
#       call) with SCRIPT.lua loaded; prints the steps, the leases the
#       replies carried, the crawl's counters, and redis-server's
#       instructions. CONVERT: a Python module in bench/crawl (argv(list of
#       bytes) -> list, leases(reply) -> int) that turns the captured
#       arguments into SCRIPT.lua's (default step_replay_same: as captured,
#       the current reply). --plain: no valgrind (wall-clock, noisy).
#
# With --delay 0 every replay leases the same requests (a host's delay never
# holds one back), so two scripts replayed from one capture do the same work.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
up() { for _ in $(seq 600); do redis-cli -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }
case ${1:-} in
capture)
    bin=$2 out=$3 pages=${4:-20000}
    # shellcheck source=bench/crawl/nginx_conf.sh
    source "$here/nginx_conf.sh"
    tmp=$(mktemp -d /tmp/step-replay.XXXXXX)
    port=$(free_port)
    base="http://127.0.0.{h}:$port"
    python3 "$here/gen_site.py" "$tmp/html" "$pages" --hosts 64 --base "$base" >/dev/null
    python3 "$here/gen_site.py" --starts "$pages" 64 "$base" >"$tmp/starts.txt"
    mapfile -t starts <"$tmp/starts.txt"
    listens=()
    for h in $(seq 64); do listens+=("127.0.0.$h:$port"); done
    nginx_conf "$tmp" "${listens[@]}"
    "$(command -v nginx || echo /usr/sbin/nginx)" -c "$tmp/nginx.conf" -e "$tmp/error.log" &
    ngx=$!
    rport=$(free_port)
    mkdir -p "$tmp/redis"
    redis-server --port "$rport" --bind 127.0.0.1 --dir "$tmp/redis" --save '' --appendonly no --logfile "$tmp/redis/log" &
    rpid=$!
    up "$rport"
    redis-cli -p "$rport" monitor >"$out" &
    mon=$!
    sleep 0.3
    "$bin" crawl --concurrency 256 --per-host 4 --delay 0 --ignore-robots --redis "redis://127.0.0.1:$rport/0" \
        --crawl-id bench1 --workers 1 --output "$tmp/out.jsonl" "${starts[@]}" 2>"$tmp/err" || tail "$tmp/err" >&2
    sleep 0.3
    kill "$mon" "$ngx" "$rpid"
    wait "$rpid" 2>/dev/null || true
    echo "$(cat "$tmp"/out*.jsonl | wc -l) pages, $(grep -c '"EVALSHA"' "$out") steps captured in $out"
    rm -rf "$tmp"
    ;;
replay)
    lua=$2 cap=$3 conv=step_replay_same plain=0
    shift 3
    for a in "$@"; do
        case $a in --plain) plain=1 ;; *) conv=$a ;; esac
    done
    tmp=$(mktemp -d /tmp/step-replay.XXXXXX)
    port=$(free_port)
    if [[ $plain == 0 ]]; then
        valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.%p" redis-server --port "$port" --bind 127.0.0.1 \
            --dir "$tmp" --save '' --appendonly no --logfile "$tmp/log" >/dev/null 2>"$tmp/vg" &
    else
        redis-server --port "$port" --bind 127.0.0.1 --dir "$tmp" --save '' --appendonly no --logfile "$tmp/log" &
    fi
    pid=$!
    up "$port"
    [[ $plain == 0 ]] && callgrind_control -z "$pid" >/dev/null
    python3 "$here/step_replay.py" "$port" "$lua" "$cap" "$conv"
    redis-cli -p "$port" info commandstats | tr -d '\r' | grep -E '^cmdstat_evalsha'
    if [[ $plain == 0 ]]; then
        callgrind_control -d "$pid" >/dev/null
        redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || kill "$pid"
        wait "$pid" 2>/dev/null || true
        f=$(ls "$tmp"/cg.*.1)
        cp "$f" "${CG_OUT:-/dev/null}" 2>/dev/null || true
        callgrind_annotate "$f" 2>/dev/null | grep -m1 'PROGRAM TOTALS'
    else
        redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || kill "$pid"
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
    ;;
*)
    sed -n '2,24p' "$0" >&2
    exit 2
    ;;
esac
