# Done callbacks and a task awaiting the same task: registration order.
import asyncio


async def main():
    log = []
    t = asyncio.create_task(asyncio.sleep(0.01))
    t.add_done_callback(lambda _: log.append("cb1"))

    async def waiter():
        await t
        log.append("awaiter")

    w = asyncio.create_task(waiter())
    await asyncio.sleep(0)  # the awaiter is now waiting on t
    t.add_done_callback(lambda _: log.append("cb2"))
    await w
    await asyncio.sleep(0.01)
    print("order:", " ".join(log))


asyncio.run(main())
