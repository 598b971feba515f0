"""Helpers of the operator tests: ingesting a folder through the hook, running a task without a DAG run."""

from __future__ import annotations

from typing import Any


class StubTaskInstance:
    """The part of a TaskInstance the Xtreme1 operators use, for running ``execute`` without a DAG run."""

    try_number = 1

    def __init__(self) -> None:
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value

    def xcom_pull(self, task_ids: str | None = None, key: str | None = None) -> Any:
        return self.xcom.get(key)


def run_task(operator: Any) -> tuple[Any, StubTaskInstance]:
    """``operator.execute`` with a minimal context; returns its result and the stub TI (pushed XComs)."""
    ti = StubTaskInstance()
    return operator.execute({"ti": ti}), ti


def request_paths(emu: Any, method: str, path: str) -> list[dict[str, Any]]:
    """The API requests the emulator received for ``method path`` (path below ``/api``)."""
    return [r for r in emu.request_log if r["method"] == method and r["path"] == "/api" + path]
