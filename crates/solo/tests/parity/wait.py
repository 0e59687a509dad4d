# wait: FIRST_COMPLETED and ALL_COMPLETED, with a timeout that cancels
# nothing.
import asyncio


async def after(s, v):
    await asyncio.sleep(s)
    return v


async def main():
    tasks = [asyncio.create_task(after(s, f"t{int(s * 100)}")) for s in (0.03, 0.01, 0.02)]
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    print("first completed:", [t.result() for t in done], "pending:", len(pending))

    slow = asyncio.create_task(after(0.2, "slow"))
    done, pending = await asyncio.wait(list(pending) + [slow], timeout=0.1)
    print("all completed within 0.1 s:", sorted(t.result() for t in done), "pending:", len(pending))
    print("slow cancelled by the timeout:", slow.cancelled())
    print("slow result later:", await slow)


asyncio.run(main())
