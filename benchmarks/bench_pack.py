"""Benchmark 4: packing a LIDAR_FUSION folder, streaming it into the PUT, and validating 100,000 files.

* ``packing.pack_dataset`` (validation + stored ZIP64 + fsync + atomic rename) vs ``zip -0 -r -q`` (and
  vs ``zip`` followed by ``sync FILE``, since ``pack_dataset`` makes its output durable);
* the folder streamed straight into a presigned PUT (``plan_zip`` → ``transfer.upload``, no temp file)
  vs pack-then-PUT, on ``rclone serve s3``;
* ``validate_dataset_folder`` alone on a folder of 100,000 small files (page cache warm).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from benchmarks.common import (
    PYTHON,
    MiB,
    Run,
    bench_env,
    measure,
    median,
    rclone_s3,
    table,
    verdict,
)
from benchmarks.datasets import FILES_PER_FRAME, make_fusion_folder


def _mbps(runs: list[Run], size: int, key: str | None = "seconds") -> float:
    return median([size / (r.out[key] if key else r.wall) / 1e6 for r in runs])


def run(root: Path, quick: bool, runs: int, log) -> tuple[str, dict[str, Any]]:
    env = bench_env(root / "airflow-home")
    (root / "airflow-home").mkdir(exist_ok=True)
    frames = 80 if quick else 400  # x 5 files: 400 / 2,000 files
    sizes = (
        ((1 << 20, 2 << 20), (300 << 10, 700 << 10))
        if quick
        else ((2 << 20, 4 << 20), (0.6 * MiB, 1.8 * MiB))
    )
    folder = root / "fusion_dataset"
    files, data_bytes = make_fusion_folder(
        folder, frames, 4, pcd_bytes=sizes[0], image_bytes=(int(sizes[1][0]), int(sizes[1][1]))
    )
    log(f"  generated {files} files, {data_bytes / 1e9:.2f} GB")
    out = root / "out" / "fusion_dataset.zip"
    out.parent.mkdir()
    ours: list[Run] = []
    zips: list[Run] = []
    zip_sync: list[Run] = []
    archive_size = 0
    for i in range(runs):
        r = measure([PYTHON, "-m", "benchmarks.clients", "pack", str(folder), str(out)], env=env)
        archive_size = out.stat().st_size
        subprocess.run(["unzip", "-tq", str(out)], check=True, capture_output=True)
        out.unlink()
        ours.append(r)
        zips.append(measure(["sh", "-c", f"cd '{root}' && zip -0 -r -q '{out}' fusion_dataset"]))
        out.unlink()
        zip_sync.append(
            measure(["sh", "-c", f"cd '{root}' && zip -0 -r -q '{out}' fusion_dataset && sync '{out}'"])
        )
        out.unlink()
        log(f"  pack run {i + 1}/{runs} done")
    pack_mbps = _mbps(ours, data_bytes)
    zip_mbps = _mbps(zips, data_bytes, key=None)
    zip_sync_mbps = _mbps(zip_sync, data_bytes, key=None)
    growth = median([r.out["peak_mib"] - r.out["baseline_mib"] for r in ours])
    rows = [
        [
            "zip -0 -r -q",
            median([r.wall for r in zips]),
            zip_mbps,
            1.0,
            median([r.rss_mib for r in zips]),
            "-",
            "",
        ],
        [
            "zip -0 -r -q && sync FILE",
            median([r.wall for r in zip_sync]),
            zip_sync_mbps,
            zip_sync_mbps / zip_mbps,
            median([r.rss_mib for r in zip_sync]),
            "-",
            "",
        ],
        [
            "pack_dataset (validate, zip, fsync)",
            median([r.out["seconds"] for r in ours]),
            pack_mbps,
            pack_mbps / zip_mbps,
            median([r.rss_mib for r in ours]),
            growth,
            f"≥ 1.5x zip: {verdict(pack_mbps / zip_mbps >= 1.5)}; "
            f"x (zip+sync) {pack_mbps / zip_sync_mbps:.2f}",
        ],
    ]
    text = table(
        f"4a. Pack {files:,} files, {data_bytes / 1e9:.2f} GB (archive {archive_size / 1e9:.2f} GB)",
        ["method", "wall s", "MB/s (of data)", "x zip", "peak RSS MiB", "RSS growth MiB", "target"],
        rows,
    )
    figures: dict[str, Any] = {
        "files": files,
        "bytes": data_bytes,
        "pack_mbps": pack_mbps,
        "zip_mbps": zip_mbps,
        "zip_sync_mbps": zip_sync_mbps,
        "ratio": pack_mbps / zip_mbps,
        "pack_growth_mib": growth,
    }

    # Stream straight into the PUT vs pack-then-PUT (rclone serve s3, a real S3 server).
    with rclone_s3(root / "rclone") as s3:
        stream: list[Run] = []
        packput: list[Run] = []
        for i in range(runs):
            r = measure(
                [PYTHON, "-m", "benchmarks.clients", "stream-put", str(folder), s3.presign("PUT", "s.zip")],
                env=env,
            )
            if r.out["etag"] != r.out["md5"]:
                raise RuntimeError("stream-put: ETag mismatch")
            s3.remove("s.zip")
            stream.append(r)
            r = measure(
                [
                    PYTHON,
                    "-m",
                    "benchmarks.clients",
                    "pack-put",
                    str(folder),
                    str(out),
                    s3.presign("PUT", "p.zip"),
                ],
                env=env,
            )
            out.unlink()
            s3.remove("p.zip")
            packput.append(r)
            log(f"  stream-vs-pack PUT run {i + 1}/{runs} done")
    stream_s = median([r.out["seconds"] for r in stream])
    packput_s = median([r.out["seconds"] for r in packput])
    text += "\n" + table(
        "4b. Folder → presigned PUT on rclone: streamed (plan_zip → upload) vs pack-then-PUT",
        ["method", "wall s", "MB/s", "peak RSS MiB", "RSS growth MiB", "temp disk"],
        [
            [
                "plan_zip → transfer.upload (streamed)",
                stream_s,
                archive_size / stream_s / 1e6,
                median([r.rss_mib for r in stream]),
                median([r.out["peak_mib"] - r.out["baseline_mib"] for r in stream]),
                "0",
            ],
            [
                "pack_dataset, then transfer.upload",
                packput_s,
                archive_size / packput_s / 1e6,
                median([r.rss_mib for r in packput]),
                median([r.out["peak_mib"] - r.out["baseline_mib"] for r in packput]),
                f"{archive_size / 1e9:.2f} GB",
            ],
        ],
    )
    text += f"\nStreamed / pack-then-PUT wall time: **{stream_s / packput_s:.2f}** (lower is better).\n"
    figures.update(stream_s=stream_s, packput_s=packput_s, stream_ratio=stream_s / packput_s)
    shutil.rmtree(folder)

    # Validation alone, 100,000 files (20,000 frames x 5), 100 scenes.
    many = root / "many_files"
    count = 20_000 if not quick else 4_000
    n_files, _ = make_fusion_folder(many, count, 100 if not quick else 20)
    log(f"  generated {n_files:,} small files")
    val = [measure([PYTHON, "-m", "benchmarks.clients", "validate", str(many)], env=env) for _ in range(runs)]
    if val[0].out["errors"] or val[0].out["files"] != n_files:
        raise RuntimeError(f"validation found errors or a wrong count: {val[0].out}")
    v_s = median([r.out["seconds"] for r in val])
    text += "\n" + table(
        f"4c. validate_dataset_folder on {n_files:,} files (warm page cache)",
        ["files", "seconds", "files/s", "peak RSS MiB", "RSS growth MiB", "target: seconds"],
        [
            [
                f"{n_files:,}",
                v_s,
                n_files / v_s,
                median([r.rss_mib for r in val]),
                median([r.out["peak_mib"] - r.out["baseline_mib"] for r in val]),
                verdict(v_s < 10 * n_files / 100_000),
            ]
        ],
    )
    figures.update(validate_files=n_files, validate_s=v_s, frames_per_file=FILES_PER_FRAME)
    shutil.rmtree(many)
    return text, figures
