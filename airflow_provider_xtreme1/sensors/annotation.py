"""Wait for human annotators: until enough of a dataset is annotated (and, optionally, nobody edits it)."""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue

from airflow_provider_xtreme1._arguments import default_deferrable, parse_id, render_flags
from airflow_provider_xtreme1.annotation_progress import (
    AnnotationWatch,
    InvalidItems,
    Threshold,
    deleted_message,
    look,
)
from airflow_provider_xtreme1.exceptions import Xtreme1TransportError
from airflow_provider_xtreme1.statuses import validate_event

#: People annotate for days: a look a minute, a week to finish (Airflow's own sensor default), and no
#: stall detection unless asked — unlike the job sensors' 10 s / 24 h / 1 h, which suit machines.
DEFAULT_POKE_INTERVAL = 60.0
DEFAULT_WAIT = 7 * 24 * 3600.0

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1Hook


def _templated(value: Any) -> bool:
    """Known only at run time: a template, or an XCom reference."""
    if isinstance(value, str):
        return "{{" in value
    return value is not None and not isinstance(value, (int, float))


class Xtreme1AnnotationSensor(BaseSensorOperator):
    """Wait until annotators have annotated enough of a dataset.

    Every check reads ``GET /dataset/{id}/statistics/dataStatus`` (counts by annotation status),
    ``GET /dataset/info/{id}`` (to notice a deleted dataset: its statistics read zero) and
    ``GET /data/findLockRecordByDatasetId`` (items open in the editor), and logs a line like
    ``annotated 412 / 1,000, 3 locked by alice, bob``.

    Works in ``poke``, ``reschedule`` and deferrable mode. ``stall_timeout`` needs the sensor to
    remember earlier checks, so it applies in ``poke`` and deferrable mode; in ``reschedule`` mode only
    ``timeout`` does.

    :param dataset_id: the dataset (templated).
    :param threshold_ratio: done when this fraction of the items is annotated (0 < ratio ≤ 1).
    :param threshold_count: done when this many items are annotated (≥ 1). Give exactly one threshold.
    :param invalid_items: how items marked INVALID count: ``"excluded"`` (default; they leave the
        total), ``"done"`` (they count as annotated) or ``"pending"`` (they count as not annotated).
    :param require_unlocked: also wait until nobody holds a lock on the dataset's data (nobody has an
        item open in the editor), so no half-saved work is exported.
    :param stall_timeout: fail after this many seconds without any change of counts or locks (default:
        off; ``poke_interval`` defaults to 60 s and ``timeout`` to 7 days — people are slower than jobs).
    :param xtreme1_conn_id: the Xtreme1 connection.
    :param deferrable: wait in the triggerer (default: ``[operators] default_deferrable``).
    :return: the last progress: ``annotated``, ``not_annotated``, ``invalid``, ``items``, ``locked``,
        ``lockers``, ``done``, ``total``.
    """

    template_fields: Sequence[str] = (
        "dataset_id",
        "threshold_ratio",
        "threshold_count",
        "invalid_items",
        "require_unlocked",
        "xtreme1_conn_id",
    )

    def __init__(
        self,
        *,
        dataset_id: int | str,
        threshold_ratio: float | str | None = None,
        threshold_count: int | str | None = None,
        invalid_items: str = InvalidItems.EXCLUDED.value,
        require_unlocked: bool = False,
        stall_timeout: float | None = None,
        xtreme1_conn_id: str = "xtreme1_default",
        deferrable: bool | None = None,
        **kwargs: Any,
    ):
        kwargs.setdefault("poke_interval", DEFAULT_POKE_INTERVAL)
        kwargs.setdefault("timeout", DEFAULT_WAIT)
        super().__init__(**kwargs)
        self.dataset_id = dataset_id
        self.threshold_ratio = threshold_ratio
        self.threshold_count = threshold_count
        self.invalid_items = invalid_items
        self.require_unlocked = require_unlocked
        self.stall_timeout = stall_timeout or None
        self.xtreme1_conn_id = xtreme1_conn_id
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        if deferrable and self.mode == "reschedule":
            warnings.warn(
                f"{type(self).__name__} {self.task_id!r}: deferrable=True replaces mode='reschedule' "
                "(the sensor waits in the triggerer; mode has no effect).",
                UserWarning,
                stacklevel=2,
            )
        # Bad values fail when the DAG is parsed, unless they come from a template or an XCom.
        if not any(_templated(v) for v in (threshold_ratio, threshold_count)):
            Threshold.parse(threshold_ratio, threshold_count)
        if not _templated(dataset_id):
            parse_id(dataset_id, "dataset_id")
        if not _templated(invalid_items):
            InvalidItems(invalid_items)

    def render_template_fields(self, context: Context, jinja_env: Any = None) -> None:
        super().render_template_fields(context, jinja_env)
        render_flags(self)

    @cached_property
    def hook(self) -> Xtreme1Hook:
        from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1Hook

        return Xtreme1Hook(self.xtreme1_conn_id)

    @cached_property
    def _watch(self) -> AnnotationWatch:
        return AnnotationWatch(
            parse_id(self.dataset_id, "dataset_id"),
            Threshold.parse(self.threshold_ratio, self.threshold_count),
            invalid=InvalidItems(self.invalid_items),
            require_unlocked=self.require_unlocked,
            stall_timeout=self.stall_timeout,
        )

    def poke(self, context: Context) -> PokeReturnValue | bool:
        watch = self._watch
        try:
            progress = look(self.hook, watch.dataset_id)
        except Xtreme1TransportError as err:
            self.log.warning("Checking Xtreme1 failed, will check again: %s", err)
            return False
        if progress is None:
            event = watch.gone(deleted_message(watch.dataset_id))
        else:
            event = watch.observe(progress, time.time())
        if event is None:
            self.log.info("Xtreme1 dataset %s: %s", watch.dataset_id, watch.status_line)
            return False
        return PokeReturnValue(is_done=True, xcom_value=self.execute_complete(context, event))

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        done = self.poke(context)
        if done:
            return done.xcom_value
        from airflow_provider_xtreme1.triggers.annotation import Xtreme1AnnotationTrigger

        self.defer(
            trigger=Xtreme1AnnotationTrigger(
                self.xtreme1_conn_id,
                self._watch.dataset_id,
                threshold_ratio=self._watch.threshold.ratio,
                threshold_count=self._watch.threshold.count,
                invalid_items=self._watch.invalid.value,
                require_unlocked=self.require_unlocked,
                poll_interval=self.poke_interval,
                end_time=time.time() + self.timeout if self.timeout else None,
                stall_timeout=self.stall_timeout,
            ),
            method_name="execute_complete",
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Check the final event (raising unless the threshold was met) and return the progress."""
        event = validate_event(event)
        self.log.info("%s", event.get("message"))
        return dict(event.get("progress") or {})
