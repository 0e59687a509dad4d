# wait_for and timeout: what happens to the awaited coroutine or task on
# expiry, and with a zero delay.
import asyncio


async def main():
    log = []

    async def slow():
        try:
            await asyncio.sleep(1)
        finally:
            log.append("slow cleaned up")

    try:
        await asyncio.wait_for(slow(), 0.02)
    except TimeoutError:
        log.append("timed out")
    print("coroutine:", ", ".join(log))

    # wait_for on a task cancels the task (solo: timeout() leaves it running).
    task = asyncio.create_task(asyncio.sleep(1))
    try:
        await asyncio.wait_for(task, 0.02)
    except TimeoutError:
        pass
    await asyncio.sleep(0)
    print("timeout on a task, task cancelled:", task.cancelled())
    # The same with solo::wait_for.
    task = asyncio.create_task(asyncio.sleep(1))
    try:
        await asyncio.wait_for(task, 0.02)
    except TimeoutError:
        pass
    print("wait_for on a task, task cancelled:", task.cancelled())

    async def ready():
        return 7

    try:
        print("wait_for(ready, 0):", await asyncio.wait_for(ready(), 0))
    except TimeoutError:
        print("wait_for(ready, 0): TimeoutError")
    # The same with solo::wait_for on a task that has not run yet.
    try:
        print("wait_for(new task, 0):", await asyncio.wait_for(asyncio.create_task(ready()), 0))
    except TimeoutError:
        print("wait_for(new task, 0): TimeoutError")
    async with asyncio.timeout(0):
        print("timeout(0) around a ready coroutine:", await ready())


asyncio.run(main())
