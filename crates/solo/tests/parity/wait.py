# wait: FIRST_COMPLETED and ALL_COMPLETED, with a timeout that cancels
# nothing. Events, not timings, decide who finishes when.
import asyncio


async def when_set(ev, v):
    await ev.wait()
    return v


async def main():
    first, rest, never = asyncio.Event(), asyncio.Event(), asyncio.Event()
    tasks = [asyncio.create_task(when_set(ev, v)) for ev, v in ((rest, "t3"), (first, "t1"), (rest, "t2"))]
    first.set()
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    print("first completed:", [t.result() for t in done], "pending:", len(pending))

    slow = asyncio.create_task(when_set(never, "slow"))
    rest.set()
    done, pending = await asyncio.wait(list(pending) + [slow], timeout=0.1)
    print("all completed within 0.1 s:", sorted(t.result() for t in done), "pending:", len(pending))
    print("slow cancelled by the timeout:", slow.cancelled())
    never.set()
    print("slow result later:", await slow)


asyncio.run(main())
