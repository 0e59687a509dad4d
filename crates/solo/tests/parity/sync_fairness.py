# Lock, Event, Condition, Semaphore: who gets woken, in what order.
import asyncio


async def main():
    lock = asyncio.Lock()
    log = []

    async def locker(name):
        async with lock:
            log.append(name)
            await asyncio.sleep(0.001)

    await lock.acquire()
    tasks = [asyncio.create_task(locker(n)) for n in "abc"]
    await asyncio.sleep(0.01)
    lock.release()
    print("locked right after release (with waiters):", lock.locked())
    await asyncio.gather(*tasks)
    print("lock order:", " ".join(log))

    ev = asyncio.Event()
    log.clear()

    async def event_waiter(name):
        await ev.wait()
        log.append(name)

    tasks = [asyncio.create_task(event_waiter(n)) for n in "abc"]
    await asyncio.sleep(0.01)
    ev.set()
    await asyncio.gather(*tasks)
    print("event order:", " ".join(log))

    cond = asyncio.Condition()
    log.clear()

    async def cond_waiter(name):
        async with cond:
            await cond.wait()
            log.append(name)

    tasks = [asyncio.create_task(cond_waiter(n)) for n in "abc"]
    await asyncio.sleep(0.01)
    async with cond:
        cond.notify(1)
    await asyncio.sleep(0.01)
    async with cond:
        cond.notify_all()
    await asyncio.gather(*tasks)
    print("condition order:", " ".join(log))

    sem = asyncio.Semaphore(2)
    log.clear()

    async def sem_user(name):
        async with sem:
            log.append(name)
            await asyncio.sleep(0.01)

    await asyncio.gather(*(sem_user(n) for n in "abcde"))
    print("semaphore order:", " ".join(log))


asyncio.run(main())
