# TaskGroup: a failing child interrupts the body and cancels the others;
# every failure is reported; no spawning after the group is done.
import asyncio


async def fail_after(s, msg):
    await asyncio.sleep(s)
    raise ValueError(msg)


async def main():
    loop = asyncio.get_running_loop()
    start = loop.time()
    log = []
    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(fail_after(0.05, "boom"))
            try:
                await asyncio.sleep(1)
                log.append("body finished")
            except asyncio.CancelledError:
                log.append("body interrupted")
                raise
    except ExceptionGroup as eg:
        log.append("errors: " + ", ".join(str(e) for e in eg.exceptions))
    log.append(f"ended before 0.5 s: {loop.time() - start < 0.5}")
    print("interrupt:", "; ".join(log))

    try:
        async with asyncio.TaskGroup() as tg:
            sibling = tg.create_task(asyncio.sleep(1))
            tg.create_task(fail_after(0.02, "first"))
            tg.create_task(fail_after(0.02, "second"))
    except ExceptionGroup as eg:
        print("same turn:", ", ".join(str(e) for e in eg.exceptions), "| sibling cancelled:", sibling.cancelled())

    async with asyncio.TaskGroup() as tg:
        tg.create_task(asyncio.sleep(0.01))
    try:
        tg.create_task(asyncio.sleep(0))
        print("spawn after the group finished: accepted")
    except RuntimeError:
        print("spawn after the group finished: rejected")


asyncio.run(main())
