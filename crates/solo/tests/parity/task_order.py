# Tasks start in the order they were created and take turns at each await.
import asyncio


async def worker(name, log):
    log.append(f"{name}1")
    await asyncio.sleep(0)
    log.append(f"{name}2")
    if name == "a":
        asyncio.create_task(worker("d", log))
    await asyncio.sleep(0)
    log.append(f"{name}3")


async def main():
    log = []
    tasks = [asyncio.create_task(worker(n, log)) for n in "abc"]
    log.append("main")
    await asyncio.gather(*tasks)
    await asyncio.sleep(0.01)
    print("order:", " ".join(log))


asyncio.run(main())
