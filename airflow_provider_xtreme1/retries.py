"""The one retry engine: when to try a failed request again, and the loops that do it.

* :class:`RetryPolicy` — a pure decision, :meth:`RetryPolicy.next_delay`: how long to wait before the
  next attempt, or ``None`` to give up. Randomness is a field; elapsed time is an argument.
* :func:`call_with_retries` / :func:`acall_with_retries` — the sync and async drivers, built on
  `tenacity <https://tenacity.readthedocs.io>`_ (``Retrying`` / ``AsyncRetrying``): a ``stop`` that asks
  the policy, a ``wait`` that returns its answer, ``reraise=True`` (the caller sees its own error, not
  tenacity's ``RetryError``) and one warning per retry.

Both hook twins (API calls) and the presigned transfers (uploads, downloads, HEAD) use them. What differs
between them is data passed in, not a second loop:

* **which errors are retryable** is the caller's classification (``retryable=``). API calls pass
  :func:`~airflow_provider_xtreme1._responses.is_retryable`: connection failures, 429, 502/503/504 and,
  for idempotent calls, read timeouts; never envelope errors (also HTTP 500 ``UNKNOWN``, which is the
  backend's own answer), 401, TLS failures, or a start call that may have acted. Transfers retry their
  ``_Transient`` failures, and a storage HTTP 500 *is* transient there (S3 documents ``InternalError`` as
  "retry"), unlike the API's 500;
* **the time budget**: API calls give up after ``max_elapsed`` (300 s); transfers have none by default
  (a 100 GB upload takes hours, each attempt restarts from byte 0 and only ``max_retries`` bounds them).

One kind of jitter: **full jitter** — the ``n``-th wait is uniform in ``[0, min(max_backoff,
backoff·2ⁿ⁻¹)]`` (it spreads many clients best; the transfers' former ±20 % kept them in step).
One rule for a long ``Retry-After``: it is waited for up to ``max_retry_after`` (120 s); **a longer one
ends the retries** and raises the error (which carries ``retry_after``) instead of being cut short — asking
again before the server said so would only spend an attempt, and a worker slot should not sleep for an
hour; the Airflow task retry is the place for that wait.

Measured cost on the success path (``python -m benchmarks.bench_retries``: 10,000 calls of a no-op,
median of 5 rounds, on a shared 2-core machine at load 3.6): about 24 µs per call through the sync driver
and 43 µs through the async one, against 0.13 µs for the hand-written loop they replaced. One API call
over loopback costs 1.26 ms (docs/performance.md §7), so tenacity adds under 2 % (async under 3.5 %) to the
cheapest request and nothing measurable to a real one or to a transfer: no reason not to use it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import tenacity

T = TypeVar("T")

Logger = logging.Logger | logging.LoggerAdapter[Any]


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before repeating a failed attempt (which failures are worth it is the
    caller's ``retryable`` classification, see the module docstring).

    :param max_retries: retries after the first attempt.
    :param backoff: first backoff in seconds; doubles per retry ("full jitter": a random wait up to it).
    :param max_backoff: cap of one backoff.
    :param max_elapsed: no retry would start later than this many seconds after the first attempt
        (``math.inf``: no budget, as for transfers).
    :param max_retry_after: longest ``Retry-After`` honoured; a longer one ends the retries.
    :param jitter: randomise backoffs (turn off for predictable waits).
    :param random: source of randomness in [0, 1), for tests.
    """

    max_retries: int = 4
    backoff: float = 1.0
    max_backoff: float = 30.0
    max_elapsed: float = 300.0
    max_retry_after: float = 120.0
    jitter: bool = True
    random: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if (
            self.max_retries < 0
            or min(self.backoff, self.max_backoff, self.max_elapsed, self.max_retry_after) < 0
        ):
            raise ValueError("RetryPolicy values must not be negative")

    def next_delay(
        self,
        attempt: int,
        error: BaseException,
        elapsed: float,
        *,
        retryable: Callable[[BaseException], bool],
    ) -> float | None:
        """Seconds to wait before the next attempt, or ``None`` to give up and raise ``error``.

        :param attempt: how many attempts have failed so far (1 after the first failure).
        :param error: the error of the last attempt; its ``retry_after`` (seconds), if any, is honoured.
        :param elapsed: seconds since the first attempt started.
        :param retryable: the caller's classification of errors worth another attempt.
        """
        if attempt > self.max_retries or not retryable(error):
            return None
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            if retry_after > self.max_retry_after:
                return None
            delay = float(retry_after)
        else:
            cap = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
            delay = cap * self.random() if self.jitter else cap
        if elapsed + delay > self.max_elapsed:
            return None
        return delay


#: For calls that must answer quickly or not at all (``test_connection``).
NO_RETRY = RetryPolicy(max_retries=0)


def transfer_policy(max_retries: int, backoff: float) -> RetryPolicy:
    """The policy of a presigned transfer: the API's, without a time budget."""
    return RetryPolicy(max_retries=max_retries, backoff=backoff, max_elapsed=math.inf)


def _controls(
    policy: RetryPolicy,
    retryable: Callable[[BaseException], bool],
    what: str,
    on_retry: str,
    log: Logger,
    clock: Callable[[], float],
) -> dict[str, Any]:
    """tenacity's ``retry``/``stop``/``wait``/``before_sleep`` for one call, all asking ``policy`` once
    per failed attempt (tenacity runs ``wait`` before ``stop``; the answer is kept for both)."""
    started = clock()
    decided: dict[int, float | None] = {}

    def delay(state: tenacity.RetryCallState) -> float | None:
        attempt = state.attempt_number
        if attempt not in decided:
            error = state.outcome.exception() if state.outcome else None
            decided[attempt] = (
                None
                if error is None
                else policy.next_delay(attempt, error, clock() - started, retryable=retryable)
            )
        return decided[attempt]

    def before_sleep(state: tenacity.RetryCallState) -> None:
        log.warning(
            "%s failed (attempt %d of %d), %s in %.1f s: %s",
            what,
            state.attempt_number,
            policy.max_retries + 1,
            on_retry,
            state.upcoming_sleep,
            state.outcome.exception() if state.outcome else None,
        )

    return {
        "retry": tenacity.retry_if_exception(retryable),
        "stop": lambda state: delay(state) is None,
        "wait": lambda state: delay(state) or 0.0,
        "before_sleep": before_sleep,
        "reraise": True,
    }


def call_with_retries(
    fn: Callable[[], T],
    *,
    policy: RetryPolicy,
    retryable: Callable[[BaseException], bool],
    what: str,
    log: Logger,
    on_retry: str = "retrying",
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``fn`` until it returns, or raise its last error when ``policy`` gives up.

    :param what: names the call in the retry warnings ("Xtreme1 GET /dataset/1", "Upload of a.zip …").
    :param on_retry: what the next attempt does ("retrying", "resending the whole body").
    """
    retrying = tenacity.Retrying(sleep=sleep, **_controls(policy, retryable, what, on_retry, log, clock))
    return retrying(fn)


async def acall_with_retries(
    fn: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
    retryable: Callable[[BaseException], bool],
    what: str,
    log: Logger,
    on_retry: str = "retrying",
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """The async twin of :func:`call_with_retries` (waits with ``asyncio.sleep``)."""
    retrying = tenacity.AsyncRetrying(sleep=sleep, **_controls(policy, retryable, what, on_retry, log, clock))
    return await retrying(fn)
