"""What the tenacity retry driver costs on the success path: ``python -m benchmarks.bench_retries``.

10,000 calls of a no-op through :func:`~airflow_provider_xtreme1.retries.call_with_retries` (and its
async twin) against the hand-written loop it replaced (a ``while True`` / ``try`` around the call that
asked the policy only on failure), median of 5 rounds. The figure is in the docstring of
``airflow_provider_xtreme1/retries.py``; the loop is kept here only as the yardstick.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
from collections.abc import Callable
from typing import Any

from airflow_provider_xtreme1.retries import RetryPolicy, acall_with_retries, call_with_retries

CALLS = 10_000
ROUNDS = 5
LOG = logging.getLogger("bench_retries")
POLICY = RetryPolicy()


def _never(_: BaseException) -> bool:
    return False


def _noop() -> int:
    return 1


async def _anoop() -> int:
    return 1


def _old_loop(fn: Callable[[], Any]) -> Any:
    """The shape of the former loop: state set up per call, the policy asked only after a failure."""
    started, failures = time.monotonic(), 0
    while True:
        try:
            return fn()
        except Exception as err:
            failures += 1
            delay = POLICY.next_delay(failures, err, time.monotonic() - started, retryable=_never)
            if delay is None:
                raise
            time.sleep(delay)


def _per_call(run: Callable[[], None]) -> float:
    samples = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) / CALLS)
    return statistics.median(samples)


def main() -> None:
    def old() -> None:
        for _ in range(CALLS):
            _old_loop(_noop)

    def sync() -> None:
        for _ in range(CALLS):
            call_with_retries(_noop, policy=POLICY, retryable=_never, what="noop", log=LOG)

    def async_() -> None:
        async def many() -> None:
            for _ in range(CALLS):
                await acall_with_retries(_anoop, policy=POLICY, retryable=_never, what="noop", log=LOG)

        asyncio.run(many())

    figures = {
        "old loop": _per_call(old),
        "tenacity sync": _per_call(sync),
        "tenacity async": _per_call(async_),
    }
    for name, seconds in figures.items():
        print(f"{name:15} {seconds * 1e6:8.2f} µs per call ({CALLS:,} calls, median of {ROUNDS})")


if __name__ == "__main__":
    main()
