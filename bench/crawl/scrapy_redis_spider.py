"""A scrapy-redis worker for bench/crawl/distributed.sh: the start URLs come
from the Redis list `bench:start_urls`, the queue and the seen set live in
Redis (scrapy-redis's Scheduler and RFPDupeFilter), every <a href> is
followed. Each fetched page's URL is appended to PAGES_FILE (one line per
page, written at once, so a SIGKILLed worker loses only what it had not
fetched yet) and at the end it prints "pages N" to stdout.

    scrapy runspider scrapy_redis_spider.py -a pages_file=FILE \
        -s REDIS_URL=redis://127.0.0.1:PORT -s MAX_IDLE_TIME_BEFORE_CLOSE=3 ...
"""
from scrapy_redis.spiders import RedisSpider


class BenchSpider(RedisSpider):
    name = "bench"
    redis_key = "bench:start_urls"

    def __init__(self, pages_file=None, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.pages = 0
        self.out = open(pages_file, "a", buffering=1) if pages_file else None

    def parse(self, response):
        self.pages += 1
        if self.out:
            self.out.write(response.url + "\n")
        for href in response.css("a::attr(href)").getall():
            yield response.follow(href, callback=self.parse)

    def closed(self, reason):
        print(f"pages {self.pages}", flush=True)
