# Queue: a bounded producer/consumer pair; join waits for task_done.
import asyncio


async def main():
    q = asyncio.Queue(maxsize=2)
    log = []

    async def producer():
        for i in range(5):
            await q.put(i)
            log.append(f"put{i}")

    async def consumer():
        while True:
            i = await q.get()
            log.append(f"got{i}")
            await asyncio.sleep(0)
            q.task_done()

    c = asyncio.create_task(consumer())
    await producer()
    await q.join()
    log.append("joined")
    c.cancel()
    print("order:", " ".join(log))


asyncio.run(main())
