"""Triggers that wait on Xtreme1 imports, exports and model runs in the triggerer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_xtreme1.exceptions import Xtreme1Error, Xtreme1TransportError
from airflow_provider_xtreme1.statuses import JobKind, JobWatch, Outcome


class Xtreme1JobTrigger(BaseTrigger):
    """Poll Xtreme1 until the jobs ``ids`` of ``kind`` finish, then fire exactly one event.

    The decision is made by :func:`airflow_provider_xtreme1.statuses.judge`, the same rules the
    operators and sensors use when they wait on a worker. One request per poll covers all ids. A
    transient failure of a poll (network error, gateway error, rate limit) is logged and the next poll
    goes ahead; only ``end_time`` ends the wait then. All arguments are plain JSON values, so the trigger
    survives a triggerer restart and simply resumes polling the same jobs (the stall clock restarts).

    :param conn_id: the Xtreme1 connection id.
    :param kind: ``"import"``, ``"export"`` or ``"model_run"``.
    :param ids: serial numbers (imports, exports) or run ids (model runs).
    :param dataset_id: the dataset, needed to look up model runs.
    :param poll_interval: seconds between polls.
    :param end_time: wall-clock time (epoch seconds) after which a job still running times out.
    :param stall_timeout: seconds without progress after which a job counts as stalled.
    :param fail_on_warnings: treat success with warnings as a failure.
    """

    def __init__(
        self,
        conn_id: str,
        kind: str,
        ids: list[str],
        *,
        dataset_id: int | None = None,
        poll_interval: float = 10.0,
        end_time: float | None = None,
        stall_timeout: float | None = None,
        fail_on_warnings: bool = False,
    ):
        super().__init__()
        self.conn_id = conn_id
        self.kind = JobKind(kind).value
        self.ids = [str(i) for i in ids]
        self.dataset_id = dataset_id
        self.poll_interval = float(poll_interval)
        self.end_time = end_time
        self.stall_timeout = stall_timeout
        self.fail_on_warnings = fail_on_warnings

    def serialize(self) -> tuple[str, dict[str, Any]]:
        kwargs: dict[str, Any] = {"conn_id": self.conn_id, "kind": self.kind, "ids": self.ids}
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                **kwargs,
                "dataset_id": self.dataset_id,
                "poll_interval": self.poll_interval,
                "end_time": self.end_time,
                "stall_timeout": self.stall_timeout,
                "fail_on_warnings": self.fail_on_warnings,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1AsyncHook

        hook = Xtreme1AsyncHook(self.conn_id)
        watch = JobWatch(
            self.kind,
            self.ids,
            end_time=self.end_time,
            stall_timeout=self.stall_timeout,
            fail_on_warnings=self.fail_on_warnings,
        )
        try:
            while True:
                try:
                    records = await hook.get_job_records(self.kind, self.ids, dataset_id=self.dataset_id)
                    event = watch.observe(records, time.time())
                except Xtreme1TransportError as err:
                    # The hook already retried; one more failed poll is no reason to fail the task.
                    self.log.warning("Polling Xtreme1 failed, will poll again: %s", err)
                    event = watch.poll_failed(err, time.time())
                if event is not None:
                    yield TriggerEvent(event)
                    return
                self.log.info("Xtreme1 %s still running: %s", self.kind, watch.status_line)
                await asyncio.sleep(self.poll_interval)
        except Xtreme1Error as err:
            yield TriggerEvent(
                {"outcome": Outcome.FAILED.value, "message": str(err), "kind": self.kind, "ids": self.ids}
            )
        finally:
            await hook.aclose()
