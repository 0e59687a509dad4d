# After a warm-up call and an idle pause, a burst of to_thread jobs runs
# at once, not one after another.
import asyncio
import time


async def main():
    await asyncio.to_thread(time.sleep, 0.01)  # warm-up: threads exist
    for idle in (0.05, 0.3):
        await asyncio.sleep(idle)
        start = time.monotonic()
        await asyncio.gather(*(asyncio.to_thread(time.sleep, 0.2) for _ in range(6)))
        took = time.monotonic() - start
        print(f"after {idle} s idle, six 0.2 s jobs done in under 0.6 s:", took < 0.6)


asyncio.run(main())
