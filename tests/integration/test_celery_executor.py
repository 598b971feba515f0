"""Scale beyond one machine: the end-to-end DAG on the CeleryExecutor, two workers sharing no scratch disk.

The stack: Debian's ``redis-server`` on loopback as broker, the metadata DB (SQLite) as Celery result
backend, the usual API server, scheduler, DAG processor and triggerer, and two ``airflow celery worker``
processes. Each worker has its own working directory and ``TMPDIR`` and — through a private mount
namespace (``unshare``) — its own empty ``/tmp``, so a file one task leaves in ``/tmp`` or its cwd is not
there for a task on the other worker. A cluster policy (``celery_local_settings.py``) routes consecutive
tasks to alternate workers, and ``hostname_callable`` reports which worker ran each task.

Shared between the workers, as on real clusters: the DAGs, the metadata (through the API server), the
Xtreme1 server, and one "shared storage" folder for the input dataset and the outputs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from airflow_stack import REPO, start_redis, wait_until
from conftest import DAGS_FOLDER, require, require_module, require_program, run_dag, start_stack, stop_stack

pytestmark = pytest.mark.integration

WORKERS = {"worker-a": "xtreme1_a", "worker-b": "xtreme1_b"}
# Consecutive tasks alternate between the workers (ingest DAG tasks too, for the control test).
ROUTES = {
    "ensure_dataset": "xtreme1_a",
    "upload": "xtreme1_b",
    "run_model": "xtreme1_a",
    "export": "xtreme1_b",
    "predictions": "xtreme1_a",
    "pack": "xtreme1_a",
    "get_upload_url": "xtreme1_b",
    "put_archive": "xtreme1_b",
    "import_dataset": "xtreme1_a",
    "wait_for_import": "xtreme1_b",
}
WORKER_OF_QUEUE = {queue: worker for worker, queue in WORKERS.items()}
# Runs inside `unshare --mount`: an empty tmpfs on /tmp, with the paths in XTREME1_KEEP_PATHS (the repository
# and its venv, when they live under /tmp) bound back in from the real /tmp.
PRIVATE_TMP = """set -e
if [ -n "$XTREME1_KEEP_PATHS" ]; then mount --bind /tmp /mnt; fi
mount -t tmpfs -o size=256m xtreme1-worker-tmp /tmp
IFS=:
for p in $XTREME1_KEEP_PATHS; do mkdir -p "$p"; mount --bind "/mnt${p#/tmp}" "$p"; done
unset IFS
if [ -n "$XTREME1_KEEP_PATHS" ]; then umount -l /mnt; fi
exec "$@"
"""


def paths_to_keep() -> str:
    """What the workers need from under /tmp: the code, the venv, the DAGs."""
    needed = {REPO, Path(sys.prefix), Path(sys.executable).parent, DAGS_FOLDER}
    under_tmp = {p.resolve() for p in needed if p.resolve().is_relative_to("/tmp")}
    # Keep the outermost ones only (a bind of a parent already brings its children).
    return ":".join(
        sorted(str(p) for p in under_tmp if not any(p.is_relative_to(q) and p != q for q in under_tmp))
    )


def private_tmp_available() -> bool:
    """Whether this machine lets us give a process its own ``/tmp`` (root and mount namespaces)."""
    if shutil.which("unshare") is None or os.geteuid() != 0:
        return False
    probe = ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", PRIVATE_TMP, "sh", "true"]
    return subprocess.run(probe, capture_output=True, timeout=10).returncode == 0


@pytest.fixture(scope="module")
def celery():
    require_module("airflow.providers.celery")
    require_program("redis-server")
    require(private_tmp_available(), "a private /tmp per worker (root and `unshare --mount`)")
    # Not under /tmp: the workers see their own empty /tmp.
    base = Path(tempfile.mkdtemp(prefix="xtreme1-celery-", dir="/var/tmp"))

    def configure(stack) -> None:
        redis = start_redis(stack.procs, base / "redis")
        stack.airflow.env |= {
            "AIRFLOW__CELERY__BROKER_URL": f"{redis}/0",
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+sqlite:///{stack.airflow.home}/airflow.db",
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "airflow_local_settings.worker_hostname",
            "XTREME1_TEST_QUEUE_ROUTES": json.dumps(ROUTES),
        }
        config = stack.airflow.home / "config"
        config.mkdir(parents=True, exist_ok=True)
        local_settings = Path(__file__).with_name("celery_local_settings.py")
        shutil.copy(local_settings, config / "airflow_local_settings.py")

    stack = None
    try:
        stack = start_stack("celery-executor", base, executor="CeleryExecutor", before_start=configure)
        for worker, queue in WORKERS.items():
            start_worker(stack, worker, queue)
        yield stack
    finally:
        if stack is not None:
            stop_stack(stack)
        shutil.rmtree(base, ignore_errors=True)


def start_worker(stack, worker: str, queue: str) -> None:
    """``airflow celery worker`` with its own cwd, TMPDIR and /tmp, serving one queue."""
    home = stack.base / worker
    (home / "tmp").mkdir(parents=True)
    (home / "cwd").mkdir()
    airflow = stack.airflow
    argv = [
        "unshare", "--mount", "--propagation", "private", "--", "sh", "-c", PRIVATE_TMP, "sh",
        "airflow", "celery", "worker", "--concurrency", "2", "--queues", queue,
        "--celery-hostname", f"{worker}@%h", "--skip-serve-logs", "--pid", str(home / "worker.pid"),
        "--without-mingle", "--without-gossip",
    ]  # fmt: skip
    env = airflow.env | {
        "TMPDIR": str(home / "tmp"),
        "XTREME1_TEST_WORKER": worker,
        "XTREME1_KEEP_PATHS": paths_to_keep(),
    }
    stack.procs.start(worker, argv, env=env, cwd=home / "cwd")
    log = stack.procs.log_dir / f"{worker}.log"
    wait_until(
        f"Celery {worker}",
        lambda: stack.procs.check_alive() or (log.exists() and " ready." in log.read_text(errors="replace")),
        timeout=90,
        on_timeout=lambda: stack.procs.tail(worker),
    )


def test_end_to_end_dag_on_two_celery_workers(celery):
    shared = celery.base / "shared"
    conf = {
        "source_folder": str(celery.sample_dataset("shared/sample")),
        "dataset_name": "celery-e2e",
        "output_dir": str(shared / "output"),
    }
    run = run_dag(celery, "xtreme1_end_to_end", conf)
    assert run["state"] == "success"

    tis = {ti["task_id"]: ti for ti in celery.airflow.task_instances("xtreme1_end_to_end", run["run_id"])}
    for task_id, ti in tis.items():
        assert ti["state"] == "success", task_id
        assert ti["try_number"] == 1, f"{task_id} needed a retry"
        assert ti["queue"] == ROUTES[task_id]
        # The worker that serves the queue ran the task — also after a deferral, when it resumed.
        assert ti["hostname"] == WORKER_OF_QUEUE[ti["queue"]], (task_id, ti["hostname"])
    assert {ti["hostname"] for ti in tis.values()} == set(WORKERS)
    deferred = {t for t, s in run["seen"] if s == "deferred"}
    assert deferred & {"upload", "run_model", "export"}, f"nothing seen deferred: {sorted(run['seen'])}"

    xcoms = {t: celery.airflow.xcoms("xtreme1_end_to_end", run["run_id"], t) for t in tis}
    # Written on worker-b (export) and worker-a (predictions), read here: the outputs live in shared storage.
    for path in (xcoms["export"]["return_value"]["uri"], xcoms["predictions"]["return_value"]["uri"]):
        assert Path(path).is_relative_to(shared) and Path(path).stat().st_size > 0, path


def test_a_dag_that_passes_local_files_between_tasks_fails_here(celery):
    """Control: the ingest DAG hands ``pack``'s zip (in /tmp) to ``put_archive`` on the other worker.

    It must fail on this set-up — proof that the set-up catches tasks that rely on another task's disk,
    and so that the end-to-end DAG's success above means something.
    """
    airflow = celery.airflow
    dag_id = "xtreme1_ingest"
    sample = celery.sample_dataset("shared/ingest-sample")
    conf = {"source_folder": str(sample), "dataset_name": "celery-ingest"}
    airflow.wait_for_dag(dag_id)
    airflow.unpause(dag_id)
    run_id = airflow.trigger(dag_id, conf)

    def put_archive_done() -> dict | None:
        celery.procs.check_alive()
        tis = {ti["task_id"]: ti for ti in airflow.task_instances(dag_id, run_id)}
        done = tis["put_archive"]["state"] in ("success", "failed", "up_for_retry", "upstream_failed")
        return tis if done else None

    tis = wait_until("put_archive of the ingest DAG", put_archive_done, timeout=180,
                     on_timeout=lambda: airflow.describe_run(dag_id, run_id))  # fmt: skip
    assert tis["pack"]["state"] == "success" and tis["pack"]["hostname"] == "worker-a"
    put = tis["put_archive"]
    assert put["hostname"] == "worker-b"
    assert put["state"] in ("failed", "up_for_retry"), airflow.describe_run(dag_id, run_id)
    zip_path = airflow.xcoms(dag_id, run_id, "pack")["return_value"]["path"]
    assert zip_path.startswith("/tmp/")
    log = airflow.task_log(dag_id, run_id, "put_archive")
    assert f"{zip_path} does not exist" in log, airflow.describe_run(dag_id, run_id)
