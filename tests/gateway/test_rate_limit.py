import asyncio

from bot.gateway.rate_limit import RateLimiter, SessionLocks


def test_burst_then_steady_rate_and_idle_buckets_are_pruned():
    now = [0.0]
    limiter = RateLimiter(burst=5, per_second=1.0, clock=lambda: now[0])
    assert [limiter.allow("a") for _ in range(6)] == [True] * 5 + [False]
    now[0] += 1.0
    assert limiter.allow("a") and not limiter.allow("a")
    limiter.PRUNE_ABOVE = 2
    for key in ("b", "c", "d"):
        limiter.allow(key)
    now[0] += 10
    limiter.allow("e")
    assert set(limiter._buckets) == {"e"}


def test_session_locks_serialise_turns_and_are_forgotten():
    locks, order = SessionLocks(), []

    async def turn(name, delay):
        async with locks.hold("s1"):
            order.append(f"{name} start")
            await asyncio.sleep(delay)
            order.append(f"{name} end")

    async def scenario():
        await asyncio.gather(turn("first", 0.05), turn("second", 0))
        return len(locks)

    assert asyncio.run(scenario()) == 0
    assert order == ["first start", "first end", "second start", "second end"]
