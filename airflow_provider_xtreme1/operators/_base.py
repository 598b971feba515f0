"""What every Xtreme1 operator shares: the connection, and the start → remember → wait skeleton of jobs."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from airflow.sdk import BaseOperator

from airflow_provider_xtreme1._arguments import default_deferrable, parse_id, render_flags
from airflow_provider_xtreme1.exceptions import Xtreme1AnswerLostError, Xtreme1Error, Xtreme1TransportError
from airflow_provider_xtreme1.links import DATASET_URL_XCOM_KEY, Xtreme1DatasetLink
from airflow_provider_xtreme1.statuses import (
    DEFAULT_POLL_INTERVAL,
    DEFAULT_STALL_TIMEOUT,
    DEFAULT_TIMEOUT,
    RULES,
    JobKind,
    JobWatch,
    Outcome,
    stall_timeout_of,
    validate_event,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1Hook

T = TypeVar("T")


class Xtreme1BaseOperator(BaseOperator):
    """Base of the Xtreme1 operators: holds the connection id and one hook per task run.

    Operators that return a dict also push each of its keys as an XCom of its own
    (``multiple_outputs``), so DAGs can pass ``task.output["access_url"]`` to the next task.

    :param xtreme1_conn_id: the Xtreme1 connection (default ``xtreme1_default``).
    """

    operator_extra_links = (Xtreme1DatasetLink(),)
    returns_dict: ClassVar[bool] = True

    def __init__(self, *, xtreme1_conn_id: str = "xtreme1_default", **kwargs: Any):
        kwargs.setdefault("multiple_outputs", self.returns_dict)
        super().__init__(**kwargs)
        self.xtreme1_conn_id = xtreme1_conn_id
        #: The dataset page this task run published (read by the "Xtreme1 dataset" extra link).
        self.dataset_link: str | None = None

    @cached_property
    def hook(self) -> Xtreme1Hook:
        from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1Hook

        return Xtreme1Hook(self.xtreme1_conn_id)

    def render_template_fields(self, context: Context, jinja_env: Any = None) -> None:
        super().render_template_fields(context, jinja_env)
        render_flags(self)

    def push_dataset_link(self, context: Context, dataset_id: int) -> None:
        """Publish the dataset page for the "Xtreme1 dataset" extra link (and as XCom ``dataset_url``)."""
        self.dataset_link = self.hook.dataset_url(dataset_id)
        context["ti"].xcom_push(key=DATASET_URL_XCOM_KEY, value=self.dataset_link)


def wait_for_jobs(
    hook: Xtreme1Hook,
    watch: JobWatch,
    *,
    dataset_id: int | None,
    poll_interval: float,
    log: Any,
) -> dict[str, Any]:
    """Poll until ``watch`` decides; return its final event (the same payload a trigger fires)."""
    while True:
        try:
            records = hook.get_job_records(watch.kind, watch.ids, dataset_id=dataset_id)
            event = watch.observe(records, time.time())
        except Xtreme1TransportError as err:
            log.warning("Polling Xtreme1 failed, will poll again: %s", err)
            event = watch.poll_failed(err, time.time())
        if event is not None:
            return event
        log.info("Xtreme1 %s still running: %s", RULES[watch.kind].label, watch.status_line)
        time.sleep(poll_interval)


class Xtreme1JobOperator(Xtreme1BaseOperator):
    """Skeleton of the operators that start a server job (import, export, model run) and wait for it.

    ``execute`` re-attaches to the job an earlier try of this task started (if it is still running or
    has succeeded), or starts a new one; records the job ids in the task state store and pushes them to
    XCom **before** waiting, so they are there even when the wait fails; then returns at once, waits on
    the worker, or defers to the triggerer. Both waiting modes end in :meth:`finish` with the same event,
    so the task returns the same value either way.

    Subclasses set ``kind`` and ``ids_xcom_key`` and implement :meth:`start_job` and :meth:`job_result`.

    **Why not** ``airflow.sdk.bases.resumablejobmixin.ResumableJobMixin`` (Airflow 3.3): this class keeps
    the same durable contract — the job ids go to ``task_state_store`` before waiting and a retry
    re-attaches to a job still running or already succeeded — but the mixin does not fit as it stands:
    it judges one raw status string per job, where these tasks judge all their records together
    (progress, stall, warnings: :class:`~airflow_provider_xtreme1.statuses.JobWatch`); on reconnect it
    returns what ``poll_until_complete`` returns but on a fresh run what ``get_job_result`` returns,
    while the deferrable path here leaves ``execute`` in between and ends in ``execute_complete``; it
    is for the synchronous path only (its docstring says so), and this class defers; and its known gap —
    the worker dies between submitting and persisting the id, and the retry submits again — is the
    lost answer :meth:`start_once` turns into a failure, since Xtreme1 cannot list imports or exports to
    find an orphan. Without a ``task_state_store`` this class also falls back to the ids in XCom.

    :param wait_for_completion: wait until the job ends (default). Otherwise return right after starting.
    :param poll_interval: seconds between status checks (default 10).
    :param timeout: seconds to wait for the job before failing (default 24 h; the job itself keeps running
        on the server: Xtreme1 has no API to cancel imports, exports or model runs).
    :param stall_timeout: seconds without any change of status or progress before the job counts as stalled
        (default 1 h; ``0`` turns stall detection off).
    :param fail_on_warnings: fail when the job succeeds with warnings.
    :param deferrable: wait in the triggerer instead of a worker slot (default: ``[operators]
        default_deferrable``).
    :param reattach: on a retry, reuse the job the earlier try started instead of starting another one.
    """

    kind: ClassVar[JobKind]
    ids_xcom_key: ClassVar[str]
    default_timeout: ClassVar[float] = DEFAULT_TIMEOUT
    default_stall_timeout: ClassVar[float] = DEFAULT_STALL_TIMEOUT

    def __init__(
        self,
        *,
        wait_for_completion: bool = True,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        timeout: float | None = None,
        stall_timeout: float | None = None,
        fail_on_warnings: bool = False,
        deferrable: bool | None = None,
        reattach: bool = True,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.wait_for_completion = wait_for_completion
        self.poll_interval = poll_interval
        self.timeout = self.default_timeout if timeout is None else timeout
        self.stall_timeout = (
            self.default_stall_timeout if stall_timeout is None else stall_timeout_of(stall_timeout)
        )
        self.fail_on_warnings = fail_on_warnings
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self.reattach = reattach
        if deferrable and wait_for_completion is False:
            warnings.warn(
                f"{type(self).__name__} {self.task_id!r}: deferrable=True has no effect with "
                "wait_for_completion=False (the task returns right after starting the job).",
                UserWarning,
                stacklevel=2,
            )

    # -- what subclasses provide -------------------------------------------------------------------------

    def start_job(self, context: Context) -> list[str]:
        """Start the job(s) on the server; return their ids (serial numbers or run ids)."""
        raise NotImplementedError

    def job_dataset_id(self) -> int | None:
        """The dataset the job belongs to (needed to look up model runs)."""
        return None

    def job_result(self, context: Context, ids: list[str], event: dict[str, Any] | None) -> Any:
        """The task's return value, from the final event (``None`` when not waiting)."""
        raise NotImplementedError

    # -- the skeleton --------------------------------------------------------------------------------------

    def execute(self, context: Context) -> Any:
        ids = self._earlier_job(context) if self.reattach else None
        if ids is None:
            ids = self.start_job(context)
            self._remember(context, ids)
        context["ti"].xcom_push(key=self.ids_xcom_key, value=ids)
        if not self.wait_for_completion:
            return self.job_result(context, ids, None)

        watch = self._watch(ids)
        if self.deferrable:
            # Look once before deferring: a job that is already over needs no trigger.
            records = self.hook.get_job_records(self.kind, ids, dataset_id=self.job_dataset_id())
            event = watch.observe(records, time.time())
            if event is None:
                self._defer(ids)
        else:
            event = wait_for_jobs(
                self.hook,
                watch,
                dataset_id=self.job_dataset_id(),
                poll_interval=self.poll_interval,
                log=self.log,
            )
        return self.finish(context, event)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger fired."""
        dataset_id = getattr(self, "dataset_id", None)
        if dataset_id not in (None, ""):
            # A resumed task is a new process: the link's URL was published before deferring.
            self.dataset_link = self.hook.dataset_url(parse_id(dataset_id, "dataset_id"))
        return self.finish(context, event)

    def finish(self, context: Context, event: dict[str, Any] | None) -> Any:
        """Raise unless the event reports success; log warnings; return the task's result."""
        event = validate_event(event)
        for warning in event.get("warnings", []):
            self.log.warning("Xtreme1 %s warning: %s", RULES[self.kind].label, warning)
        return self.job_result(context, list(event["ids"]), event)

    def _watch(self, ids: Sequence[str]) -> JobWatch:
        return JobWatch(
            self.kind,
            ids,
            end_time=time.time() + self.timeout if self.timeout else None,
            stall_timeout=self.stall_timeout,
            fail_on_warnings=self.fail_on_warnings,
        )

    def _defer(self, ids: list[str]) -> None:
        from airflow_provider_xtreme1.triggers.xtreme1 import Xtreme1JobTrigger

        self.defer(
            trigger=Xtreme1JobTrigger(
                self.xtreme1_conn_id,
                self.kind.value,
                ids,
                dataset_id=self.job_dataset_id(),
                poll_interval=self.poll_interval,
                end_time=time.time() + self.timeout if self.timeout else None,
                stall_timeout=self.stall_timeout,
                fail_on_warnings=self.fail_on_warnings,
            ),
            method_name="execute_complete",
            timeout=self.execution_timeout,
        )

    # -- starting at most once ------------------------------------------------------------------------------

    @property
    def _starting_key(self) -> str:
        return f"xtreme1_{self.kind.value}_starting"

    def start_once(self, context: Context, send: Callable[[], T], *, what: str, check: str) -> T:
        """Send the one request that starts the job, so that no task ever starts it twice.

        Xtreme1 finds upload and export records by serial number only (``UploadUseCase`` /
        ``ExportRecordUseCase.findBySerialNumbers``; neither table holds the dataset): once the answer
        carrying the serial is lost, nothing can tell whether the job started. So a lost answer fails
        the task **without** Airflow's retries (:class:`~airflow_provider_xtreme1.exceptions.
        Xtreme1AnswerLostError`), saying what may have started and how to check. A marker in the task
        state store, written before sending, covers a worker that died while waiting for the answer: the
        next try fails the same way instead of starting again. A try after that failure — the user
        cleared the task after checking — starts anew.

        :param send: sends the start request and returns its answer.
        :param what: what may have started, for the message (no secrets: no presigned URLs).
        :param check: how the user can see whether it started.
        """
        label = RULES[self.kind].label
        store = context.get("task_state_store")
        marker = store.get(self._starting_key) if store is not None else None
        if isinstance(marker, dict):
            if not marker.get("reported"):
                store.set(self._starting_key, {**marker, "reported": True})
                raise Xtreme1AnswerLostError(
                    self._lost_message(
                        marker["what"],
                        f"try {marker.get('try')} sent the request at {marker.get('sent_at')} and stopped "
                        "before its answer arrived",
                        marker.get("check") or check,
                    )
                )
            self.log.warning(
                "An earlier try could not tell whether its %s started (%s); the task was run again after "
                "that, so a new %s starts now.",
                label,
                marker["what"],
                label,
            )
        if store is not None:
            store.set(
                self._starting_key,
                {
                    "what": what,
                    "check": check,
                    "try": context["ti"].try_number,
                    "sent_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    "reported": False,
                },
            )
        try:
            answer = send()
        except Xtreme1AnswerLostError as err:
            if store is not None:
                store.set(self._starting_key, {**store.get(self._starting_key), "reported": True})
            raise Xtreme1AnswerLostError(self._lost_message(what, str(err), check)) from None
        except Xtreme1Error:
            # Refused by the server, or never sent: nothing started. (Anything else — the worker being
            # stopped mid-request — keeps the marker: the request may have gone out.)
            self._forget_start(store)
            raise
        self._forget_start(store)
        return answer

    def _forget_start(self, store: Any) -> None:
        if store is not None and store.get(self._starting_key) is not None:
            store.delete(self._starting_key)

    def _lost_message(self, what: str, how: str, check: str) -> str:
        return (
            f"{what} may have started on Xtreme1, but this task cannot know: {how}. Xtreme1 finds "
            f"{RULES[self.kind].label} records by serial number only, so the task fails without retrying "
            f"(a retry could start a second one). {check} If nothing started, clear this task to run it "
            "again; if it did, mark the task as success."
        )

    # -- re-attaching on retry -------------------------------------------------------------------------------

    @property
    def _state_key(self) -> str:
        return f"xtreme1_{self.kind.value}_ids"

    def _remember(self, context: Context, ids: list[str]) -> None:
        store = context.get("task_state_store")
        if store is not None:
            store.set(self._state_key, ids)

    def _earlier_job(self, context: Context) -> list[str] | None:
        """The ids an earlier try of this task started, if that job is still running or succeeded."""
        store = context.get("task_state_store")
        ids = store.get(self._state_key) if store is not None else None
        if not ids and context["ti"].try_number > 1:
            ids = context["ti"].xcom_pull(task_ids=self.task_id, key=self.ids_xcom_key)
        if not ids:
            return None
        ids = [str(i) for i in ids]
        records = self.hook.get_job_records(self.kind, ids, dataset_id=self.job_dataset_id())
        event = JobWatch(self.kind, ids).observe(records, time.time())
        outcome = Outcome(event["outcome"]) if event else Outcome.RUNNING
        if outcome in (Outcome.RUNNING, Outcome.SUCCEEDED):
            self.log.info(
                "Re-attaching to Xtreme1 %s %s started by an earlier try (%s).",
                RULES[self.kind].label,
                ", ".join(ids),
                outcome.value,
            )
            return ids
        self.log.info(
            "The %s an earlier try started (%s) ended %s; starting a new one.",
            RULES[self.kind].label,
            ", ".join(ids),
            outcome.value,
        )
        return None
