"""Benchmark 6: triggerer fan-in — 200 import ``Xtreme1JobTrigger`` on one event loop against the emulator.

200 real imports of tiny LIDAR_FUSION archives are started first (each archive PUT to its own presigned
URL). The emulator works through them with its two import workers and a step delay, so they finish one
after another over the run while their triggers poll. Measured: CPU seconds of the triggerer process
per trigger-minute, API requests per trigger per poll interval (from the emulator's request log), the
delay between a job reaching its final status (recorded inside the emulator) and its trigger firing,
and the TCP connections the triggers hold.
"""

from __future__ import annotations

import itertools
import json
import subprocess
from pathlib import Path
from typing import Any

import requests

from benchmarks.common import (
    EMULATOR_TOKEN,
    PYTHON,
    REPO,
    bench_env,
    emulator,
    median,
    table,
    verdict,
)

TRIGGERS = 200
POLL = 5.0
RECORDS_PATH = "/api/data/findUploadRecordBySerialNumbers"


def _api(session: requests.Session, base: str, method: str, path: str, **kwargs: Any) -> Any:
    response = session.request(method, f"{base}/api{path}", timeout=30, **kwargs)
    response.raise_for_status()
    body = response.json()
    if body.get("code") != "OK":
        raise RuntimeError(f"{path}: {body}")
    return body["data"]


def _start_imports(emu, root: Path, count: int) -> list[str]:
    from airflow_provider_xtreme1.archives import plan_zip
    from airflow_provider_xtreme1.sample_data import make_sample_dataset

    folder = make_sample_dataset(root / "tiny_scene", "LIDAR_FUSION", items=1, with_results=False)
    archive = b"".join(plan_zip(folder, "LIDAR_FUSION").iter_bytes())
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {EMULATOR_TOKEN}"
    storage = requests.Session()  # bare: the token never goes to storage
    dataset = _api(api, emu.url, "POST", "/dataset/create", json={"name": "fan-in", "type": "LIDAR_FUSION"})
    urls = []
    for i in range(count):
        signed = _api(
            api,
            emu.url,
            "GET",
            "/data/generatePresignedUrl",
            params={"fileName": f"tiny-{i}.zip", "datasetId": dataset["id"]},
        )
        storage.put(signed["presignedUrl"], data=archive, timeout=30).raise_for_status()
        urls.append(signed["accessUrl"])
    serials = [
        str(
            _api(
                api,
                emu.url,
                "POST",
                "/data/upload",
                json={"fileUrl": url, "datasetId": dataset["id"], "source": "LOCAL"},
            )
        )
        for url in urls
    ]
    return serials


def _one(root: Path, quick: bool, log) -> dict[str, Any]:
    poll = POLL
    step_delay = 0.05 if quick else 0.06  # ~6 steps per import, 2 workers: ~25 s / ~35 s in all
    home = root / "airflow-home"
    home.mkdir(exist_ok=True)
    work = root / "fan-in"
    work.mkdir()
    with emulator(work, step_delay=step_delay) as emu:
        serials = _start_imports(emu, work, TRIGGERS)
        log(f"  {len(serials)} imports started; starting the triggers")
        ids_file = work / "serials.json"
        ids_file.write_text(json.dumps(serials))
        env = bench_env(home)
        env["AIRFLOW_CONN_XTREME1_DEFAULT"] = emu.connection_json()
        proc = subprocess.run(
            [PYTHON, "-m", "benchmarks.trigger_fanin", str(ids_file), str(poll), str(emu.port)],
            env=env,
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=900,
        )
        if proc.returncode:
            raise RuntimeError(f"trigger_fanin failed: {proc.stderr[-3000:]}")
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        log_entries = emu.admin("GET", "request-log")
    finished = json.loads(emu.events.read_text())

    served: dict[str, int] = {}
    for entry in log_entries:
        if entry["path"] == RECORDS_PATH:
            for serial in entry["query"].get("serialNumbers", []):
                for s in serial.split(","):
                    served[s] = served.get(s, 0) + 1
    t0 = result["t0"]
    delays, ratios, gaps, lifetimes, first_polls = [], [], [], [], []
    outcomes: dict[str, int] = {}
    early = 0
    for rec in result["triggers"]:
        serial = rec["serial"]
        outcomes[rec.get("outcome")] = outcomes.get(rec.get("outcome"), 0) + 1
        times = result["polls"].get(serial, [])
        first = times[0] if times else rec["fired"]
        first_polls.append(first - t0)
        gaps += [b - a for a, b in itertools.pairwise(times)]
        lifetimes.append(rec["fired"] - t0)
        expected = int((rec["fired"] - first) // poll) + 1  # a first poll, then one per interval
        ratios.append(served.get(serial, 0) / expected)
        done_at = finished.get(serial, [None, None])[1]
        if done_at is None or done_at < first:
            early += 1  # finished before its trigger's first poll: it fires on that poll
            continue
        delays.append(rec["fired"] - done_at)
    trigger_minutes = sum(lifetimes) / 60
    samples = result["samples"]
    startup = max(first_polls)
    steady = [x for x in samples if x[0] >= t0 + startup]
    steady_cpu = steady_tmin = float("nan")
    if len(steady) > 1:
        a, b = steady[0][0], steady[-1][0]
        steady_cpu = steady[-1][1] - steady[0][1]
        steady_tmin = sum(max(0.0, min(rec["fired"], b) - a) for rec in result["triggers"]) / 60
    total = sum(served.get(r["serial"], 0) for r in result["triggers"])
    polled_seconds = sum(r["fired"] - t0 - f for r, f in zip(result["triggers"], first_polls, strict=True))
    delays.sort()
    return {
        "poll": poll,
        "step_delay": step_delay,
        "outcomes": outcomes,
        "wall": result["wall"],
        "cpu_s": result["cpu"],
        "cpu_per_trigger_minute": result["cpu"] / trigger_minutes,
        "steady_cpu_per_trigger_minute": steady_cpu / steady_tmin if steady_tmin else float("nan"),
        "startup_s": startup,
        "requests_per_interval": total / (polled_seconds / poll + len(first_polls)) if polled_seconds else 0,
        "ratio_median": median(ratios),
        "ratio_max": max(ratios),
        "gap_median": median(gaps),
        "gap_min": min(gaps) if gaps else float("nan"),
        "delay_median": median(delays),
        "delay_p95": delays[int(0.95 * (len(delays) - 1))] if delays else float("nan"),
        "delay_max": max(delays) if delays else float("nan"),
        "delays": len(delays),
        "early": early,
        "max_connections": max((x[2] for x in samples), default=0),
        "baseline_mib": result["baseline_mib"],
        "peak_mib": result["peak_mib"],
        "client_build_ms": result["client_build_ms"],
        "client_build_fresh_ms": result["client_build_fresh_ms"],
    }


def run(root: Path, quick: bool, log) -> tuple[str, dict[str, Any]]:
    a = _one(root, quick, log)
    poll = a["poll"]

    def one(key: str, digits: int = 2) -> str:
        return f"{a[key]:.{digits}f}"

    rows = [
        ["outcomes", ", ".join(f"{k}: {v}" for k, v in a["outcomes"].items()), "", ""],
        ["run wall s (start to last event)", one("wall", 1), "", ""],
        ["start-up s (start to the last trigger's first poll)", one("startup_s"), "", ""],
        ["CPU s, whole run", one("cpu_s"), "", ""],
        ["CPU s per trigger-minute, whole run", one("cpu_per_trigger_minute", 3), "", ""],
        ["CPU s per trigger-minute, after start-up", one("steady_cpu_per_trigger_minute", 3), "", ""],
        [
            "API requests per trigger per poll interval",
            one("requests_per_interval"),
            "≈ 1 (≤ 1)",
            verdict(0.8 <= a["requests_per_interval"] <= 1.05),
        ],
        [
            "per trigger, requests / expected: median, max",
            f"{a['ratio_median']:.2f}, {a['ratio_max']:.2f}",
            "≤ 1",
            verdict(a["ratio_max"] <= 1.0),
        ],
        [
            "gap between a trigger's polls s: median, min",
            f"{a['gap_median']:.2f}, {a['gap_min']:.2f}",
            f"≈ {poll:.0f} (no busy loop)",
            verdict(a["gap_min"] >= poll * 0.95),
        ],
        [
            "firing delay after job end s: median, p95, max",
            f"{a['delay_median']:.2f}, {a['delay_p95']:.2f}, {a['delay_max']:.2f}",
            f"≤ {poll:.0f} (+0.5 for the poll request itself)",
            verdict(a["delay_max"] <= poll + 0.5),
        ],
        [
            "jobs measured / finished before their trigger's first poll",
            f"{a['delays']} / {a['early']}",
            "",
            "",
        ],
        ["TCP connections to the API, max", a["max_connections"], "", ""],
        ["triggerer RSS after imports / peak MiB", f"{a['baseline_mib']:.0f} / {a['peak_mib']:.0f}", "", ""],
        [
            "building one httpx.AsyncClient ms: shared SSL context (as the hook) / verify=True",
            f"{a['client_build_ms']:.1f} / {a['client_build_fresh_ms']:.1f}",
            "",
            "",
        ],
    ]
    text = table(
        f"6. Triggerer fan-in: {TRIGGERS} import Xtreme1JobTrigger on one loop, poll interval {poll:.0f} s, "
        f"emulator step {a['step_delay']} s",
        ["measure", "value", "target", ""],
        rows,
    )
    return text, a
