# The main coroutine spins on sleep(0) waiting for a flag set by a timer,
# then for a to_thread job: timers and thread results must still arrive.
import asyncio
import time


async def spin_until(pred, limit):
    start = time.monotonic()
    while not pred() and time.monotonic() - start < limit:
        await asyncio.sleep(0)
    return pred()


async def main():
    loop = asyncio.get_running_loop()
    flag = []
    loop.call_later(0.05, flag.append, True)
    print("timer flag seen:", await spin_until(lambda: bool(flag), 0.5))

    job = asyncio.ensure_future(asyncio.to_thread(time.sleep, 0.05))
    print("to_thread result seen:", await spin_until(job.done, 0.5))


asyncio.run(main())
