# Cancellation: of a sleeping task, and of a task that awaits another task.
import asyncio


async def main():
    log = []

    async def sleeper():
        try:
            await asyncio.sleep(1)
        finally:
            log.append("sleeper cleaned up")

    t = asyncio.create_task(sleeper())
    await asyncio.sleep(0.01)
    t.cancel()
    try:
        await t
    except asyncio.CancelledError:
        log.append("await raised CancelledError")
    print("sleeping task:", ", ".join(log), "| cancelled:", t.cancelled())

    for how in ("a plain handle", "cancel_on_drop"):
        inner = asyncio.create_task(asyncio.sleep(1))

        async def outer():
            await inner

        o = asyncio.create_task(outer())
        await asyncio.sleep(0.01)
        o.cancel()
        await asyncio.sleep(0.01)
        print(f"outer awaiting {how} cancelled; inner cancelled too:", inner.cancelled())
        inner.cancel()


asyncio.run(main())
