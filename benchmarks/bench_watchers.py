"""Benchmark 10: 1,000 asset-event watchers (``Xtreme1AnnotationEventTrigger``) on one triggerer.

1,000 (empty) datasets are created in the emulator. The watchers then run for a fixed time with
Airflow 3.3's shared stream (one poll loop per connection and interval) and, as the reference, a
smaller set of watchers each polling alone (what a trigger without a shared stream costs; its requests
grow linearly with the watchers). Measured from the emulator's request log and the child process:
listing requests per poll round, CPU seconds per minute, RSS.
"""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path
from typing import Any

import requests

from benchmarks.common import EMULATOR_TOKEN, PYTHON, REPO, bench_env, emulator, table, verdict

WATCHERS = 1000
ALONE = 50  # the reference: watchers each polling by themselves
POLL = 5.0
LISTING = "/api/dataset/findByPage"


def _create_datasets(base: str, count: int) -> list[int]:
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {EMULATOR_TOKEN}"
    ids = []
    for i in range(count):
        body = api.post(
            f"{base}/api/dataset/create", json={"name": f"w-{i}", "type": "IMAGE"}, timeout=30
        ).json()
        ids.append(int(body["data"]["id"]))
    return ids


def _child(home: Path, emu: Any, ids_file: Path, seconds: float, mode: str) -> dict[str, Any]:
    env = bench_env(home)
    env["AIRFLOW_CONN_XTREME1_DEFAULT"] = emu.connection_json()
    proc = subprocess.run(
        [PYTHON, "-m", "benchmarks.watcher_fanin", str(ids_file), str(POLL), str(seconds), mode],
        env=env,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=900,
    )
    if proc.returncode:
        raise RuntimeError(f"watcher_fanin failed: {proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _listings(emu: Any, since: int) -> tuple[int, int]:
    log = emu.admin("GET", "request-log")
    return sum(1 for r in log[since:] if r["path"] == LISTING), len(log)


def run(root: Path, quick: bool, log) -> tuple[str, dict[str, Any]]:
    seconds = 20.0 if quick else 60.0
    home = root / "airflow-home"
    home.mkdir(exist_ok=True)
    work = root / "watchers"
    work.mkdir()
    with emulator(work, step_delay=0.01) as emu:
        ids = _create_datasets(emu.url, WATCHERS)
        log(f"  {len(ids)} datasets created; starting {WATCHERS} shared watchers for {seconds:.0f} s")
        (work / "all.json").write_text(json.dumps(ids))
        (work / "alone.json").write_text(json.dumps(ids[:ALONE]))
        _, mark = _listings(emu, 0)
        shared = _child(home, emu, work / "all.json", seconds, "shared")
        shared["listings"], mark = _listings(emu, mark)
        log(f"  reference: {ALONE} watchers polling alone")
        alone = _child(home, emu, work / "alone.json", seconds, "alone")
        alone["listings"], _ = _listings(emu, mark)
    pages = math.ceil(WATCHERS / 1000)
    # a round is one look at every watched dataset: shared, one listing serves all watchers; alone,
    # each watcher lists by itself, so a round costs one listing per watcher
    shared_rounds = max(shared["listing_calls"], 1)
    alone_rounds = max(alone["listing_calls"] / ALONE, 1)
    figures = {
        "watchers": WATCHERS,
        "seconds": seconds,
        "poll": POLL,
        "shared": shared,
        "alone": alone,
        "shared_requests_per_poll": shared["listings"] / shared_rounds,
        "alone_requests_per_poll": alone["listings"] / alone_rounds,
    }
    per_poll = figures["shared_requests_per_poll"]
    rows = [
        ["watchers", WATCHERS, ALONE, "", ""],
        ["poll rounds", shared_rounds, f"{alone_rounds:.1f}", "", ""],
        [
            "listing requests per poll round",
            f"{per_poll:.2f}",
            f"{figures['alone_requests_per_poll']:.1f}",
            f"{pages}",
            verdict(per_poll <= pages + 0.05),
        ],
        [
            "requests per poll, scaled to 1,000 watchers",
            f"{per_poll:.2f}",
            f"{figures['alone_requests_per_poll'] * WATCHERS / ALONE:.0f}",
            "",
            "",
        ],
        [
            "CPU s per minute",
            f"{shared['cpu'] / seconds * 60:.2f}",
            f"{alone['cpu'] / seconds * 60:.2f}",
            "",
            "",
        ],
        [
            "RSS before / peak MiB",
            f"{shared['baseline_mib']:.0f} / {shared['peak_mib']:.0f}",
            f"{alone['baseline_mib']:.0f} / {alone['peak_mib']:.0f}",
            "",
            "",
        ],
        [
            "events fired (none expected: nothing crosses)",
            shared["events"],
            alone["events"],
            "0",
            verdict(shared["events"] == 0),
        ],
    ]
    header = ["", f"shared stream ({WATCHERS})", f"each alone ({ALONE})", "target", "verdict"]
    title = f"10. {WATCHERS} asset watchers, poll {POLL:g} s, {seconds:.0f} s"
    return table(title, header, rows), figures
