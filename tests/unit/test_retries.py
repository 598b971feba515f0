"""The one retry engine: the pure policy and both tenacity drivers, with sleeps and clock injected.

The classification is the caller's: the API's (``_responses.is_retryable``) and the transfers'
(``transfer.http._Transient``) are both exercised, including the one place they differ, HTTP 500.
"""

from __future__ import annotations

import asyncio
import logging
import math

import pytest

from airflow_provider_xtreme1._responses import is_retryable
from airflow_provider_xtreme1.exceptions import Xtreme1ApiError, Xtreme1TransportError
from airflow_provider_xtreme1.retries import (
    NO_RETRY,
    RetryPolicy,
    acall_with_retries,
    call_with_retries,
    transfer_policy,
)
from airflow_provider_xtreme1.transfer.http import _Transient

STEADY = RetryPolicy(jitter=False, max_retries=3)  # waits 1, 2, 4


def storage_retryable(error: BaseException) -> bool:
    return isinstance(error, _Transient)


class Flaky:
    """Fails with the given errors in turn, then returns ``"ok"``; counts its calls."""

    def __init__(self, *errors: BaseException):
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"

    async def acall(self) -> str:
        return self()


class Sleeps:
    """Records the waits instead of sleeping; ``now`` advances by each wait (the injected clock)."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


def run(mode: str, fn: Flaky, sleeps: Sleeps, policy: RetryPolicy = STEADY, retryable=is_retryable, **kw):
    """Drive ``fn`` through the sync or the async driver with the same arguments."""
    common = dict(policy=policy, retryable=retryable, what="Xtreme1 GET /t", clock=sleeps.clock, **kw)
    common.setdefault("log", logging.getLogger("retries-test"))
    if mode == "sync":
        return call_with_retries(fn, sleep=sleeps.sleep, **common)

    return asyncio.run(acall_with_retries(fn.acall, sleep=sleeps.asleep, **common))


MODES = pytest.mark.parametrize("mode", ["sync", "async"])


def transport(status: int | None = 503, retry_after: float | None = None) -> Xtreme1TransportError:
    return Xtreme1TransportError(f"HTTP {status}", status=status, retry_after=retry_after)


# -- the drivers ------------------------------------------------------------------------------------


@MODES
def test_retries_then_succeeds(mode):
    fn, sleeps = Flaky(transport(), transport(502)), Sleeps()
    assert run(mode, fn, sleeps) == "ok"
    assert fn.calls == 3 and sleeps.waits == [1.0, 2.0]


@MODES
def test_gives_up_with_the_last_error_itself(mode):
    errors = [transport() for _ in range(4)]
    fn, sleeps = Flaky(*errors), Sleeps()
    with pytest.raises(Xtreme1TransportError) as info:
        run(mode, fn, sleeps)
    assert info.value is errors[-1]  # reraise=True: never tenacity's RetryError
    assert fn.calls == 4 and sleeps.waits == [1.0, 2.0, 4.0]


@MODES
def test_retry_after_is_honoured(mode):
    fn, sleeps = Flaky(transport(429, retry_after=7.5)), Sleeps()
    assert run(mode, fn, sleeps) == "ok"
    assert sleeps.waits == [7.5]


@MODES
def test_retry_after_beyond_the_bound_ends_the_retries(mode):
    too_long = transport(429, retry_after=121)
    fn, sleeps = Flaky(too_long), Sleeps()
    with pytest.raises(Xtreme1TransportError) as info:
        run(mode, fn, sleeps)
    assert info.value is too_long and fn.calls == 1 and sleeps.waits == []


@MODES
@pytest.mark.parametrize(
    "error",
    [
        Xtreme1ApiError("UNKNOWN", "boom", http_status=500, endpoint="GET /t"),
        Xtreme1TransportError("tls", retryable=False),
        ValueError("a bug, not a network failure"),
    ],
    ids=["500 UNKNOWN envelope", "not retryable transport", "foreign error"],
)
def test_never_retries_a_non_retryable_error(mode, error):
    fn, sleeps = Flaky(error), Sleeps()
    with pytest.raises(type(error)) as info:
        run(mode, fn, sleeps)
    assert info.value is error and fn.calls == 1 and sleeps.waits == []


@MODES
def test_time_budget_ends_the_retries(mode):
    fn, sleeps = Flaky(*[transport() for _ in range(4)]), Sleeps()
    with pytest.raises(Xtreme1TransportError):
        run(mode, fn, sleeps, policy=RetryPolicy(jitter=False, max_retries=3, max_elapsed=3.5))
    assert sleeps.waits == [1.0, 2.0]  # the third wait (4 s) would start after 3.5 s


@MODES
def test_logs_each_retry(mode, caplog):
    fn, sleeps = Flaky(transport(), transport(504)), Sleeps()
    with caplog.at_level(logging.WARNING, logger="retries-test"):
        run(mode, fn, sleeps, on_retry="resending the whole body")
    lines = [r.getMessage() for r in caplog.records if r.name == "retries-test"]
    assert lines == [
        "Xtreme1 GET /t failed (attempt 1 of 4), resending the whole body in 1.0 s: HTTP 503",
        "Xtreme1 GET /t failed (attempt 2 of 4), resending the whole body in 2.0 s: HTTP 504",
    ]


@MODES
def test_no_retry_policy_makes_one_attempt(mode):
    fn, sleeps = Flaky(transport()), Sleeps()
    with pytest.raises(Xtreme1TransportError):
        run(mode, fn, sleeps, policy=NO_RETRY)
    assert fn.calls == 1


@MODES
def test_storage_500_is_transient_for_transfers(mode):
    fn, sleeps = Flaky(_Transient("HTTP 500 InternalError", status=500)), Sleeps()
    policy = transfer_policy(max_retries=2, backoff=1.0)
    assert run(mode, fn, sleeps, policy=policy, retryable=storage_retryable) == "ok"
    assert fn.calls == 2 and len(sleeps.waits) == 1 and 0 <= sleeps.waits[0] <= 1.0


# -- the policy -------------------------------------------------------------------------------------


def test_transfers_have_no_time_budget():
    policy = transfer_policy(max_retries=3, backoff=1.0)
    assert policy.max_elapsed == math.inf
    assert policy.next_delay(1, _Transient("reset"), 10 * 3600.0, retryable=storage_retryable) is not None


def test_jitter_is_full_jitter_for_both_callers():
    half = RetryPolicy(random=lambda: 0.5)
    api = [half.next_delay(n, transport(), 0, retryable=is_retryable) for n in (1, 2, 3)]
    storage = [half.next_delay(n, _Transient("x"), 0, retryable=storage_retryable) for n in (1, 2, 3)]
    assert api == storage == [0.5, 1.0, 2.0]
    assert RetryPolicy(random=lambda: 0.0).next_delay(3, transport(), 0, retryable=is_retryable) == 0.0


def test_long_retry_after_is_one_rule_for_both_callers():
    api = RetryPolicy().next_delay(1, transport(429, retry_after=600), 0, retryable=is_retryable)
    storage = transfer_policy(3, 1.0).next_delay(
        1, _Transient("slow down", status=503, retry_after=600), 0, retryable=storage_retryable
    )
    assert api is None and storage is None


def test_500_differs_by_classification_only():
    api_500 = transport(500)
    storage_500 = _Transient("HTTP 500 InternalError", status=500)
    assert STEADY.next_delay(1, api_500, 0, retryable=is_retryable) is None
    assert STEADY.next_delay(1, storage_500, 0, retryable=storage_retryable) == 1.0
