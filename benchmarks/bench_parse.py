"""Benchmark 5: what our modules add to DAG parsing — importing them after ``import airflow.sdk``.

Each sample is a fresh interpreter. Two figures per sample: the whole process (``import airflow.sdk``
alone vs with our modules; the difference of the medians) and, in the same process, the time of our
imports alone after ``airflow.sdk`` is loaded. Measured with byte code cached (as after ``pip install``;
the cache goes to a temp ``PYTHONPYCACHEPREFIX``) and without (this repo is installed editable and the
environment sets ``PYTHONDONTWRITEBYTECODE=1``, so our modules are compiled at every import).
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

from benchmarks.common import PYTHON, REPO, bench_env, median, table, verdict

MODULES = [
    "airflow_provider_xtreme1.operators.upload",
    "airflow_provider_xtreme1.operators.datasets",
    "airflow_provider_xtreme1.operators.export",
    "airflow_provider_xtreme1.operators.models",
    "airflow_provider_xtreme1.sensors.xtreme1",
]
SNIPPET = """
import time, json, sys
t0 = time.perf_counter()
import airflow.sdk
t1 = time.perf_counter()
before = set(sys.modules)
for name in {modules!r}:
    __import__(name)
t2 = time.perf_counter()
heavy = sorted(m for m in ("httpx", "requests", "zipstream", "boto3", "PIL", "urllib3")
               if m in sys.modules and m not in before)
print(json.dumps({{"sdk": t1 - t0, "ours": t2 - t1, "loaded": heavy}}))
"""


def _present() -> list[str]:
    return [m for m in MODULES if (REPO / (m.replace(".", "/") + ".py")).exists()]


def _sample(env: dict[str, str], modules: list[str]) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    proc = subprocess.run(
        [PYTHON, "-c", SNIPPET.format(modules=modules)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    return time.perf_counter() - started, json.loads(proc.stdout.strip().splitlines()[-1])


def run(root: Path, samples: int, log) -> tuple[str, dict[str, Any]]:
    modules = _present()
    base_env = bench_env(root / "airflow-home")
    (root / "airflow-home").mkdir(exist_ok=True)
    cached = dict(base_env, PYTHONPYCACHEPREFIX=str(root / "pycache"))
    cached.pop("PYTHONDONTWRITEBYTECODE", None)
    nocache = dict(base_env, PYTHONDONTWRITEBYTECODE="1", PYTHONPYCACHEPREFIX=str(root / "empty-pycache"))
    _sample(cached, modules)  # warm-up: writes the byte-code cache
    _sample(nocache, modules)
    rows = []
    figures: dict[str, Any] = {"modules": modules}
    for label, env in (("byte code cached", cached), ("no byte code (this checkout)", nocache)):
        alone, both, inproc, sdk = [], [], [], []
        loaded: list[str] = []
        for _ in range(samples):  # interleaved, so load changes hit both alike
            wall, _ = _sample(env, [])
            alone.append(wall)
            wall, out = _sample(env, modules)
            both.append(wall)
            inproc.append(out["ours"])
            sdk.append(out["sdk"])
            loaded = out["loaded"]
        extra_ms = (median(both) - median(alone)) * 1000
        ours_ms = median(inproc) * 1000
        rows.append(
            [
                label,
                median(sdk) * 1000,
                median(alone) * 1000,
                median(both) * 1000,
                extra_ms,
                ours_ms,
                ", ".join(loaded) or "none",
                verdict(ours_ms <= 50),
            ]
        )
        figures[label] = {
            "sdk_ms": median(sdk) * 1000,
            "process_alone_ms": median(alone) * 1000,
            "process_with_ours_ms": median(both) * 1000,
            "extra_process_ms": extra_ms,
            "extra_inprocess_ms": ours_ms,
            "heavy_loaded": loaded,
        }
        log(f"  parse cost ({label}) done")
    text = table(
        f"5. DAG parse cost: importing {len(modules)} provider modules after airflow.sdk "
        f"(median of {samples})",
        [
            "",
            "import airflow.sdk ms",
            "process: sdk only ms",
            "process: sdk + ours ms",
            "difference ms",
            "ours in-process ms",
            "heavy libs our imports load",
            "target ≤ 50 ms",
        ],
        rows,
    )
    return text, figures
