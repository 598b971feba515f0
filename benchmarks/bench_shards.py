"""Benchmark 11: a large LiDAR ingest as one archive vs as shards on two worker processes.

The dataset is a LIDAR_BASIC folder of big binary PCDs (root-level frames and ``scene_*`` folders; the
bodies are cheap random bytes that the PCD checks accept), ≥ 8 GiB in the full run. Everything talks HTTP
to the emulator in its own process (``benchmarks.emulator_proc``), whose scratch-disk meter gives the
server's peak temp disk. Each mode runs the functions its operators call, in processes of their own:

* **one archive** — one worker: ``plan_zip`` (validation) → ``request_upload_url`` → ``put_archive``
  (the zip streamed into the PUT) → ``start_import`` → wait for the record.
* **shards** — a coordinator (the plan task, then the scheduler and triggerer): ``plan_shards`` →
  descriptors on a queue; two worker processes take them in turn: ``open_shard`` →
  ``request_upload_url`` → ``put_archive``; the coordinator starts each uploaded shard's import with at
  most two in flight (the server works on two; ``max_active_tis_per_dagrun=2`` counts the waiting ones)
  and waits, while the PUTs run ahead.
* **shards, one worker killed** — as above, but one worker gets SIGKILL once the emulator has received
  half of the PUT it is sending; a fresh worker re-runs that shard (Airflow's retry) and then joins in.

Figures: wall time from the first validation to the last import finished (``PARSE_COMPLETED``), bytes the
emulator's storage received (from its storage log: re-sent = received - data), peak scratch disk, items
stored. Ratios are against the one-archive run of the same invocation; nothing is asserted on time.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import shutil
import signal
import time
from pathlib import Path
from typing import Any

from benchmarks.common import EMULATOR_TOKEN, MiB, bench_env, emulator, fmt, table, verdict

GiB = 1024 * MiB
PCD_HEADER = (
    "# .PCD v0.7 - Point Cloud Data file format\nVERSION .7\nFIELDS x y z intensity\nSIZE 4 4 4 4\n"
    "TYPE F F F F\nCOUNT 1 1 1 1\nWIDTH {n}\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS {n}\nDATA binary\n"
)
DATASET_TYPE = "LIDAR_BASIC"
WORKERS = 2
IMPORTS_IN_FLIGHT = 2
POLL = 0.25
#: The second set of runs reads every storage PUT at most this fast, each connection on its own: a
#: 1 Gbit/s link per worker (payload after TCP/IP overhead), where loopback has no network at all.
LINK_MBPS = 117.0


# ------------------------------------------------------------------------------------------- the data


def make_lidar_folder(root: Path, total: int, frame: int, scenes: int) -> tuple[Path, int, int]:
    """Write about ``total`` bytes of ``frame``-sized binary PCDs: half as root-level frames, half spread
    over ``scenes`` scene folders. Returns ``(folder, frames, bytes)``."""
    folder = root / "lidar_big"
    frames = max(total // frame, 2 * scenes)
    points = (frame - 200) // 16
    body = os.urandom(points * 16)  # one random body, written again for every frame: cheap, real bytes
    layout: list[Path] = []
    root_frames = frames // 2
    layout += [folder / "lidar_point_cloud_0"] * root_frames
    per_scene = -(-(frames - root_frames) // scenes)
    for k in range(frames - root_frames):
        layout.append(folder / f"scene_{k // per_scene + 1:03d}" / "lidar_point_cloud_0")
    written = 0
    for i, parent in enumerate(layout):
        parent.mkdir(parents=True, exist_ok=True)
        with open(parent / f"{i:06d}.pcd", "wb") as fh:
            fh.write(PCD_HEADER.format(n=points).encode())
            fh.write(body)
            written += fh.tell()
    return folder, frames, written


# ---------------------------------------------------------------------------------- child processes


def _child_setup(env: dict[str, str]) -> Any:
    os.environ.update(env)
    import logging

    logging.basicConfig(level=logging.WARNING)
    from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1Hook

    return Xtreme1Hook("xtreme1_default")


def _wait_imports(hook: Any, serials: list[str]) -> list[dict[str, Any]]:
    pending = set(serials)
    done: dict[str, dict[str, Any]] = {}
    while pending:
        for rec in hook.get_upload_records(sorted(pending)):
            if rec["status"] in ("PARSE_COMPLETED", "FAILED"):
                done[rec["serialNumber"]] = dict(rec)
                pending.discard(rec["serialNumber"])
        if pending:
            time.sleep(POLL)
    return [done[s] for s in serials]


def one_archive_run(env: dict[str, str], folder: str, dataset_id: int, results: Any) -> None:
    """The one-archive worker: validate + plan, PUT the streamed zip, import, wait."""
    import logging

    hook = _child_setup(env)
    from airflow_provider_xtreme1.archives import plan_zip
    from airflow_provider_xtreme1.operators.upload import put_archive, request_upload_url

    log = logging.getLogger("bench.one-archive")
    started = time.time()
    plan = plan_zip(folder, DATASET_TYPE)
    urls = request_upload_url(hook, dataset_id, "dataset.zip")
    sent = put_archive(
        hook, plan, urls["presigned_url"], access_url=urls["access_url"], dataset_id=dataset_id,
        log=log, progress_interval=-1,
    )  # fmt: skip
    put_done = time.time()
    serial = hook.start_import(dataset_id, sent["access_url"])
    records = _wait_imports(hook, [serial])
    results.put(
        {
            "started": started,
            "put_done": put_done,
            "finished": time.time(),
            "bytes": sent["bytes"],
            "shards": 1,
            "records": records,
        }
    )


def shard_worker(env: dict[str, str], name: str, first: list[dict], todo: Any, events: Any) -> None:
    """One worker: take shard descriptors (``first``, then the shared queue) and PUT each shard."""
    import logging

    hook = _child_setup(env)
    from airflow_provider_xtreme1.archives.shards import open_shard
    from airflow_provider_xtreme1.operators.upload import put_archive, request_upload_url
    from airflow_provider_xtreme1.reconcile import dataset_watermark, present_names

    log = logging.getLogger(f"bench.{name}")
    events.put(("ready", name, os.getpid(), None))
    pending = list(first)
    while True:
        descriptor = pending.pop(0) if pending else todo.get()
        if descriptor is None:
            return
        index = descriptor["index"]
        dataset_id = descriptor["dataset_id"]
        # What Xtreme1PutShardOperator does: note the watermark, leave out what the dataset holds, PUT.
        dataset_watermark(hook, dataset_id)
        zip_plan, _manifest = open_shard(descriptor, present=present_names(hook, dataset_id))
        if not zip_plan.entries:
            events.put(("uploaded", name, os.getpid(), descriptor, None, 0))
            continue
        urls = request_upload_url(hook, dataset_id, f"shard-{index + 1:04d}-of-{descriptor['count']:04d}.zip")
        events.put(("put", name, os.getpid(), descriptor, urls["object_key"], zip_plan.size))
        sent = put_archive(
            hook, zip_plan, urls["presigned_url"], access_url=urls["access_url"], dataset_id=dataset_id,
            log=log, progress_interval=-1,
        )  # fmt: skip
        events.put(("uploaded", name, os.getpid(), descriptor, sent["access_url"], sent["bytes"]))


def shard_coordinator(
    env: dict[str, str], folder: str, dataset_id: int, max_shard: int, todo: Any, uploads: Any, results: Any
) -> None:
    """Plan (the plan task), hand the shards out, start imports (≤ 2 in flight) as PUTs finish, wait."""
    hook = _child_setup(env)
    from airflow_provider_xtreme1.archives.shards import plan_shards

    started = time.time()
    plan = plan_shards(folder, DATASET_TYPE, max_shard)
    descriptors = [dict(s.describe(), dataset_id=dataset_id) for s in plan.shards]
    for d in descriptors:
        todo.put(d)
    planned = last_put = time.time()
    waiting: list[tuple[int, str]] = []  # uploaded, import not started: (index, access url)
    running: dict[str, int] = {}  # serial -> shard index
    records: dict[int, dict[str, Any]] = {}
    while len(records) < len(descriptors):
        try:
            while True:
                index, access_url = uploads.get_nowait()
                waiting.append((index, access_url))
                last_put = time.time()
        except queue.Empty:
            pass
        waiting.sort()
        while waiting and len(running) < IMPORTS_IN_FLIGHT:
            index, access_url = waiting.pop(0)
            if access_url is None:  # the dataset held all of it: nothing sent, nothing to import
                records[index] = {"status": "SKIPPED", "serialNumber": None}
                continue
            running[hook.start_import(dataset_id, access_url)] = index
        if running:
            for rec in hook.get_upload_records(sorted(running)):
                if rec["status"] in ("PARSE_COMPLETED", "FAILED"):
                    records[running.pop(rec["serialNumber"])] = dict(rec)
        time.sleep(POLL)
    results.put(
        {
            "started": started,
            "planned": planned,
            "put_done": last_put,
            "finished": time.time(),
            "shards": len(descriptors),
            "shard_bytes": [d["bytes"] for d in descriptors],
            "records": [records[i] for i in sorted(records)],
        }
    )


# ------------------------------------------------------------------------------------------ the runs


class _Emu:
    """The emulator process: admin calls and the API, over HTTP."""

    def __init__(self, handle: Any) -> None:
        import requests

        self.h = handle
        self.api = requests.Session()
        self.api.headers["Authorization"] = f"Bearer {EMULATOR_TOKEN}"

    def dataset(self, name: str) -> int:
        body = {"name": name, "type": DATASET_TYPE}
        answer = self.api.post(f"{self.h.url}/api/dataset/create", json=body, timeout=30).json()
        return answer["data"]["id"]

    def count(self, dataset_id: int, parent_id: int | None = None) -> int:
        params: dict[str, Any] = {"datasetId": dataset_id, "pageNo": 1, "pageSize": 1}
        if parent_id is not None:
            params["parentId"] = parent_id
        answer = self.api.get(f"{self.h.url}/api/data/findByPage", params=params, timeout=60).json()
        return answer["data"]["total"]

    def items(self, dataset_id: int) -> int:
        """Frames stored: root-level items that are not scenes, plus every scene's frames."""
        params = {"datasetId": dataset_id, "pageNo": 1, "pageSize": 100000}
        page = self.api.get(f"{self.h.url}/api/data/findByPage", params=params, timeout=120).json()["data"]
        total = 0
        for item in page["list"]:
            total += self.count(dataset_id, item["id"]) if item["type"] == "SCENE" else 1
        return total

    def put_bytes(self) -> list[dict[str, Any]]:
        return [e for e in self.h.admin("GET", "storage-log") if e["method"] == "PUT"]

    def fresh(self) -> None:
        """Forget datasets, objects and logs (frees the disk), and start a new scratch-disk peak."""
        self.h.admin("POST", "reset", {"state": True})
        self.h.admin("POST", "stats/reset-peak")


def _run_one_archive(ctx, emu: _Emu, env: dict[str, str], folder: Path) -> dict[str, Any]:
    emu.fresh()
    dataset_id = emu.dataset("one-archive")
    results = ctx.Queue()
    proc = ctx.Process(target=one_archive_run, args=(env, str(folder), dataset_id, results))
    proc.start()
    out = results.get(timeout=3600)
    proc.join(60)
    return _figures(emu, dataset_id, out, data_bytes=out["bytes"])


def _run_shards(
    ctx, emu: _Emu, env: dict[str, str], folder: Path, max_shard: int, kill: bool, log
) -> dict[str, Any]:
    emu.fresh()
    dataset_id = emu.dataset("shards-killed" if kill else "shards")
    todo, events, uploads, results = ctx.Queue(), ctx.Queue(), ctx.Queue(), ctx.Queue()
    workers = {
        f"worker-{k}": ctx.Process(target=shard_worker, args=(env, f"worker-{k}", [], todo, events))
        for k in range(WORKERS)
    }
    for w in workers.values():
        w.start()
    # Workers are up (Airflow imported) before the clock starts, as Celery workers are.
    for _ in workers:
        if events.get(timeout=300)[0] != "ready":
            raise RuntimeError("a shard worker did not start")
    coordinator = ctx.Process(
        target=shard_coordinator, args=(env, str(folder), dataset_id, max_shard, todo, uploads, results)
    )
    coordinator.start()
    killed: dict[str, Any] = {}
    out = None
    puts_seen = 0
    while out is None:
        try:
            out = results.get(timeout=0.1)
            break
        except queue.Empty:
            pass
        try:
            while True:
                kind, name, _pid, descriptor, *rest = events.get_nowait()
                if kind == "ready":
                    continue
                if kind == "uploaded":
                    uploads.put((descriptor["index"], rest[0]))
                    continue
                puts_seen += 1
                # The second PUT of the last worker: imports are under way by then, as in a real run.
                if kill and not killed and name == f"worker-{WORKERS - 1}" and puts_seen >= WORKERS + 1:
                    killed = _kill_mid_put(emu, workers[name], rest[0], rest[1], descriptor, log)
                    replacement = ctx.Process(
                        target=shard_worker, args=(env, "replacement", [descriptor], todo, events)
                    )
                    replacement.start()
                    workers["replacement"] = replacement
        except queue.Empty:
            pass
        if not coordinator.is_alive() and results.empty():
            raise RuntimeError("the shard coordinator died")
    for _ in workers:
        todo.put(None)
    for w in workers.values():
        w.join(60)
    coordinator.join(60)
    figures = _figures(emu, dataset_id, out, data_bytes=sum(out["shard_bytes"]))
    figures["killed"] = killed
    figures["rerun_bytes"] = killed.get("shard_bytes", 0)
    return figures


def _kill_mid_put(emu: _Emu, proc: Any, key: str, length: int, descriptor: dict, log) -> dict[str, Any]:
    """SIGKILL ``proc`` once the emulator has received half of its PUT of ``key``."""
    deadline = time.monotonic() + 600
    received = 0
    while time.monotonic() < deadline:
        puts = [p for p in emu.h.admin("GET", "stats")["putsInFlight"] if p["key"] == key]
        if puts and puts[0]["bytes"] >= length // 2:
            received = puts[0]["bytes"]
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(30)
    log(f"  killed a worker at {received / MiB:.0f} of {length / MiB:.0f} MiB of shard {descriptor['index']}")
    return {"shard": descriptor["index"], "at_bytes": received, "shard_bytes": length}


def _figures(emu: _Emu, dataset_id: int, out: dict[str, Any], data_bytes: int) -> dict[str, Any]:
    puts = emu.put_bytes()
    received = sum(p["bytes"] or 0 for p in puts)
    stats = emu.h.admin("GET", "stats")
    return {
        "rerun_bytes": 0,
        "seconds": out["finished"] - out["started"],
        "put_seconds": out["put_done"] - out["started"],
        "shards": out["shards"],
        "data_bytes": data_bytes,
        "received_bytes": received,
        "resent_bytes": received - data_bytes,
        "partial_puts": sum(1 for p in puts if p["status"] != 200),
        "peak_scratch_bytes": stats["scratchPeakBytes"],
        "statuses": sorted({r["status"] for r in out["records"]}),
        "errors": sorted({r.get("errorMessage") or "" for r in out["records"]} - {""}),
        "items": emu.items(dataset_id),
    }


def run(root: Path, quick: bool, log) -> tuple[str, dict[str, Any]]:
    total = 512 * MiB if quick else 8 * GiB
    frame = 4 * MiB if quick else 16 * MiB
    max_shard = total // 8
    need = int(total * 5.5)  # source, stored archive(s), stored files, scratch (2 x the largest archive)
    free = shutil.disk_usage(root).free
    if free < need:  # the other sections still run; this one says why it did not
        reason = f"needs ~{need >> 30} GiB free in {root}, has {free >> 30} GiB (try --quick)"
        log(f"  skipped: {reason}")
        return f"## 11. Sharded ingest\n\nSkipped: {reason}.\n", {"skipped": reason}
    started = time.monotonic()
    folder, frames, written = make_lidar_folder(root / "shards-data", total, frame, scenes=8)
    log(f"  wrote {frames} frames, {written / GiB:.2f} GiB in {time.monotonic() - started:.0f} s")
    ctx = multiprocessing.get_context("spawn")
    home = root / "airflow-home"
    home.mkdir(exist_ok=True)
    figures: dict[str, Any] = {"frames": frames, "data_bytes": written, "max_shard_bytes": max_shard}
    try:
        for link in (None, LINK_MBPS):
            where = "loopback" if link is None else f"link {link:.0f} MB/s"
            with emulator(root, step_delay=0.02, link_mbps=link) as handle:
                env = bench_env(home) | {"AIRFLOW_CONN_XTREME1_DEFAULT": handle.connection_json()}
                emu = _Emu(handle)
                runs = {"one_archive": False, "shards": False}
                if link is None:
                    runs["shards_killed"] = True
                for mode, kill in runs.items():
                    os.sync()
                    if mode == "one_archive":
                        result = _run_one_archive(ctx, emu, env, folder)
                    else:
                        result = _run_shards(ctx, emu, env, folder, max_shard, kill, log)
                    if result["statuses"] != ["PARSE_COMPLETED"] or result["items"] != frames:
                        raise RuntimeError(f"{where}, {mode}: not everything was imported: {result}")
                    figures.setdefault(where, {})[mode] = result
                    log(f"  {where}, {mode}: {result['seconds']:.0f} s")
                emu.fresh()
    finally:
        shutil.rmtree(root / "shards-data", ignore_errors=True)
    return _table(figures), figures


def _table(f: dict[str, Any]) -> str:
    rows = []
    for where in (k for k in f if k == "loopback" or k.startswith("link")):
        ref = f[where]["one_archive"]
        for key, r in f[where].items():
            speedup = ref["seconds"] / r["seconds"]
            if key == "one_archive":
                label, target = "one archive", "reference (killed mid-PUT: the whole archive again)"
            elif key == "shards":
                label, target = "shards, 2 workers", f"≥ 1.5 x faster: {verdict(speedup >= 1.5)}"
            else:
                # N = data / max_shard_bytes: shards are at most that, most a little less (units never split)
                n = round(r["data_bytes"] / f["max_shard_bytes"])
                ok = max(r["resent_bytes"], r["rerun_bytes"]) <= f["max_shard_bytes"]
                label = "shards, a worker killed mid-PUT"
                target = f"re-send ≤ 1/{n} (one shard): {verdict(ok)}"
            rows.append(
                [
                    where,
                    label,
                    r["shards"],
                    r["put_seconds"],
                    r["seconds"],
                    speedup,
                    r["received_bytes"] / MiB,
                    r["resent_bytes"] / MiB,
                    r["rerun_bytes"] / MiB,
                    r["peak_scratch_bytes"] / MiB,
                    r["peak_scratch_bytes"] / ref["peak_scratch_bytes"],
                    f"{r['items']} / {f['frames']}",
                    target,
                ]
            )
    size = f"{f['data_bytes'] / GiB:.2f} GiB"
    return table(
        f"11. Sharded ingest of {size} of LIDAR_BASIC ({f['frames']} frames), shards ≤ "
        f"{fmt(f['max_shard_bytes'] / MiB, 0)} MiB, vs one archive: time to all imported, bytes and disk",
        [
            "storage reached over",
            "mode",
            "archives",
            "s to last PUT done",
            "s to all imported",
            "speed-up",
            "MiB received by storage",
            "MiB sent twice",
            "MiB of the re-run shard",
            "peak scratch MiB",
            "scratch x one archive",
            "frames stored",
            "target",
        ],
        rows,
    )
