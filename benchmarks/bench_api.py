"""Benchmark 7: API overhead — 1,000 ``get_upload_records`` through ``Xtreme1Hook`` vs a bare keep-alive
``requests.Session`` sending the same request to the same emulator endpoint (envelope check, record
parsing, retry bookkeeping and logging included on our side)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from benchmarks.bench_triggers import _start_imports
from benchmarks.common import PYTHON, REPO, bench_env, emulator, median, table, verdict

CALLS = 1000


def run(root: Path, runs: int, log) -> tuple[str, dict[str, Any]]:
    home = root / "airflow-home"
    home.mkdir(exist_ok=True)
    work = root / "api"
    work.mkdir()
    hook_s, session_s = [], []
    with emulator(work, step_delay=0.01) as emu:
        serial = _start_imports(emu, work, 1)[0]
        env = bench_env(home)
        env["AIRFLOW_CONN_XTREME1_DEFAULT"] = emu.connection_json()
        for i in range(runs):
            proc = subprocess.run(
                [PYTHON, "-m", "benchmarks.api_client", str(CALLS), serial],
                env=env,
                capture_output=True,
                text=True,
                cwd=REPO,
                timeout=600,
            )
            if proc.returncode:
                raise RuntimeError(f"api_client failed: {proc.stderr[-3000:]}")
            out = json.loads(proc.stdout.strip().splitlines()[-1])
            hook_s.append(out["hook"])
            session_s.append(out["session"])
            log(f"  api run {i + 1}/{runs} done")
    ratios = [h / s for h, s in zip(hook_s, session_s, strict=True)]
    ratio = median(ratios)
    text = table(
        f"7. API overhead: {CALLS:,} get_upload_records calls (median of {runs} runs)",
        ["client", "total s", "ms per call", "x bare session", "target ≤ 1.1"],
        [
            [
                "requests.Session (bare, keep-alive)",
                median(session_s),
                median(session_s) / CALLS * 1000,
                1.0,
                "",
            ],
            [
                "Xtreme1Hook.get_upload_records",
                median(hook_s),
                median(hook_s) / CALLS * 1000,
                ratio,
                verdict(ratio <= 1.1),
            ],
        ],
    )
    return text, {"hook_s": hook_s, "session_s": session_s, "ratios": ratios, "ratio": ratio}
