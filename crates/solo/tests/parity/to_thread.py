# to_thread: blocking calls run on threads, concurrently, results in order.
import asyncio
import time


def blocking(i):
    time.sleep(0.2)
    return i * i


async def main():
    start = time.monotonic()
    out = await asyncio.gather(*(asyncio.to_thread(blocking, i) for i in range(4)))
    print("results:", out)
    print("four 0.2 s calls done in under 0.6 s:", time.monotonic() - start < 0.6)


asyncio.run(main())
