"""Redis memory per seen URL at scale, for the two seen-set layouts of
bench/crawl/distributed.sh (a real crawl there holds only 20,000 URLs, where
per-key overhead dominates):

- solo-crawl: 64-bit request fingerprints in 65,536 SET buckets (the key
  ends in the top 16 bits, the member is the low 48 bits as an integer, so
  Redis keeps each bucket as an intset), as crates/solo-crawl/src/redis/
  frontier.lua writes them (docs/distributed.md, "Keys");
- scrapy-redis: one SET of 40-character SHA-1 hex fingerprints, as its
  RFPDupeFilter writes them.

    seen_memory.py REDIS_URL [N]      (default N = 1,000,000)

Empties the database first; prints bytes per URL for each layout.
"""
import hashlib
import os
import sys

import redis


def used(r):
    return r.info("memory")["used_memory"]


def fill(r, n, add):
    pipe = r.pipeline(transaction=False)
    for i in range(n):
        add(pipe, os.urandom(8))
        if i % 10000 == 9999:
            pipe.execute()
    pipe.execute()


def main():
    url = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    r = redis.Redis.from_url(url)
    for name, add in (
        ("solo-crawl (65,536 intset buckets)",
         lambda p, b: p.sadd(f"solo:{{m}}:seen:{int.from_bytes(b[:2], 'big')}",
                             int.from_bytes(b[2:], "big"))),
        ("scrapy-redis (SET of SHA-1 hex)",
         lambda p, b: p.sadd("bench:dupefilter", hashlib.sha1(b).hexdigest())),
    ):
        r.flushall()
        before = used(r)
        fill(r, n, add)
        print(f"{name}: {(used(r) - before) / n:.1f} B per URL at {n:,} URLs")
    r.flushall()


if __name__ == "__main__":
    main()
