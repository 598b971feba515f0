"""Job statuses and the one set of rules that decides what a status means.

Operators (sync waits), sensors and triggers all call :func:`judge`; nothing else compares status
strings, so sync and deferrable modes cannot drift apart. Everything here is pure: the clock is an
argument and progress tracking is a plain, JSON-serialisable value passed from one :func:`judge` call to
the next. It lives in memory only: a trigger's kwargs are fixed when the task defers, so after a
triggerer restart the trigger resumes polling the same jobs with fresh progress, and the stall clock
starts again (a stall is then reported up to ``stall_timeout`` later; ``timeout`` is an absolute
``end_time`` and is not extended).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_xtreme1.exceptions import (
    Xtreme1JobError,
    Xtreme1JobFailedError,
    Xtreme1JobStalledError,
    Xtreme1JobTimeoutError,
    Xtreme1UnknownStatusError,
)
from airflow_provider_xtreme1.vocabulary import ExportStatus as ExportStatus
from airflow_provider_xtreme1.vocabulary import ModelRunStatus as ModelRunStatus
from airflow_provider_xtreme1.vocabulary import UploadStatus as UploadStatus


class JobKind(str, enum.Enum):
    """The three kinds of long-running server jobs."""

    IMPORT = "import"
    EXPORT = "export"
    MODEL_RUN = "model_run"


class Outcome(str, enum.Enum):
    """What a job's record means for the task waiting on it."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    STALLED = "stalled"
    TIMED_OUT = "timed_out"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class JobRules:
    """Status sets and record fields of one job kind."""

    kind: JobKind
    label: str
    id_field: str
    running: frozenset[str]
    succeeded: frozenset[str]
    partial: frozenset[str]
    failed: frozenset[str]
    progress_fields: tuple[str, ...]
    message_field: str
    #: Record fields that hold signed URLs: left out of events, which are stored in the metadata DB.
    secret_fields: tuple[str, ...] = ()


RULES: dict[JobKind, JobRules] = {
    JobKind.IMPORT: JobRules(
        kind=JobKind.IMPORT,
        label="import",
        id_field="serialNumber",
        running=frozenset({"UNSTARTED", "DOWNLOADING", "DOWNLOAD_COMPLETED", "PARSING"}),
        succeeded=frozenset({"PARSE_COMPLETED"}),
        partial=frozenset(),
        failed=frozenset({"FAILED"}),
        progress_fields=("downloadedFileSize", "parsedDataNum", "totalDataNum"),
        message_field="errorMessage",
    ),
    JobKind.EXPORT: JobRules(
        kind=JobKind.EXPORT,
        label="export",
        id_field="serialNumber",
        running=frozenset({"UNSTARTED", "GENERATING"}),
        succeeded=frozenset({"COMPLETED"}),
        partial=frozenset(),
        failed=frozenset({"FAILED"}),
        progress_fields=("generatedNum", "totalNum"),
        message_field="errorMessage",
        secret_fields=("filePath",),
    ),
    JobKind.MODEL_RUN: JobRules(
        kind=JobKind.MODEL_RUN,
        label="model run",
        id_field="id",
        running=frozenset({"STARTED", "RUNNING"}),
        succeeded=frozenset({"SUCCESS"}),
        partial=frozenset({"SUCCESS_WITH_ERROR"}),
        failed=frozenset({"FAILURE"}),
        progress_fields=("completionRate",),
        message_field="errorReason",
    ),
}


@dataclass(frozen=True)
class Verdict:
    """The judgement of one or more job records at one moment.

    ``progress`` maps each job id to ``[fingerprint, changed_at]``; pass it back to the next
    :func:`judge` call (plain JSON values; kept in memory by the waiting operator, sensor or trigger).
    """

    outcome: Outcome
    message: str
    statuses: dict[str, str | None] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    progress: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.outcome is not Outcome.RUNNING

    def to_event(self) -> dict[str, Any]:
        """The verdict as a JSON-safe dict (a trigger event payload)."""
        return {
            "outcome": self.outcome.value,
            "message": self.message,
            "statuses": dict(self.statuses),
            "warnings": list(self.warnings),
        }


def job_id(kind: JobKind, record: Mapping[str, Any]) -> str:
    """The id under which a record of ``kind`` is tracked (serial numbers and run ids as strings)."""
    return str(record.get(RULES[JobKind(kind)].id_field))


def _warnings_of(rules: JobRules, record: Mapping[str, Any]) -> list[str]:
    text = record.get(rules.message_field)
    if not text:
        return []
    return [part.strip() for part in str(text).split(";") if part.strip()]


def judge(
    kind: JobKind | str,
    ids: Iterable[str],
    records: Mapping[str, Mapping[str, Any]],
    *,
    now: float,
    progress: Mapping[str, list[Any]] | None = None,
    deadline: float | None = None,
    stall_timeout: float | None = None,
    fail_on_warnings: bool = False,
) -> Verdict:
    """Decide what the records of the jobs ``ids`` mean right now.

    :param kind: the job kind.
    :param ids: the serial numbers (imports, exports) or run ids (model runs) waited on.
    :param records: the records the server returned, keyed by id; an id missing here is unknown
        to the server and fails the wait.
    :param now: the current wall-clock time (``time.time()``).
    :param progress: the ``progress`` of the previous verdict, if any.
    :param deadline: wall-clock time after which a job still running fails with a timeout.
    :param stall_timeout: seconds without any change of status or progress counters after which a
        job fails as stalled.
    :param fail_on_warnings: treat success with warnings (import messages, SUCCESS_WITH_ERROR) as failure.
    """
    rules = RULES[JobKind(kind)]
    ids = [str(i) for i in ids]
    previous = dict(progress or {})
    new_progress: dict[str, list[Any]] = {}
    statuses: dict[str, str | None] = {}
    warnings: list[str] = []
    running: list[str] = []
    for ref in ids:
        record = records.get(ref)
        if record is None:
            statuses[ref] = None
            return Verdict(
                Outcome.FAILED,
                f"Xtreme1 does not know the {rules.label} {ref}: no record was returned for it.",
                statuses,
            )
        status = str(record.get("status"))
        statuses[ref] = status
        if status in rules.failed:
            reason = record.get(rules.message_field) or "no reason given"
            return Verdict(Outcome.FAILED, f"Xtreme1 {rules.label} {ref} ended {status}: {reason}", statuses)
        if status in rules.succeeded or status in rules.partial:
            found = _warnings_of(rules, record)
            if status in rules.partial and not found:
                found = [f"{rules.label} {ref} ended {status}"]
            if found and fail_on_warnings:
                return Verdict(
                    Outcome.FAILED,
                    f"Xtreme1 {rules.label} {ref} ended {status} with warnings (fail_on_warnings is set): "
                    + "; ".join(found),
                    statuses,
                )
            warnings.extend(f"{ref}: {w}" for w in found)
            continue
        if status not in rules.running:
            return Verdict(
                Outcome.UNKNOWN,
                f"Xtreme1 {rules.label} {ref} has status {status!r}, which this provider does not know; "
                "failing rather than guessing.",
                statuses,
            )
        fingerprint = [status, *(record.get(f) for f in rules.progress_fields)]
        before = previous.get(ref)
        changed_at = before[1] if before and list(before[0]) == fingerprint else now
        new_progress[ref] = [fingerprint, changed_at]
        running.append(ref)

    if not running:
        return Verdict(
            Outcome.SUCCEEDED, f"Xtreme1 {rules.label} finished: {', '.join(ids)}", statuses, warnings
        )

    if deadline is not None and now >= deadline:
        where = ", ".join(f"{ref} at {statuses[ref]}" for ref in running)
        return Verdict(
            Outcome.TIMED_OUT, f"Xtreme1 {rules.label} did not finish in time: {where}", statuses, warnings
        )
    if stall_timeout is not None:
        for ref in running:
            idle = now - new_progress[ref][1]
            if idle >= stall_timeout:
                return Verdict(
                    Outcome.STALLED,
                    f"Xtreme1 {rules.label} {ref} stalled at {statuses[ref]}: no progress for {idle:.0f} s "
                    f"(stall_timeout={stall_timeout:g} s). The server may have dropped the job; "
                    "check its logs before retrying.",
                    statuses,
                    warnings,
                    new_progress,
                )
    return Verdict(
        Outcome.RUNNING,
        "; ".join(f"{ref}: {statuses[ref]}" for ref in running),
        statuses,
        warnings,
        new_progress,
    )


_ERRORS: dict[Outcome, type[Xtreme1JobError]] = {
    Outcome.FAILED: Xtreme1JobFailedError,
    Outcome.STALLED: Xtreme1JobStalledError,
    Outcome.TIMED_OUT: Xtreme1JobTimeoutError,
    Outcome.UNKNOWN: Xtreme1UnknownStatusError,
}


def raise_for_outcome(outcome: Outcome | str, message: str) -> None:
    """Raise the error that belongs to a finished, unsuccessful outcome; return on success."""
    outcome = Outcome(outcome)
    if outcome is Outcome.SUCCEEDED:
        return
    if outcome is Outcome.RUNNING:
        raise Xtreme1JobError(f"Job still running where a final result was expected: {message}")
    raise _ERRORS[outcome](message)


def validate_event(event: Mapping[str, Any] | None) -> dict[str, Any]:
    """Check a trigger event on resume and raise the matching error unless it reports success.

    The event crossed the triggerer/worker boundary through the metadata database, so it is checked
    rather than trusted: ``None`` or an unknown outcome fails the task.
    """
    if not isinstance(event, Mapping) or "outcome" not in event:
        raise Xtreme1JobError(f"Malformed Xtreme1 trigger event: {event!r}")
    try:
        outcome = Outcome(event["outcome"])
    except ValueError:
        raise Xtreme1JobError(f"Unknown outcome in Xtreme1 trigger event: {event!r}") from None
    if outcome is Outcome.RUNNING:
        raise Xtreme1JobError(f"Xtreme1 trigger fired while the job was still running: {event!r}")
    raise_for_outcome(outcome, str(event.get("message", "")))
    return dict(event)


class JobWatch:
    """The logic of waiting on jobs, driven by a sync loop (operators, sensors) or an async one (triggers).

    The caller fetches the records and sleeps; the watch decides. Each ``observe`` / ``poll_failed``
    returns the final event (a JSON-safe dict) once the wait is over, else ``None``.

    :param kind: the job kind.
    :param ids: the job ids waited on.
    :param end_time: wall-clock deadline (epoch seconds) or ``None``.
    :param stall_timeout: seconds without progress before a job counts as stalled, or ``None``.
    :param fail_on_warnings: treat success with warnings as failure.
    """

    def __init__(
        self,
        kind: JobKind | str,
        ids: Iterable[str],
        *,
        end_time: float | None = None,
        stall_timeout: float | None = None,
        fail_on_warnings: bool = False,
    ):
        self.kind = JobKind(kind)
        self.ids = [str(i) for i in ids]
        self.end_time = end_time
        self.stall_timeout = stall_timeout
        self.fail_on_warnings = fail_on_warnings
        self.progress: dict[str, list[Any]] = {}
        self.last: Verdict | None = None
        self.records: Mapping[str, Mapping[str, Any]] = {}

    def _event(self, verdict: Verdict, records: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
        hidden = RULES[self.kind].secret_fields
        event = verdict.to_event()
        event.update(
            kind=self.kind.value,
            ids=list(self.ids),
            records=[
                {k: v for k, v in records[i].items() if k not in hidden} for i in self.ids if i in records
            ],
        )
        return event

    def observe(self, records: Mapping[str, Mapping[str, Any]], now: float) -> dict[str, Any] | None:
        """Judge freshly fetched records; return the final event, or ``None`` to keep polling."""
        verdict = judge(
            self.kind,
            self.ids,
            records,
            now=now,
            progress=self.progress,
            deadline=self.end_time,
            stall_timeout=self.stall_timeout,
            fail_on_warnings=self.fail_on_warnings,
        )
        self.last = verdict
        self.progress = verdict.progress
        self.records = records
        return self._event(verdict, records) if verdict.done else None

    def poll_failed(self, error: Exception, now: float) -> dict[str, Any] | None:
        """A poll got no answer (after the hook's own retries): keep waiting unless time is up."""
        if self.end_time is not None and now >= self.end_time:
            verdict = Verdict(
                Outcome.TIMED_OUT,
                f"Xtreme1 {RULES[self.kind].label} wait timed out; the last poll failed: {error}",
            )
            return self._event(verdict, {})
        return None

    @property
    def status_line(self) -> str:
        """A short description of where the jobs stand, for the task log (imports: items and bytes too)."""
        if self.last is None:
            return "waiting for the first status"
        if self.kind is JobKind.IMPORT and self.records:
            return import_progress(self.ids, self.records)
        return self.last.message


def import_progress(ids: Iterable[str], records: Mapping[str, Mapping[str, Any]]) -> str:
    """Where imports stand: status, items parsed of those found, bytes downloaded of the archive's size."""
    parts = []
    for serial in ids:
        record = records.get(serial) or {}
        text = f"{serial}: {record.get('status') or 'no record yet'}"
        total, size = record.get("totalDataNum"), record.get("totalFileSize")
        if total:
            text += f", {record.get('parsedDataNum') or 0} of {total} items parsed"
        if size:
            text += f", {_size(record.get('downloadedFileSize') or 0)} of {_size(size)} downloaded"
        parts.append(text)
    return "; ".join(parts)


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB"):
        if n < 1024:
            return f"{n:.0f} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


#: Waiting defaults the job operators and the sensors share (seconds).
DEFAULT_POLL_INTERVAL = 10.0
#: How long a task waits for its job before failing (the job keeps running on the server).
DEFAULT_TIMEOUT = 24 * 3600.0
#: How long a job may show no change of status or progress before it counts as stalled.
DEFAULT_STALL_TIMEOUT = 3600.0


def stall_timeout_of(value: float | None) -> float | None:
    """``None`` is the shared default; ``0`` turns stall detection off (``None`` for :class:`JobWatch`)."""
    if value is None:
        return DEFAULT_STALL_TIMEOUT
    return float(value) or None
