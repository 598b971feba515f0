"""Sensors that wait on Xtreme1 jobs started elsewhere (another task, another DAG, the web app)."""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseSensorOperator, PokeReturnValue

from airflow_provider_xtreme1._arguments import as_list, default_deferrable, render_flags
from airflow_provider_xtreme1.exceptions import Xtreme1TransportError
from airflow_provider_xtreme1.results import job_summary
from airflow_provider_xtreme1.statuses import (
    DEFAULT_POLL_INTERVAL,
    DEFAULT_TIMEOUT,
    JobKind,
    JobWatch,
    stall_timeout_of,
    validate_event,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1Hook


class Xtreme1JobSensor(BaseSensorOperator):
    """Wait until Xtreme1 jobs of one kind finish; fail as soon as one of them fails.

    Works in ``poke``, ``reschedule`` and deferrable mode; every check is one request for all ids. The
    status rules are the ones the operators use. Stall detection needs the sensor to remember earlier
    checks, so it works in ``poke`` and deferrable mode; in ``reschedule`` mode only ``timeout`` applies.

    :param ids: the job ids (serial numbers or run ids).
    :param dataset_id: the dataset of the jobs (needed for model runs).
    :param xtreme1_conn_id: the Xtreme1 connection.
    :param stall_timeout: seconds without progress after which a job counts as stalled (default 1 h, as
        for the operators; ``0`` turns it off).

    ``poke_interval`` defaults to 10 s and ``timeout`` to 24 h, as the operators' ``poll_interval`` and
    ``timeout`` do.
    :param fail_on_warnings: fail when a job succeeds with warnings.
    :param deferrable: wait in the triggerer (default: ``[operators] default_deferrable``).
    :return: the final state of each job, in the order of ``ids``, in the snake_case shape the operators
        return: ``{serial_number, status, ...}`` for imports and exports, ``{run_id, run_no, status, ...}``
        for model runs (see :func:`~airflow_provider_xtreme1.results.job_summary`).
    """

    kind: ClassVar[JobKind]
    template_fields: Sequence[str] = ("ids", "dataset_id", "fail_on_warnings", "xtreme1_conn_id")

    def __init__(
        self,
        *,
        ids: str | Sequence[str],
        dataset_id: int | str | None = None,
        xtreme1_conn_id: str = "xtreme1_default",
        stall_timeout: float | None = None,
        fail_on_warnings: bool = False,
        deferrable: bool | None = None,
        **kwargs: Any,
    ):
        kwargs.setdefault("poke_interval", DEFAULT_POLL_INTERVAL)
        kwargs.setdefault("timeout", DEFAULT_TIMEOUT)
        super().__init__(**kwargs)
        self.ids = ids
        self.dataset_id = dataset_id
        self.xtreme1_conn_id = xtreme1_conn_id
        self.stall_timeout = stall_timeout_of(stall_timeout)
        self.fail_on_warnings = fail_on_warnings
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        if deferrable and self.mode == "reschedule":
            warnings.warn(
                f"{type(self).__name__} {self.task_id!r}: deferrable=True replaces mode='reschedule' "
                "(the sensor waits in the triggerer; mode has no effect).",
                UserWarning,
                stacklevel=2,
            )

    def render_template_fields(self, context: Context, jinja_env: Any = None) -> None:
        super().render_template_fields(context, jinja_env)
        render_flags(self)

    @cached_property
    def hook(self) -> Xtreme1Hook:
        from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1Hook

        return Xtreme1Hook(self.xtreme1_conn_id)

    @property
    def job_ids(self) -> list[str]:
        ids = as_list(self.ids)
        if not ids:
            raise ValueError(f"{type(self).__name__} needs at least one id to wait for.")
        return [str(i).strip() for i in ids]

    @property
    def job_dataset_id(self) -> int | None:
        return None if self.dataset_id in (None, "") else int(self.dataset_id)

    @cached_property
    def _watch(self) -> JobWatch:
        return JobWatch(
            self.kind,
            self.job_ids,
            stall_timeout=self.stall_timeout,
            fail_on_warnings=self.fail_on_warnings,
        )

    def poke(self, context: Context) -> PokeReturnValue | bool:
        try:
            records = self.hook.get_job_records(self.kind, self.job_ids, dataset_id=self.job_dataset_id)
        except Xtreme1TransportError as err:
            self.log.warning("Checking Xtreme1 failed, will check again: %s", err)
            return False
        event = self._watch.observe(records, time.time())
        if event is None:
            self.log.info("Xtreme1 %s still running: %s", self.kind.value, self._watch.status_line)
            return False
        return PokeReturnValue(is_done=True, xcom_value=self.execute_complete(context, event))

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        done = self.poke(context)
        if done:
            return done.xcom_value
        from airflow_provider_xtreme1.triggers.xtreme1 import Xtreme1JobTrigger

        self.defer(
            trigger=Xtreme1JobTrigger(
                self.xtreme1_conn_id,
                self.kind.value,
                self.job_ids,
                dataset_id=self.job_dataset_id,
                poll_interval=self.poke_interval,
                end_time=time.time() + self.timeout if self.timeout else None,
                stall_timeout=self.stall_timeout,
                fail_on_warnings=self.fail_on_warnings,
            ),
            method_name="execute_complete",
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Check the final event (raising on failure), log warnings and return the records."""
        event = validate_event(event)
        for warning in event.get("warnings", []):
            self.log.warning("Xtreme1 %s warning: %s", self.kind.value, warning)
        return [job_summary(self.kind, record) for record in event.get("records", [])]


class Xtreme1ImportSensor(Xtreme1JobSensor):
    """Wait until imports (upload serial numbers) are parsed: ``PARSE_COMPLETED`` succeeds, ``FAILED`` fails.

    :param serial_numbers: one serial number or a list of them.
    """

    kind = JobKind.IMPORT

    def __init__(self, *, serial_numbers: str | Sequence[str], **kwargs: Any):
        super().__init__(ids=serial_numbers, **kwargs)


class Xtreme1ExportSensor(Xtreme1JobSensor):
    """Wait until exports (export serial numbers) are generated: ``COMPLETED`` succeeds.

    An export whose filters match no data stays ``GENERATING`` forever on the server: give
    ``stall_timeout`` or ``timeout``.

    :param serial_numbers: one serial number or a list of them.
    """

    kind = JobKind.EXPORT

    def __init__(self, *, serial_numbers: str | Sequence[str], **kwargs: Any):
        super().__init__(ids=serial_numbers, **kwargs)


class Xtreme1ModelRunSensor(Xtreme1JobSensor):
    """Wait until model runs of a dataset finish: ``SUCCESS`` succeeds, ``SUCCESS_WITH_ERROR`` warns
    (fails with ``fail_on_warnings``), ``FAILURE`` fails with the server's ``errorReason``.

    :param run_ids: one model-run record id or a list of them.
    :param dataset_id: the dataset the runs belong to.
    """

    kind = JobKind.MODEL_RUN

    def __init__(self, *, run_ids: str | int | Sequence[str | int], dataset_id: int | str, **kwargs: Any):
        super().__init__(ids=run_ids, dataset_id=dataset_id, **kwargs)
