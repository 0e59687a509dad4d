"""Minimal Scrapy spider for bench/crawl/run.sh: follow every <a href> from
START_URL, count pages.

    scrapy runspider scrapy_spider.py -a start_url=http://127.0.0.1:PORT/index.html \
        -s CONCURRENT_REQUESTS=256 ...

At the end it prints "pages N" to stdout.
"""
import scrapy


class CrawlSpider(scrapy.Spider):
    name = "bench"

    def __init__(self, start_url=None, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.start_urls = [start_url]
        self.pages = 0

    async def start(self):
        # dont_filter stays False (unlike Scrapy's default start request) so
        # that links back to the start URL are deduplicated like the others.
        yield scrapy.Request(self.start_urls[0], callback=self.parse)

    def parse(self, response):
        self.pages += 1
        for href in response.css("a::attr(href)").getall():
            yield response.follow(href, callback=self.parse)

    def closed(self, reason):
        print(f"pages {self.pages}", flush=True)
