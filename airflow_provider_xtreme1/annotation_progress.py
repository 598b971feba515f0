"""How far the annotators are, and when waiting on them is over. Pure logic, no I/O.

Sensors (poke and reschedule), the deferrable trigger and the asset-event trigger fetch statistics and
hand them here; one set of rules decides. Counts are those of ``GET /dataset/{id}/statistics/dataStatus``
(single-data items by annotation status: ``ANNOTATED``, ``NOT_ANNOTATED``, ``INVALID``) and, for locks,
``GET /data/findLockRecordByDatasetId`` (how many items each user holds open in the editor).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from airflow_provider_xtreme1.exceptions import Xtreme1NotFoundError
from airflow_provider_xtreme1.statuses import Outcome


class InvalidItems(str, enum.Enum):
    """How items an annotator marked INVALID count.

    ``DONE``: reviewed and finished, they count as done (and stay in the total).
    ``EXCLUDED`` (default): they leave the total; the threshold is over the valid items only.
    ``PENDING``: they count as not done (a ratio of 1 then waits until someone marks them valid).
    """

    DONE = "done"
    EXCLUDED = "excluded"
    PENDING = "pending"


@dataclass(frozen=True)
class Threshold:
    """When enough is annotated: a ``ratio`` (0 < ratio ≤ 1 of the items) or a ``count`` (≥ 1 items)."""

    ratio: float | None = None
    count: int | None = None

    @classmethod
    def parse(cls, ratio: Any = None, count: Any = None) -> Threshold:
        """Check the user's arguments; exactly one of them, in range."""
        if (ratio is None) == (count is None):
            raise ValueError("give exactly one of threshold_ratio (e.g. 0.95) or threshold_count (e.g. 500)")
        if ratio is not None:
            if isinstance(ratio, str):
                ratio = _number(ratio, "threshold_ratio")
            if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0 < ratio <= 1:
                raise ValueError(
                    f"threshold_ratio must be a fraction above 0 and at most 1 (0.95 = 95 %), got {ratio!r}"
                )
            return cls(ratio=float(ratio))
        if isinstance(count, str):
            count = _number(count, "threshold_count")
        if isinstance(count, float) and count.is_integer():
            count = int(count)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"threshold_count must be a whole number of items, at least 1, got {count!r}")
        return cls(count=count)

    def met(self, done: int, total: int) -> bool:
        if self.count is not None:
            return done >= self.count
        assert self.ratio is not None
        # An empty dataset (import still running, or everything excluded) never meets a ratio.
        return total > 0 and done >= self.ratio * total - 1e-9

    def describe(self) -> str:
        return f"{self.count:,} items" if self.count is not None else f"{self.ratio:.0%}"


def _number(text: str, name: str) -> float:
    try:
        return float(text.strip())
    except ValueError:
        raise ValueError(f"{name} must be a number, got {text!r}") from None


@dataclass(frozen=True)
class Progress:
    """One look at a dataset: counts by annotation status and locked items (``None``: not asked)."""

    dataset_id: int
    annotated: int
    not_annotated: int
    invalid: int
    items: int
    locked: int | None = None
    lockers: tuple[str, ...] = ()

    @classmethod
    def from_statistics(
        cls, dataset_id: int, stats: Mapping[str, Any], lock_records: list[Mapping[str, Any]] | None = None
    ) -> Progress:
        locked = None
        lockers: tuple[str, ...] = ()
        if lock_records is not None:
            held = [r for r in lock_records if int(r.get("lockedNum") or 0) > 0]
            locked = sum(int(r["lockedNum"]) for r in held)
            lockers = tuple(sorted(str(r.get("lockedBy") or "?") for r in held))
        return cls(
            dataset_id=int(dataset_id),
            annotated=int(stats.get("annotatedCount") or 0),
            not_annotated=int(stats.get("notAnnotatedCount") or 0),
            invalid=int(stats.get("invalidCount") or 0),
            items=int(stats.get("itemCount") or 0),
            locked=locked,
            lockers=lockers,
        )

    def done(self, invalid: InvalidItems) -> int:
        return self.annotated + (self.invalid if invalid is InvalidItems.DONE else 0)

    def total(self, invalid: InvalidItems) -> int:
        return self.items - (self.invalid if invalid is InvalidItems.EXCLUDED else 0)

    def line(self, invalid: InvalidItems = InvalidItems.EXCLUDED) -> str:
        """``annotated 412 / 1,000, 3 locked`` (plus invalid items and who holds locks, when any)."""
        text = f"annotated {self.done(invalid):,} / {self.total(invalid):,}"
        if self.invalid:
            text += f", {self.invalid:,} invalid ({invalid.value})"
        if self.locked is not None:
            text += f", {self.locked:,} locked"
            if self.lockers:
                text += f" by {', '.join(self.lockers)}"
        return text

    def as_dict(self, invalid: InvalidItems = InvalidItems.EXCLUDED) -> dict[str, Any]:
        out = asdict(self)
        out["lockers"] = list(self.lockers)
        out.update(done=self.done(invalid), total=self.total(invalid), invalid_items=invalid.value)
        return out


class AnnotationWatch:
    """The rules of waiting on annotators, for a sync loop (sensor) or an async one (trigger).

    ``observe`` returns the final event (a JSON-safe dict, checked with
    :func:`~airflow_provider_xtreme1.statuses.validate_event` on the worker) once the wait is over:
    ``succeeded`` when the threshold is met (and, with ``require_unlocked``, no item is locked),
    ``stalled`` when nothing changed for ``stall_timeout`` seconds, ``timed_out`` after ``end_time``.

    :param dataset_id: the dataset.
    :param threshold: when enough is annotated.
    :param invalid: how INVALID items count.
    :param require_unlocked: also wait until nobody holds a lock on the dataset's data.
    :param stall_timeout: seconds without any change (counts or locks) before failing, or ``None``.
    :param end_time: wall-clock deadline (epoch seconds), or ``None``.
    """

    def __init__(
        self,
        dataset_id: int,
        threshold: Threshold,
        *,
        invalid: InvalidItems | str = InvalidItems.EXCLUDED,
        require_unlocked: bool = False,
        stall_timeout: float | None = None,
        end_time: float | None = None,
    ):
        self.dataset_id = int(dataset_id)
        self.threshold = threshold
        self.invalid = InvalidItems(invalid)
        self.require_unlocked = require_unlocked
        self.stall_timeout = stall_timeout
        self.end_time = end_time
        self.last: Progress | None = None
        self._changed_at: float | None = None

    @property
    def status_line(self) -> str:
        if self.last is None:
            return "no statistics yet"
        return f"{self.last.line(self.invalid)} (waiting for {self.threshold.describe()})"

    def is_met(self, progress: Progress) -> bool:
        if not self.threshold.met(progress.done(self.invalid), progress.total(self.invalid)):
            return False
        return not (self.require_unlocked and (progress.locked or 0) > 0)

    def observe(self, progress: Progress, now: float) -> dict[str, Any] | None:
        if self.last is None or _state(progress) != _state(self.last):
            self._changed_at = now
        self.last = progress
        if self.is_met(progress):
            return self._event(Outcome.SUCCEEDED, f"dataset {self.dataset_id}: {progress.line(self.invalid)}")
        stalled_for = 0.0 if self._changed_at is None else now - self._changed_at
        if self.stall_timeout is not None and stalled_for >= self.stall_timeout:
            return self._event(
                Outcome.STALLED,
                f"dataset {self.dataset_id}: no annotation progress for {self.stall_timeout:g} s "
                f"({self.status_line})",
            )
        return self._deadline(now)

    def poll_failed(self, error: Exception, now: float) -> dict[str, Any] | None:
        """A poll got no answer: only the deadline can end the wait then."""
        return self._deadline(now)

    def gone(self, message: str) -> dict[str, Any]:
        """The dataset was deleted (or never existed)."""
        return self._event(Outcome.FAILED, message)

    def _deadline(self, now: float) -> dict[str, Any] | None:
        if self.end_time is not None and now >= self.end_time:
            return self._event(
                Outcome.TIMED_OUT, f"dataset {self.dataset_id}: not annotated in time ({self.status_line})"
            )
        return None

    def _event(self, outcome: Outcome, message: str) -> dict[str, Any]:
        return {
            "outcome": outcome.value,
            "message": message,
            "dataset_id": self.dataset_id,
            "progress": None if self.last is None else self.last.as_dict(self.invalid),
        }


def _state(progress: Progress) -> tuple[int, ...]:
    return (
        progress.annotated,
        progress.not_annotated,
        progress.invalid,
        progress.items,
        progress.locked or 0,
    )


def deleted_message(dataset_id: int) -> str:
    return (
        f"Xtreme1 dataset {dataset_id} does not exist (deleted, or a wrong id): its statistics read zero "
        "and dataset/info finds no such dataset"
    )


def look(hook: Any, dataset_id: int) -> Progress | None:
    """Statistics, the dataset itself and lock records (blocking); ``None`` when the dataset is gone.

    ``dataset/{id}/statistics/dataStatus`` answers zeros for a deleted dataset, so ``dataset/info`` is
    asked every time: a dataset deleted while waited on ends the wait at once."""
    stats = hook.get_data_statistics(dataset_id)
    try:
        hook.get_dataset(dataset_id)
    except Xtreme1NotFoundError:
        return None
    return Progress.from_statistics(dataset_id, stats, hook.get_lock_records(dataset_id))


async def alook(hook: Any, dataset_id: int) -> Progress | None:
    """The asyncio twin of :func:`look`."""
    stats = await hook.get_data_statistics(dataset_id)
    try:
        await hook.get_dataset(dataset_id)
    except Xtreme1NotFoundError:
        return None
    return Progress.from_statistics(dataset_id, stats, await hook.get_lock_records(dataset_id))
