#!/usr/bin/env python3
"""aiohttp + uvloop crawler for bench/crawl/run.sh: the classic design, one
asyncio.Queue of URLs, WORKERS worker tasks, a semaphore bounding requests in
flight, a set for dedup, links pulled out by a regex on href. Follows only
links on the start URL's host. Prints "pages N" at the end.

    aiohttp_crawler.py START_URL [WORKERS]
"""
import asyncio
import re
import sys
from urllib.parse import urljoin, urldefrag, urlsplit

import aiohttp
import uvloop

HREF = re.compile(rb'href\s*=\s*["\']([^"\'#]+)')


async def crawl(start: str, workers: int) -> int:
    host = urlsplit(start).netloc
    queue: asyncio.Queue = asyncio.Queue()
    seen = {start}
    sem = asyncio.Semaphore(workers)
    pages = 0
    errors = 0
    queue.put_nowait(start)
    conn = aiohttp.TCPConnector(limit=workers, limit_per_host=workers)
    async with aiohttp.ClientSession(connector=conn) as session:
        async def worker() -> None:
            nonlocal pages, errors
            while True:
                url = await queue.get()
                try:
                    async with sem:
                        async with session.get(url) as resp:
                            body = await resp.read()
                            ok = resp.status == 200
                    if not ok:
                        errors += 1
                        continue
                    pages += 1
                    for m in HREF.finditer(body):
                        link = urldefrag(urljoin(url, m.group(1).decode()))[0]
                        if link not in seen and urlsplit(link).netloc == host:
                            seen.add(link)
                            queue.put_nowait(link)
                except Exception as e:  # noqa: BLE001 -- count and go on
                    errors += 1
                    print(f"{url}: {e!r}", file=sys.stderr)
                finally:
                    queue.task_done()

        tasks = [asyncio.create_task(worker()) for _ in range(workers)]
        await queue.join()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    if errors:
        print(f"errors {errors}", file=sys.stderr)
    return pages


def main() -> None:
    start = sys.argv[1]
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 256
    pages = uvloop.run(crawl(start, workers))
    print(f"pages {pages}", flush=True)


if __name__ == "__main__":
    main()
