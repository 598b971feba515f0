"""The sharded ingest on the CeleryExecutor, two workers, one of them killed in the middle of a PUT.

The stack is the one of ``test_celery_executor.py`` (Redis broker, two ``airflow celery worker`` processes
with private ``/tmp``, a cluster policy that routes tasks to queues, ``hostname_callable`` naming the
worker). Here the policy routes the mapped shard tasks by map index: shards 0 and 2 to worker-a, shard 1 to
worker-b. The emulator reads shard 1's PUT slowly (a ``throttle`` fault), and once its storage has
received part of that body, every process of worker-b gets SIGKILL — a node lost mid-PUT. A new
worker-b comes up (as a restarted pod would); the scheduler finds the task without heartbeat, retries it,
and only that shard is sent again.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import tempfile
from pathlib import Path

import pytest
import requests
from airflow_stack import start_redis, wait_until
from conftest import require, require_module, require_program, start_stack, stop_stack
from test_celery_executor import private_tmp_available, start_worker

from airflow_provider_xtreme1.archives.shards import plan_shards
from airflow_provider_xtreme1.sample_data import make_sample_dataset

pytestmark = pytest.mark.integration

DAG_ID = "xtreme1_sharded_ingest"
QUEUES = ["xtreme1_a", "xtreme1_b"]
ROUTES = {
    "ensure_dataset": "xtreme1_a",
    "plan_shards": "xtreme1_b",
    "shard.put_shard": QUEUES,  # by map index: 0 → a, 1 → b, 2 → a
    "shard.import_shard": QUEUES,
    "reconcile_ingest": "xtreme1_b",
}
WORKER_OF = {"xtreme1_a": "worker-a", "xtreme1_b": "worker-b"}
SHARD_BYTES = 26 * 1024 * 1024
# 8 MB binary PCDs: a shard of three frames (24 MB) is far more than the socket buffers hold, so the
# killed worker is still sending when it dies.
FRAME_POINTS = 500_000
KILLED = 1


@pytest.fixture(scope="module")
def celery_shards():
    require_module("airflow.providers.celery")
    require_program("redis-server")
    require(private_tmp_available(), "a private /tmp per worker (root and `unshare --mount`)")
    base = Path(tempfile.mkdtemp(prefix="xtreme1-celery-shards-", dir="/var/tmp"))

    def configure(stack) -> None:
        redis = start_redis(stack.procs, base / "redis")
        stack.airflow.env |= {
            "AIRFLOW__CELERY__BROKER_URL": f"{redis}/0",
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+sqlite:///{stack.airflow.home}/airflow.db",
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "airflow_local_settings.worker_hostname",
            "XTREME1_TEST_QUEUE_ROUTES": json.dumps(ROUTES),
            # A worker that vanished is noticed after 20 s without a heartbeat (default 300 s).
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "3",
        }
        config = stack.airflow.home / "config"
        config.mkdir(parents=True, exist_ok=True)
        local_settings = Path(__file__).with_name("celery_local_settings.py")
        shutil.copy(local_settings, config / "airflow_local_settings.py")

    stack = None
    try:
        stack = start_stack("celery-shards", base, executor="CeleryExecutor", before_start=configure)
        for queue in QUEUES:
            start_worker(stack, WORKER_OF[queue], queue)
        yield stack
    finally:
        if stack is not None:
            stop_stack(stack)
        shutil.rmtree(base, ignore_errors=True)


def big_sample(folder: Path) -> Path:
    """The sample LIDAR_FUSION folder (3 frames + 2 scenes of 3, one camera, ground truth) with its point
    clouds made 8 MB binary PCDs, so the root frames and each scene are a shard of about 24 MB."""
    make_sample_dataset(folder, "LIDAR_FUSION", items=3, scenes=2, cameras=1)
    header = (
        "# .PCD v0.7\nVERSION .7\nFIELDS x y z intensity\nSIZE 4 4 4 4\nTYPE F F F F\nCOUNT 1 1 1 1\n"
        f"WIDTH {FRAME_POINTS}\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS {FRAME_POINTS}\nDATA binary\n"
    ).encode()
    body = os.urandom(FRAME_POINTS * 16)
    for pcd in folder.rglob("*.pcd"):
        pcd.write_bytes(header + body)
    return folder


def kill_tree(pid: int) -> None:
    """SIGKILL a process and all its descendants (the Celery worker, its pool, task supervisors)."""
    import psutil

    family = [psutil.Process(pid)]
    family += family[0].children(recursive=True)
    for proc in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.send_signal(signal.SIGKILL)
    psutil.wait_procs(family, timeout=10)


def emulator(stack, path: str, method: str = "GET", payload=None):
    response = requests.request(method, f"{stack.emulator_url}/_emulator/{path}", json=payload, timeout=10)
    response.raise_for_status()
    return response.json()


def test_sharded_ingest_survives_a_worker_killed_mid_put(celery_shards):
    stack, airflow = celery_shards, celery_shards.airflow
    folder = big_sample(stack.base / "shared" / "drive")
    plan = plan_shards(folder, "LIDAR_FUSION", SHARD_BYTES, with_results=True)
    assert [s.describe()["first"] for s in plan.shards] == ["000001", "scene_01", "scene_02"]
    killed_name = f"-shard-{KILLED + 1:04d}-of-0003.zip"
    # Shard 1's PUT is read over 15 s, once: long enough to act while it is under way; its retry is not.
    fault = {"path": f"^/minio/.*{killed_name}$", "method": "PUT", "kind": "throttle", "delay": 15}
    emulator(stack, "faults", "POST", fault)

    airflow.wait_for_dag(DAG_ID)
    airflow.unpause(DAG_ID)
    conf = {"source_folder": str(folder), "dataset_name": "celery-shards", "dataset_type": "LIDAR_FUSION",
            "max_shard_bytes": SHARD_BYTES, "result_type": "GROUND_TRUTH"}  # fmt: skip
    run_id = airflow.trigger(DAG_ID, conf)

    def killed_put_under_way() -> dict | None:
        stack.procs.check_alive()
        puts = emulator(stack, "stats")["putsInFlight"]
        return next((p for p in puts if p["key"].endswith(killed_name) and p["bytes"] > 0), None)

    put = wait_until("shard 1's PUT to be under way", killed_put_under_way, timeout=180, interval=0.2,
                     on_timeout=lambda: airflow.describe_run(DAG_ID, run_id))  # fmt: skip
    assert put["bytes"] < put["length"]
    tis = {(t["task_id"], t["map_index"]): t for t in airflow.task_instances(DAG_ID, run_id)}
    assert tis[("shard.put_shard", KILLED)]["state"] == "running"
    assert tis[("shard.put_shard", KILLED)]["hostname"] == "worker-b"

    worker = stack.procs.running.pop("worker-b")
    kill_tree(worker.pid)
    log = stack.procs.log_dir / "worker-b.log"
    log.rename(log.with_name("worker-b-killed.log"))
    shutil.rmtree(stack.base / "worker-b")
    start_worker(stack, "worker-b", "xtreme1_b")  # the node comes back, empty

    state = airflow.wait_for_run(DAG_ID, run_id, timeout=240, fail_fast=False)
    assert state == "success", airflow.describe_run(DAG_ID, run_id)

    tis = airflow.task_instances(DAG_ID, run_id)
    shard_tis = {(t["task_id"], t["map_index"]): t for t in tis if t["task_id"].startswith("shard.")}
    assert len(shard_tis) == 6
    for (task_id, index), ti in shard_tis.items():
        assert ti["state"] == "success", (task_id, index)
        assert ti["hostname"] == WORKER_OF[QUEUES[index % 2]], (task_id, index, ti["hostname"])
        retried = task_id == "shard.put_shard" and index == KILLED
        assert ti["try_number"] == (2 if retried else 1), (task_id, index)
    assert {t["hostname"] for t in shard_tis.values()} == {"worker-a", "worker-b"}

    # What the emulator's storage received: every shard once, shard 1 once more (cut short the first time).
    sizes = {s.index: s.size for s in plan.shards}
    puts = [e for e in emulator(stack, "storage-log") if e["method"] == "PUT"]
    by_shard: dict[int, list[tuple[int | None, int]]] = {}
    for entry in puts:
        index = next(i for i in sizes if entry["path"].endswith(f"-shard-{i + 1:04d}-of-0003.zip"))
        by_shard.setdefault(index, []).append((entry["status"], entry["bytes"]))
    for index, size in sizes.items():
        complete = [b for status, b in by_shard[index] if status == 200]
        assert complete == [size], (index, by_shard[index])
    cut = [(s, b) for s, b in by_shard[KILLED] if s != 200]
    assert len(by_shard[KILLED]) == 2 and len(cut) == 1 and cut[0][1] < sizes[KILLED], by_shard
    assert all(len(by_shard[i]) == 1 for i in sizes if i != KILLED), by_shard
    # One import per shard, none twice.
    imports = [e for e in requests.get(f"{stack.emulator_url}/_emulator/request-log", timeout=10).json()
               if e["method"] == "POST" and e["path"] == "/api/data/upload"]  # fmt: skip
    assert len(imports) == 3

    result = airflow.xcoms(DAG_ID, run_id, "reconcile_ingest")["return_value"]
    assert result["ok"] is True, result
    assert result["items_missing"] == 0 and result["items_stored"] == result["items_sent"] == 9, result
    assert [s["shard"] for s in result["shards"]] == [0, 1, 2]


def test_imports_in_flight_stay_at_two_while_puts_run_ahead(celery_shards):
    """The real scheduler holds deferred imports against ``max_active_tis_per_dagrun=2``; PUTs do not wait."""
    stack, airflow = celery_shards, celery_shards.airflow
    shared = stack.base / "shared" / "frames"
    folder = make_sample_dataset(shared, "LIDAR_FUSION", items=6, scenes=0, cameras=1)
    whole = plan_shards(folder, "LIDAR_FUSION", "1GB").shards[0].size
    limit = whole // 4  # a frame is far smaller: several frames a shard, at least four shards
    count = len(plan_shards(folder, "LIDAR_FUSION", limit).shards)
    assert count >= 4

    airflow.wait_for_dag(DAG_ID)
    airflow.unpause(DAG_ID)
    conf = {"source_folder": str(folder), "dataset_name": "celery-shards-in-flight",
            "dataset_type": "LIDAR_FUSION", "max_shard_bytes": limit, "result_type": None}  # fmt: skip
    run_id = airflow.trigger(DAG_ID, conf)
    seen = {"in_flight": 0, "ahead": 0}

    def watch(tis: list[dict]) -> None:
        state = {(t["task_id"], t["map_index"]): t["state"] for t in tis}
        active = ("queued", "running", "deferred")
        in_flight = sum(1 for (task, _), s in state.items() if task == "shard.import_shard" and s in active)
        ahead = sum(  # shards whose PUT is done and whose import waits for a slot
            1
            for (task, index), s in state.items()
            if task == "shard.put_shard" and s == "success"
            and state.get(("shard.import_shard", index)) in (None, "scheduled")
        )  # fmt: skip
        seen["in_flight"] = max(seen["in_flight"], in_flight)
        seen["ahead"] = max(seen["ahead"], ahead)

    state = airflow.wait_for_run(DAG_ID, run_id, timeout=300, on_poll=watch)
    assert state == "success", airflow.describe_run(DAG_ID, run_id)
    # Each import waits at least one 10 s poll in the triggerer, so without the limit all would overlap.
    assert seen["in_flight"] == 2, seen
    assert seen["ahead"] >= 1, seen
    result = airflow.xcoms(DAG_ID, run_id, "reconcile_ingest")["return_value"]
    assert result["ok"] is True and result["items_stored"] == 6 and len(result["shards"]) == count, result
