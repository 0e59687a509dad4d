#!/usr/bin/env bash
# Starts N scrapy-redis workers (bench/crawl/scrapy_redis_spider.py) on one
# crawl and waits for all of them; used by bench/crawl/distributed.sh.
#
#   scrapy_redis_workers.sh N PREFIX REDIS_URL STARTS_FILE CONCURRENCY PER_HOST
#
# Pushes the URLs of STARTS_FILE to the start list first. Worker i writes
# the URLs it fetched to PREFIX.i.txt and its log to PREFIX.i.log.
set -euo pipefail
n=$1 prefix=$2 rurl=$3 starts=$4 conc=$5 per_host=$6
cd "$(dirname "$0")/../.."
venv=bench/crawl/.venv
"$venv/bin/python" - "$rurl" "$starts" <<'PY'
import sys, redis
r = redis.Redis.from_url(sys.argv[1])
r.lpush("bench:start_urls", *open(sys.argv[2]).read().split())
PY
for i in $(seq "$n"); do
    "$venv/bin/scrapy" runspider bench/crawl/scrapy_redis_spider.py -a pages_file="$prefix.$i.txt" \
        -s REDIS_URL="$rurl" -s SCHEDULER=scrapy_redis.scheduler.Scheduler \
        -s DUPEFILTER_CLASS=scrapy_redis.dupefilter.RFPDupeFilter -s SCHEDULER_PERSIST=True \
        -s MAX_IDLE_TIME_BEFORE_CLOSE=2 \
        -s CONCURRENT_REQUESTS="$conc" -s CONCURRENT_REQUESTS_PER_DOMAIN="$per_host" \
        -s CONCURRENT_ITEMS=5 -s ROBOTSTXT_OBEY=False -s LOG_LEVEL=WARNING \
        -s TELNETCONSOLE_ENABLED=False -s COOKIES_ENABLED=False >"$prefix.$i.log" 2>&1 &
done
wait
