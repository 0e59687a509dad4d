# as_completed: results in the order they finish.
import asyncio


async def after(s, v):
    await asyncio.sleep(s)
    return v


async def main():
    order = []
    for f in asyncio.as_completed([after(0.03, "a"), after(0.01, "b"), after(0.02, "c")]):
        order.append(await f)
    print("completion order:", " ".join(order))


asyncio.run(main())
