"""Fixtures of the integration tests: real Airflow components, the emulator and Redis as subprocesses.

Each stack is module-scoped (started once for the tests of one module, stopped after them, even on
failure). When a test fails, the tails of the components' logs are attached to its report; the whole
log folder of every stack is copied to ``test-artifacts/<stack>-logs`` when it stops.

System dependencies (Debian's ``chromium`` and ``redis-server``, the ``playwright`` and Celery
packages) are installed by ``scripts/ensure-system-deps.sh`` and the ``test`` extra. A test that needs a
missing one is skipped with the reason, except in CI (``CI=true``), where it fails.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from airflow_stack import REPO, AirflowStack, Processes, keep_logs, start_emulator
from xtreme1_testing import TEST_TOKEN, connection_uri

from airflow_provider_xtreme1.sample_data import make_sample_dataset

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"
# The integration tests run the repository's dags/ unless told otherwise (e.g. a patched copy).
DAGS_FOLDER = Path(os.environ.get("XTREME1_IT_DAGS_FOLDER") or REPO / "dags")

_live_stacks: dict[str, Processes] = {}


def require(available: bool, what: str) -> None:
    """Skip the test when ``what`` is missing — or fail it in CI, where everything must be installed."""
    if available:
        return
    message = f"{what} is missing: run scripts/ensure-system-deps.sh (as root) and `pip install -e .[test]`"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI: {message}", pytrace=False)
    pytest.skip(message)


def require_module(name: str) -> None:
    require(importlib.util.find_spec(name) is not None, f"the Python package providing {name!r}")


def require_program(path_or_name: str) -> None:
    found = Path(path_or_name).exists() if os.sep in path_or_name else shutil.which(path_or_name)
    require(bool(found), f"the program {path_or_name}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Attach the components' log tails to the report of a failed test."""
    report = yield
    setattr(item, f"rep_{report.when}", report)  # lets fixtures see whether the test failed
    if report.failed and _live_stacks:
        for name, procs in _live_stacks.items():
            report.sections.append((f"{name}: component logs (tails)", procs.tails(40)))
    return report


class Stack:
    """What a started stack offers the tests: Airflow, the emulator and a scratch folder."""

    def __init__(self, name: str, base: Path, procs: Processes):
        self.name = name
        self.base = base
        self.procs = procs
        self.airflow: AirflowStack
        self.emulator_url: str

    def sample_dataset(self, name: str = "sample") -> Path:
        """A small LIDAR_FUSION folder (2 frames + 1 scene of 2, one camera, ground truth)."""
        return make_sample_dataset(self.base / name, "LIDAR_FUSION", items=2, scenes=1, cameras=1)


def start_stack(
    name: str, base: Path, *, executor: str, extra_env: dict[str, str] | None = None, before_start: Any = None
) -> Stack:
    """Emulator + migrated SQLite DB + API server, scheduler, DAG processor and triggerer."""
    (base / "logs").mkdir(parents=True, exist_ok=True)
    procs = Processes(base / "logs")
    stack = Stack(name, base, procs)
    _live_stacks[name] = procs
    emulator_url = start_emulator(procs, token=TEST_TOKEN, data_dir=base / "emulator", step_delay=0.1)
    stack.emulator_url = emulator_url
    stack.airflow = AirflowStack(
        base / "airflow-home",
        procs,
        executor=executor,
        dags_folder=DAGS_FOLDER,
        extra_env={
            "AIRFLOW_CONN_XTREME1_DEFAULT": connection_uri(emulator_url),
            # Every Xtreme1 wait defers to the triggerer, whatever the DAG says by default.
            "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "True",
            **(extra_env or {}),
        },
    )
    if before_start is not None:
        before_start(stack)
    stack.airflow.start_core()
    return stack


def stop_stack(stack: Stack) -> None:
    try:
        stack.procs.stop_all()
    finally:
        _live_stacks.pop(stack.name, None)
        keep_logs(stack.procs.log_dir, stack.name)


def run_dag(stack: Stack, dag_id: str, conf: dict[str, Any], *, timeout: float = 240) -> dict[str, Any]:
    """Unpause, trigger (no logical date, like Airflow 3's *Trigger* button) and wait for ``dag_id``.

    Returns ``run_id``, ``state``, ``seconds`` and ``seen`` (every ``(task_id, state)`` observed while
    polling every 0.5 s).
    """
    airflow = stack.airflow
    airflow.wait_for_dag(dag_id)
    airflow.unpause(dag_id)
    started = time.monotonic()
    run_id = airflow.trigger(dag_id, conf)
    seen: set[tuple[str, str]] = set()

    def record(tis: list[dict]) -> None:
        seen.update((ti["task_id"], ti["state"]) for ti in tis if ti["state"])

    state = airflow.wait_for_run(dag_id, run_id, timeout=timeout, on_poll=record)
    return {"run_id": run_id, "state": state, "seconds": time.monotonic() - started, "seen": seen}
