# Barrier: arrival indexes, a cancelled waiter, reset and abort.
import asyncio


async def main():
    barrier = asyncio.Barrier(3)
    got = {}

    async def waiter(name):
        try:
            got[name] = await barrier.wait()
        except asyncio.BrokenBarrierError:
            got[name] = "broken"

    tasks = [asyncio.create_task(waiter(n)) for n in "abc"]
    await asyncio.gather(*tasks)
    print("round 1:", " ".join(f"{n}={got[n]}" for n in "abc"))

    got.clear()
    a = asyncio.create_task(waiter("a"))
    q = asyncio.create_task(waiter("q"))
    await asyncio.sleep(0.001)
    print("n_waiting:", barrier.n_waiting)
    a.cancel()
    await asyncio.sleep(0.001)
    print("n_waiting after a cancelled:", barrier.n_waiting)
    c = asyncio.create_task(waiter("c"))
    await asyncio.sleep(0.001)
    print("last to arrive:", await barrier.wait())
    await asyncio.gather(q, c)
    print("indexes after a cancelled waiter:", f"q={got['q']} c={got['c']}")

    got.clear()
    d = asyncio.create_task(waiter("d"))
    await asyncio.sleep(0.001)
    await barrier.reset()
    await d
    print("reset: d", got["d"], "broken", barrier.broken)

    e = asyncio.create_task(waiter("e"))
    await asyncio.sleep(0.001)
    await barrier.abort()
    await e
    later = "ok"
    try:
        await barrier.wait()
    except asyncio.BrokenBarrierError:
        later = "broken"
    print("abort: e", got["e"], "later", later, "broken", barrier.broken)
    await barrier.reset()
    print("after reset: broken", barrier.broken, "n_waiting", barrier.n_waiting)


asyncio.run(main())
