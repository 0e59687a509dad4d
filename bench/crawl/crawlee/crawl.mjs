// Crawlee peer for bench/crawl/run.sh (issue 13): CheerioCrawler (npm package
// `crawlee`, pinned in package.json / package-lock.json) crawls START_URL,
// following every <a href> on the same host (enqueueLinks' default strategy),
// CONCURRENCY requests in flight. Prints "pages N" (pages answered 200) at
// the end, and "failed N" on stderr for requests that gave up.
//
//     node crawl.mjs START_URL [CONCURRENCY]
//
// Throughput settings, from Crawlee's "Scaling our crawlers" guide and the
// CheerioCrawlerOptions reference: maxConcurrency = minConcurrency =
// CONCURRENCY (the autoscaled pool starts at minConcurrency and otherwise
// ramps up from 1 in 5 % steps every 10 s, scaling down when its CPU/memory
// snapshots say "overloaded"; min = max pins it), maxRequestsPerMinute left
// at Infinity, no session pool (useSessionPool: false, so no cookie
// persistence per session either), robots.txt not read (respectRobotsTxtFile
// defaults to false), and storage in memory only: persistStorage: false,
// purgeOnStart: true (CRAWLEE_PERSIST_STORAGE / CRAWLEE_PURGE_ON_START), so
// the request queue never touches the disk. Logging at WARNING, as for Scrapy.
import { CheerioCrawler, Configuration, log, LogLevel } from 'crawlee';

const [start, concArg] = process.argv.slice(2);
if (!start) {
    console.error('usage: node crawl.mjs START_URL [CONCURRENCY]');
    process.exit(2);
}
const conc = concArg === undefined ? 256 : Number(concArg);
if (!Number.isInteger(conc) || conc <= 0) {
    console.error('crawl.mjs: CONCURRENCY must be a positive integer');
    process.exit(2);
}

log.setLevel(LogLevel.WARNING);
const config = new Configuration({ persistStorage: false, purgeOnStart: true });

let pages = 0;
let other = 0;
let failed = 0;
const crawler = new CheerioCrawler(
    {
        minConcurrency: conc,
        maxConcurrency: conc,
        useSessionPool: false,
        persistCookiesPerSession: false,
        respectRobotsTxtFile: false,
        statusMessageLoggingInterval: 3600,
        async requestHandler({ response, enqueueLinks }) {
            if (response.statusCode === 200) pages += 1;
            else other += 1;
            await enqueueLinks();
        },
        failedRequestHandler({ request }, error) {
            failed += 1;
            console.error(`${request.url}: ${error.message}`);
        },
    },
    config,
);

await crawler.run([start]);
if (other) console.error(`other ${other}`);
if (failed) console.error(`failed ${failed}`);
console.log(`pages ${pages}`);
