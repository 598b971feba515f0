"""Real Airflow on this machine for the integration tests: components as subprocesses, REST client, clean-up.

Every process is started in a process group of its own, with its output in a log file of the stack's log
folder; :meth:`Processes.stop_all` ends each group (SIGTERM, then SIGKILL) and any straggling child.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TERMINAL_RUN_STATES = {"success", "failed"}


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(
    what: str,
    check: Callable[[], Any],
    *,
    timeout: float,
    interval: float = 0.5,
    on_timeout: Callable[[], str] | None = None,
) -> Any:
    """Call ``check`` until it returns something truthy; after ``timeout`` fail, naming ``what``."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
        except (requests.RequestException, OSError) as err:
            last_error, result = err, None
        if result:
            return result
        time.sleep(interval)
    context = on_timeout() if on_timeout else ""
    raise TimeoutError(
        f"timed out after {timeout:.0f} s waiting for {what} (last error: {last_error})\n{context}"
    )


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Processes:
    """Subprocesses of one test stack, each in its own process group, logging to ``log_dir/<name>.log``."""

    log_dir: Path
    running: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self, name: str, argv: list[str], *, env: Mapping[str, str], cwd: Path | None = None):
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child until stop
        proc = subprocess.Popen(
            argv,
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.running[name] = proc
        return proc

    def check_alive(self) -> None:
        """Fail fast, with the log's tail, when a component died."""
        for name, proc in self.running.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}\n{self.tail(name)}")

    def stop_all(self, timeout: float = 6.0) -> None:
        """Stop every process group this stack started (SIGTERM to all, SIGKILL after ``timeout``)."""
        import psutil

        procs = [self.running.pop(name) for name in reversed(list(self.running))]
        family: list[psutil.Process] = []
        for proc in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                family += psutil.Process(proc.pid).children(recursive=True)
            _signal_group(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(proc.pid, signal.SIGKILL)
                proc.wait(5)
        # Children that moved to a process group of their own (task supervisors, log servers) go too.
        _, alive = psutil.wait_procs(family, timeout=max(0.1, deadline - time.monotonic()))
        for child in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()

    def tail(self, name: str, lines: int = 60) -> str:
        path = self.log_dir / f"{name}.log"
        if not path.exists():
            return f"--- {name}: no log ---"
        text = path.read_text(errors="replace").splitlines()[-lines:]
        return f"--- last {len(text)} lines of {path} ---\n" + "\n".join(text)

    def tails(self, lines: int = 60) -> str:
        return "\n".join(self.tail(p.stem, lines) for p in sorted(self.log_dir.glob("*.log")))


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def start_emulator(procs: Processes, *, token: str, data_dir: Path, step_delay: float = 0.1) -> str:
    """The ``xtreme1-emulator`` console script on a free loopback port; returns its URL."""
    port = free_port()
    procs.start(
        "emulator",
        [
            str(BIN / "xtreme1-emulator"),
            "--port",
            str(port),
            "--token",
            token,
            "--data-dir",
            str(data_dir),
            "--step-delay",
            str(step_delay),
        ],
        env=os.environ,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until(
        "the emulator",
        lambda: procs.check_alive() or requests.get(f"{url}/_emulator/faults", timeout=2).ok,
        timeout=30,
        on_timeout=lambda: procs.tail("emulator"),
    )
    return url


def start_redis(procs: Processes, data_dir: Path) -> str:
    """Debian's ``redis-server`` on a free loopback port, no persistence; returns its URL."""
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    procs.start(
        "redis",
        [
            "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(data_dir),
            "--protected-mode",
            "yes",
        ],
        env=os.environ,
    )
    wait_until(
        "redis-server",
        lambda: procs.check_alive() or port_open(port),
        timeout=20,
        on_timeout=lambda: procs.tail("redis"),
    )
    return f"redis://127.0.0.1:{port}"


class AirflowStack:
    """A throw-away Airflow: fresh AIRFLOW_HOME, SQLite metadata DB, components started as subprocesses.

    :param home: the AIRFLOW_HOME (created).
    :param procs: the process list the components join (stopped by the caller).
    :param executor: ``LocalExecutor`` or ``CeleryExecutor``.
    :param extra_env: more environment for every component (connections, executor settings).
    :param dags_folder: the ``[core] dags_folder`` (the repository's ``dags/``).

    DAGs are paused at creation, as in a default deployment: :meth:`unpause` the one a test runs.
    """

    def __init__(
        self,
        home: Path,
        procs: Processes,
        *,
        executor: str,
        extra_env: Mapping[str, str],
        dags_folder: Path = REPO / "dags",
    ):
        self.home = home
        self.procs = procs
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        home.mkdir(parents=True, exist_ok=True)
        base = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PYTEST"))}
        self.env = base | {
            "PATH": f"{BIN}{os.pathsep}{base.get('PATH', '')}",
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": executor,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__CORE__PARALLELISM": "8",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__SCHEDULER__STANDALONE_DAG_PROCESSOR": "True",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "600",
            "PYTHONUNBUFFERED": "1",
            **extra_env,
        }
        self._token: str | None = None

    # -- processes ------------------------------------------------------------------------------------------

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        """Run ``airflow <args>`` with the stack's environment; fail with its output when it fails."""
        result = subprocess.run(
            [str(BIN / "airflow"), *args],
            env=self.env,
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode:
            raise RuntimeError(
                f"airflow {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result

    def start(self, name: str, *args: str, env: Mapping[str, str] | None = None, cwd: Path | None = None):
        """Start ``airflow <args>`` as component ``name``."""
        return self.procs.start(
            name, [str(BIN / "airflow"), *args], env=self.env | dict(env or {}), cwd=cwd or self.home
        )

    def start_core(self) -> None:
        """Migrate the DB, then start the API server, scheduler, DAG processor and triggerer."""
        self.cli("db", "migrate", timeout=300)
        self.start("api-server", "api-server", "--port", str(self.port), "--workers", "1")
        self.start("scheduler", "scheduler")
        self.start("dag-processor", "dag-processor")
        self.start("triggerer", "triggerer")
        wait_until("the API server", self._healthy, timeout=120, on_timeout=self.procs.tails)

    def _healthy(self) -> bool:
        self.procs.check_alive()
        return requests.get(f"{self.url}/api/v2/monitor/health", timeout=5).ok

    # -- REST API -------------------------------------------------------------------------------------------

    @property
    def token(self) -> str:
        """A JWT for the public API: all-admins mode hands one out with no credentials (GET /auth/token)."""
        if self._token is None:
            response = requests.get(f"{self.url}/auth/token", timeout=10)
            response.raise_for_status()
            self._token = response.json()["access_token"]
        return self._token

    def request(self, method: str, path: str, *, expect: Iterable[int] = (200,), **kwargs: Any) -> Any:
        """Call the API server (``path`` starts with ``/api/v2`` or ``/ui``); the decoded JSON body."""
        response = requests.request(
            method,
            f"{self.url}{path}",
            timeout=30,
            headers={"Authorization": f"Bearer {self.token}"},
            **kwargs,
        )
        if response.status_code not in set(expect):
            raise AssertionError(f"{method} {path} -> {response.status_code}: {response.text[:2000]}")
        return response.json() if response.content else None

    def wait_for_dag(self, dag_id: str, timeout: float = 120) -> dict:
        """Wait until the DAG processor has parsed and serialized ``dag_id`` (import errors fail at once)."""

        def parsed() -> dict | None:
            self.procs.check_alive()
            errors = self.request("GET", "/api/v2/importErrors")["import_errors"]
            assert not errors, f"DAG import errors: {json.dumps(errors, indent=1)[:4000]}"
            response = requests.get(
                f"{self.url}/api/v2/dags/{dag_id}",
                timeout=10,
                headers={"Authorization": f"Bearer {self.token}"},
            )
            return response.json() if response.ok else None

        return wait_until(
            f"DAG {dag_id} to be parsed", parsed, timeout=timeout, interval=1, on_timeout=self.procs.tails
        )

    def unpause(self, dag_id: str) -> None:
        self.request("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, conf: Mapping[str, Any], logical_date: str | None = None) -> str:
        """Trigger a run through ``POST /api/v2/dags/{dag_id}/dagRuns``; its run id.

        Without ``logical_date`` the run has none, as when a user presses *Trigger* in Airflow 3.
        """
        body = {"logical_date": logical_date, "conf": dict(conf)}
        return self.request("POST", f"/api/v2/dags/{dag_id}/dagRuns", json=body)["dag_run_id"]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances"
        return self.request("GET", path)["task_instances"]

    def wait_for_run(
        self,
        dag_id: str,
        run_id: str,
        *,
        timeout: float,
        on_poll: Callable[[list[dict]], None] | None = None,
        fail_fast: bool = True,
    ) -> str:
        """Poll the run until it ends; ``on_poll`` sees the task instances each time. Returns the state.

        With ``fail_fast`` the first failed try ends the wait with the task's log.
        """

        def finished() -> str | None:
            self.procs.check_alive()
            tis = self.task_instances(dag_id, run_id)
            if on_poll is not None:
                on_poll(tis)
            if fail_fast and any(ti["state"] in ("failed", "up_for_retry") for ti in tis):
                # Tasks retry after minutes: report the first failure instead of waiting for the run.
                raise AssertionError(f"a task of {run_id} failed:\n{self.describe_run(dag_id, run_id)}")
            state = self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")["state"]
            return state if state in TERMINAL_RUN_STATES else None

        return wait_until(
            f"run {run_id} of {dag_id}",
            finished,
            timeout=timeout,
            interval=0.5,
            on_timeout=lambda: self.describe_run(dag_id, run_id) + "\n" + self.procs.tails(),
        )

    def xcoms(self, dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
        """All XComs of a task instance, as the API server returns them (stringified where not JSON)."""
        base = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries"
        entries = self.request("GET", base)["xcom_entries"]
        return {e["key"]: self.request("GET", f"{base}/{e['key']}")["value"] for e in entries}

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> str:
        """A task's log as the API server serves it (one line per record)."""
        return self._log(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}")

    def _records(self, path: str) -> list:
        response = requests.get(
            f"{self.url}{path}",
            params={"full_content": "true"},
            timeout=30,
            headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json"},
        )
        response.raise_for_status()
        content = response.json()["content"]
        return content if isinstance(content, list) else [content]

    def _log(self, path: str) -> str:
        """Every log record in full (JSON per line), for searching."""
        return "\n".join(r if isinstance(r, str) else json.dumps(r) for r in self._records(path))

    def describe_run(self, dag_id: str, run_id: str) -> str:
        """Task states and the tail of every failed task's log, for failure messages."""
        lines = []
        try:
            for ti in self.task_instances(dag_id, run_id):
                lines.append(
                    f"{ti['task_id']}: {ti['state']} (try {ti['try_number']}, host {ti.get('hostname')})"
                )
                if ti["state"] in ("failed", "upstream_failed", "up_for_retry") and ti["try_number"]:
                    records = self._records(
                        f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/"
                        f"{ti['task_id']}/logs/{ti['try_number']}"
                    )
                    lines += [f"    {_summary(r)}" for r in records[-25:]]
        except Exception as err:
            lines.append(f"(could not describe the run: {err})")
        return "\n".join(lines)


def keep_logs(log_dir: Path, name: str) -> Path | None:
    """Copy a stack's log folder to ``test-artifacts/<name>-logs`` (for CI artefacts); the copy's path."""
    target = REPO / "test-artifacts" / f"{name}-logs"
    try:
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(log_dir, target)
    except OSError:
        return None
    return target


def _summary(record: Any) -> str:
    """One readable line of a structured task-log record: time, level, message and any exception."""
    if not isinstance(record, dict):
        return str(record)
    line = f"{record.get('timestamp', '')[11:19]} {record.get('level', '')} {record.get('event', '')}"
    for error in record.get("error_detail") or []:
        line += f" | {error.get('exc_type')}: {error.get('exc_value')}"
    return line
