# call_soon, call_later and call_later(0): order, and how soon.
import asyncio


async def main():
    loop = asyncio.get_running_loop()
    log = []
    loop.call_soon(log.append, "soon1")
    loop.call_later(0.02, log.append, "later20ms")
    loop.call_later(0.01, log.append, "later10ms")
    loop.call_later(0, log.append, "later0")
    loop.call_soon(log.append, "soon2")
    await asyncio.sleep(0.05)
    print("order:", " ".join(log))

    async def spin():
        # In a task: a spinning main coroutine is root_spin's case.
        fired = []
        loop.call_later(0, fired.append, True)
        turns = 0
        while not fired and turns < 100000:
            await asyncio.sleep(0)
            turns += 1
        return turns <= 2

    print("call_later(0) fired within 2 loop turns:", await asyncio.create_task(spin()))

    log.clear()
    loop.call_later(0.0008, log.append, "0.8ms")
    loop.call_later(0.0002, log.append, "0.2ms")
    await asyncio.sleep(0.01)
    print("deadlines under 1 ms apart:", " ".join(log))


asyncio.run(main())
