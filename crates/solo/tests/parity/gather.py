# gather: results in argument order; the first failure in time is raised
# at once; failures as values (return_exceptions=True).
import asyncio


async def after(s, v):
    await asyncio.sleep(s)
    return v


async def fails_at(s, msg):
    await asyncio.sleep(s)
    raise ValueError(msg)


async def main():
    print("results:", await asyncio.gather(after(0.03, 1), after(0.01, 2), after(0.02, 3)))

    state = {"slow finished": False}

    async def slow():
        await asyncio.sleep(0.3)
        state["slow finished"] = True

    try:
        await asyncio.gather(slow(), fails_at(0.02, "late argument failed"))
    except ValueError as e:
        print("raised:", e, "| slow finished before:", state["slow finished"])
    await asyncio.sleep(0.4)
    print("slow ran to the end after the failure:", state["slow finished"])

    out = await asyncio.gather(after(0.01, 1), fails_at(0.02, "bad"), after(0.01, 3),
                               return_exceptions=True)
    print("as values:", ", ".join(f"error {e}" if isinstance(e, Exception) else str(e) for e in out))


asyncio.run(main())
