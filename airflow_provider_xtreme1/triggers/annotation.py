"""Triggers that watch annotation progress: one for a deferred sensor, one for asset watchers.

:class:`Xtreme1AnnotationTrigger` is the deferrable half of
:class:`~airflow_provider_xtreme1.sensors.annotation.Xtreme1AnnotationSensor`.
:class:`Xtreme1AnnotationEventTrigger` fires asset events (``AssetWatcher``) when a dataset crosses a
threshold or its annotated count changes. All watchers of one connection (and poll interval) share one
poll in the triggerer through Airflow 3.3's shared streams: each poll is one ``GET /dataset/findByPage``
per ``page_size`` datasets, whose rows carry every dataset's counts, however many datasets are watched.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Hashable
from typing import Any

from airflow.triggers.base import BaseEventTrigger, BaseTrigger, TriggerEvent

from airflow_provider_xtreme1.annotation_progress import (
    AnnotationWatch,
    InvalidItems,
    Progress,
    Threshold,
    deleted_message,
)
from airflow_provider_xtreme1.exceptions import Xtreme1Error, Xtreme1NotFoundError, Xtreme1TransportError
from airflow_provider_xtreme1.statuses import Outcome


class Xtreme1AnnotationTrigger(BaseTrigger):
    """Poll a dataset's annotation progress until :class:`AnnotationWatch` decides; fire one event.

    Transient poll failures are logged and polled again; only ``end_time`` ends the wait then. The
    arguments are plain JSON values, so a triggerer restart resumes the wait (the stall clock restarts).
    """

    def __init__(
        self,
        conn_id: str,
        dataset_id: int,
        *,
        threshold_ratio: float | None = None,
        threshold_count: int | None = None,
        invalid_items: str = InvalidItems.EXCLUDED.value,
        require_unlocked: bool = False,
        poll_interval: float = 60.0,
        end_time: float | None = None,
        stall_timeout: float | None = None,
    ):
        super().__init__()
        self.conn_id = conn_id
        self.dataset_id = int(dataset_id)
        self.threshold_ratio = threshold_ratio
        self.threshold_count = threshold_count
        self.invalid_items = InvalidItems(invalid_items).value
        self.require_unlocked = require_unlocked
        self.poll_interval = float(poll_interval)
        self.end_time = end_time
        self.stall_timeout = stall_timeout

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "conn_id": self.conn_id,
                "dataset_id": self.dataset_id,
                "threshold_ratio": self.threshold_ratio,
                "threshold_count": self.threshold_count,
                "invalid_items": self.invalid_items,
                "require_unlocked": self.require_unlocked,
                "poll_interval": self.poll_interval,
                "end_time": self.end_time,
                "stall_timeout": self.stall_timeout,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from airflow_provider_xtreme1.annotation_progress import alook
        from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1AsyncHook

        hook = Xtreme1AsyncHook(self.conn_id)
        watch = AnnotationWatch(
            self.dataset_id,
            Threshold.parse(self.threshold_ratio, self.threshold_count),
            invalid=self.invalid_items,
            require_unlocked=self.require_unlocked,
            stall_timeout=self.stall_timeout,
            end_time=self.end_time,
        )
        try:
            while True:
                try:
                    progress = await alook(hook, self.dataset_id)
                    if progress is None:
                        event = watch.gone(deleted_message(self.dataset_id))
                    else:
                        event = watch.observe(progress, time.time())
                except Xtreme1TransportError as err:
                    self.log.warning("Polling Xtreme1 failed, will poll again: %s", err)
                    event = watch.poll_failed(err, time.time())
                if event is not None:
                    yield TriggerEvent(event)
                    return
                self.log.info("Xtreme1 dataset %s: %s", self.dataset_id, watch.status_line)
                await asyncio.sleep(self.poll_interval)
        except Xtreme1Error as err:
            yield TriggerEvent(
                {"outcome": Outcome.FAILED.value, "message": str(err), "dataset_id": self.dataset_id}
            )
        finally:
            await hook.aclose()


def _counts(dataset: dict[str, Any]) -> dict[str, int]:
    # findByPage leaves the counts null for a dataset without single-data items
    return {
        "annotatedCount": int(dataset.get("annotatedCount") or 0),
        "notAnnotatedCount": int(dataset.get("notAnnotatedCount") or 0),
        "invalidCount": int(dataset.get("invalidCount") or 0),
        "itemCount": int(dataset.get("itemCount") or 0),
    }


async def poll_dataset_counts(hook: Any, page_size: int) -> dict[int, dict[str, int]]:
    """The counts of every live dataset, ``ceil(datasets / page_size)`` requests."""
    out: dict[int, dict[str, int]] = {}
    page_no = 1
    while True:
        page = await hook.find_datasets(page_no=page_no, page_size=page_size)
        items = page.get("list") or []
        for dataset in items:
            out[int(dataset["id"])] = _counts(dataset)
        if not items or page_no * page_size >= int(page.get("total") or 0):
            return out
        page_no += 1


class Xtreme1AnnotationEventTrigger(BaseEventTrigger):
    """Fire asset events from a dataset's annotation progress, for ``AssetWatcher``.

    With a threshold (``threshold_ratio`` or ``threshold_count``) it fires when the dataset **crosses**
    it: from below to met. Without one it fires whenever the number of done items changes. The first
    look only sets the baseline, except that a threshold already met fires once. What was last fired is
    kept in the asset's state store when the triggerer provides one, so a triggerer restart does not
    fire the same crossing again.

    Many watchers on one connection and poll interval share **one** poll (Airflow 3.3's shared stream,
    ``shared_stream_key``): ``GET /dataset/findByPage`` with ``page_size`` datasets per request. When the
    triggerer drives a watcher alone (older Airflow, tests), :meth:`run` polls for it by itself.

    A dataset missing from the listing is looked up once more (``dataset/info``, since pages shift when
    datasets are deleted meanwhile); if it was deleted (or never existed) the trigger fails with
    :class:`~airflow_provider_xtreme1.exceptions.Xtreme1NotFoundError`.

    :param conn_id: the Xtreme1 connection.
    :param dataset_id: the dataset watched.
    :param threshold_ratio: fire on crossing this fraction of annotated items.
    :param threshold_count: fire on crossing this number of annotated items.
    :param invalid_items: how INVALID items count (see
        :class:`~airflow_provider_xtreme1.annotation_progress.InvalidItems`).
    :param poll_interval: seconds between polls of the shared listing.
    :param page_size: datasets per listing request.
    """

    def __init__(
        self,
        conn_id: str,
        dataset_id: int,
        *,
        threshold_ratio: float | None = None,
        threshold_count: int | None = None,
        invalid_items: str = InvalidItems.EXCLUDED.value,
        poll_interval: float = 60.0,
        page_size: int = 1000,
    ):
        super().__init__()
        self.conn_id = conn_id
        self.dataset_id = int(dataset_id)
        self.threshold_ratio = threshold_ratio
        self.threshold_count = threshold_count
        self.invalid_items = InvalidItems(invalid_items).value
        self.poll_interval = float(poll_interval)
        self.page_size = int(page_size)
        if self.page_size < 1:
            raise ValueError(f"page_size must be at least 1, got {page_size!r}")
        has_threshold = threshold_ratio is not None or threshold_count is not None
        self._threshold = Threshold.parse(threshold_ratio, threshold_count) if has_threshold else None

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "conn_id": self.conn_id,
                "dataset_id": self.dataset_id,
                "threshold_ratio": self.threshold_ratio,
                "threshold_count": self.threshold_count,
                "invalid_items": self.invalid_items,
                "poll_interval": self.poll_interval,
                "page_size": self.page_size,
            },
        )

    def shared_stream_key(self) -> Hashable | None:
        return ("xtreme1-dataset-counts", self.conn_id, self.poll_interval, self.page_size)

    @classmethod
    async def open_shared_stream(cls, kwargs: dict[str, Any]) -> AsyncIterator[Any]:
        """One listing of every dataset's counts per ``poll_interval``; failed polls are skipped."""
        from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1AsyncHook

        hook = Xtreme1AsyncHook(kwargs["conn_id"])
        try:
            while True:
                try:
                    yield {
                        "at": time.time(),
                        "datasets": await poll_dataset_counts(hook, kwargs["page_size"]),
                    }
                except Xtreme1TransportError as err:
                    cls._log_poll_failure(err)
                await asyncio.sleep(kwargs["poll_interval"])
        finally:
            await hook.aclose()

    @classmethod
    def _log_poll_failure(cls, err: Exception) -> None:
        import logging

        logging.getLogger(__name__).warning("Listing Xtreme1 datasets failed, will poll again: %s", err)

    async def filter_shared_stream(self, shared_stream: AsyncIterator[Any]) -> AsyncIterator[TriggerEvent]:
        invalid = InvalidItems(self.invalid_items)
        previous = await self._recall()
        async for snapshot in shared_stream:
            counts = snapshot["datasets"].get(self.dataset_id)
            if counts is None:
                # Pages shift when datasets are deleted between two page requests: ask before failing.
                if await self._exists():
                    continue
                raise Xtreme1NotFoundError(
                    "DATASET_NOT_FOUND",
                    deleted_message(self.dataset_id),
                    http_status=200,
                    endpoint="GET /dataset/findByPage",
                )
            progress = Progress.from_statistics(self.dataset_id, counts)
            done, total = progress.done(invalid), progress.total(invalid)
            state = {"done": done, "met": self._threshold.met(done, total) if self._threshold else False}
            reason = self._reason(previous, state)
            if state != previous:
                previous = state
                await self._remember(state)
            if reason is None:
                continue
            self.log.info("Xtreme1 dataset %s %s: %s", self.dataset_id, reason, progress.line(invalid))
            yield TriggerEvent(
                {
                    "dataset_id": self.dataset_id,
                    "reason": reason,
                    "at": snapshot["at"],
                    **{k: v for k, v in progress.as_dict(invalid).items() if k not in ("locked", "lockers")},
                }
            )

    async def _exists(self) -> bool:
        from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1AsyncHook

        hook = Xtreme1AsyncHook(self.conn_id)
        try:
            await hook.get_dataset(self.dataset_id)
            return True
        except Xtreme1NotFoundError:
            return False
        except Xtreme1TransportError as err:
            self.log.warning("Cannot check dataset %s, will look again: %s", self.dataset_id, err)
            return True
        finally:
            await hook.aclose()

    def _reason(self, previous: dict[str, Any] | None, state: dict[str, Any]) -> str | None:
        if self._threshold is not None:
            crossed = state["met"] and not (previous or {}).get("met", False)
            return "crossed threshold" if crossed else None
        if previous is not None and state["done"] != previous["done"]:
            return "annotated count changed"
        return None

    def _state_key(self) -> str:
        return f"xtreme1:{self.conn_id}:dataset:{self.dataset_id}"

    async def _recall(self) -> dict[str, Any] | None:
        store = getattr(self, "asset_state_store", None)
        if store is None:
            return None
        try:
            value = await store.aget(self._state_key())
        except Exception as err:  # the store is an optimisation; polling goes on without it
            self.log.warning("Cannot read the asset state store: %s", err)
            return None
        return value if isinstance(value, dict) else None

    async def _remember(self, state: dict[str, Any]) -> None:
        store = getattr(self, "asset_state_store", None)
        if store is None:
            return
        try:
            await store.aset(self._state_key(), state)
        except Exception as err:
            self.log.warning("Cannot write the asset state store: %s", err)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Standalone fallback (no shared-stream manager): this watcher polls the listing by itself."""
        kwargs = self.serialize()[1]
        async for event in self.filter_shared_stream(type(self).open_shared_stream(kwargs)):
            yield event
