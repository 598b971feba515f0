"""Benchmarks 1-3: presigned upload (file and ObjectStoragePath sources) and download, against curl.

Servers: the stdlib discard server (client side alone), the emulator's ``/minio`` storage (the server the
provider is tested against; it hashes and writes in Python) and ``rclone serve s3`` (a real S3 server:
SigV4 checks, MD5 ETag, files on disk). Throughput is bytes / seconds of the transfer itself: curl's
``%{time_total}``, and for ``transfer.upload``/``download`` the time around the call (start-up and imports
are excluded on both sides). Peak RSS is ``/usr/bin/time -v`` of the whole client process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.common import (
    PYTHON,
    MiB,
    Run,
    bench_env,
    emulator,
    measure,
    median,
    rclone_s3,
    sink_server,
    table,
    verdict,
    write_random_file,
)


@dataclass
class Series:
    """Repeated runs of one client against one server."""

    runs: list[Run] = field(default_factory=list)

    def mbps(self, size: int) -> float:
        return median([size / r.out["seconds"] / 1e6 for r in self.runs])

    @property
    def rss(self) -> float:
        return median([r.rss_mib for r in self.runs])

    @property
    def cpu(self) -> float:
        return median([r.cpu for r in self.runs])

    @property
    def growth(self) -> float:
        values = [r.out["peak_mib"] - r.out["baseline_mib"] for r in self.runs if "baseline_mib" in r.out]
        return median(values) if values else float("nan")

    @property
    def baseline(self) -> float:
        values = [r.out["baseline_mib"] for r in self.runs if "baseline_mib" in r.out]
        return median(values) if values else float("nan")


def settle() -> None:
    """Write back dirty pages before a timed run, so no run pays for the previous one's writes.

    Without it the first client after a 2 GiB upload or download was throttled by the kernel's writeback
    (``vm.dirty_ratio``): curl downloading from rclone measured 277 MB/s against our 507 MB/s right after.
    """
    os.sync()


def curl(args: list[str], output: str = "/dev/null") -> Run:
    """curl with its own transfer time as ``seconds`` (no start-up)."""
    settle()
    cmd = ["curl", "-sS", "-f", "-o", output, "-w", '{"seconds": %{time_total}}\\n', *args]
    return measure(cmd)


def ours(env: dict[str, str], action: str, *args: str) -> Run:
    settle()
    return measure([PYTHON, "-m", "benchmarks.clients", action, *args], env=env)


def _check_etag(run: Run, server: str) -> None:
    if server != "sink" and run.out.get("md5") and run.out.get("etag") != run.out.get("md5"):
        raise RuntimeError(f"{server}: ETag {run.out.get('etag')} != MD5 {run.out.get('md5')}")


def run(root: Path, sizes: list[int], runs: int, log) -> tuple[str, dict[str, Any]]:
    env = bench_env(root / "airflow-home")
    (root / "airflow-home").mkdir(exist_ok=True)
    results: dict[str, Any] = {"upload": {}, "osp": {}, "download": {}}
    upload_rows: list[list[Any]] = []
    osp_rows: list[list[Any]] = []
    download_rows: list[list[Any]] = []
    with sink_server() as sink, emulator(root) as emu, rclone_s3(root / "rclone") as s3:
        servers = {
            "discard server": ("sink", lambda key: f"{sink}/bucket/{key}?X-Amz-Signature=bench", None),
            "emulator /minio": ("emulator", lambda key: emu.presign("PUT", key), emu.remove),
            "rclone serve s3": ("rclone", lambda key: s3.presign("PUT", key), s3.remove),
        }
        for size in sizes:
            source = write_random_file(root / f"upload-{size // MiB}MiB.bin", size)
            label = f"{size // MiB} MiB"
            for server_name, (tag, sign, remove) in servers.items():
                series = {"curl -T": Series(), "upload, checksum": Series(), "upload, no checksum": Series()}
                for i in range(runs):
                    key = f"bench/{tag}-{size}-{i}.bin"
                    for client, s in series.items():
                        url = sign(key)
                        if client == "curl -T":
                            r = curl(["-T", str(source), url])
                        elif client == "upload, checksum":
                            r = ours(env, "upload", url, str(source))
                        else:
                            r = ours(env, "upload-nocheck", url, str(source))
                        _check_etag(r, tag)
                        s.runs.append(r)
                        if remove:
                            remove(key)
                    log(f"  upload {label} -> {tag}: run {i + 1}/{runs} done")
                ref = series["curl -T"].mbps(size)
                target = 1.0 if tag == "sink" else 0.95
                for client, s in series.items():
                    ratio = s.mbps(size) / ref
                    upload_rows.append(
                        [
                            label,
                            server_name,
                            client,
                            s.mbps(size),
                            ratio,
                            s.rss,
                            s.growth,
                            s.cpu,
                            "" if client == "curl -T" else f"≥ {target:.2f}: {verdict(ratio >= target)}",
                        ]
                    )
                    results["upload"].setdefault(label, {}).setdefault(tag, {})[client] = {
                        "mbps": s.mbps(size),
                        "ratio": ratio,
                        "rss_mib": s.rss,
                        "growth_mib": s.growth,
                        "baseline_mib": s.baseline,
                        "cpu_s": s.cpu,
                    }

            # 2. ObjectStoragePath source (file://), largest size only, discard server and emulator; the
            # same checksum setting with a plain-path source is the reference that isolates the source.
            if size == sizes[-1]:
                for server_name, (tag, sign, remove) in list(servers.items())[:2]:
                    for client, action in (
                        ("checksum", "upload-osp"),
                        ("no checksum", "upload-osp-nocheck"),
                    ):
                        s = Series()
                        for i in range(runs):
                            key = f"bench/osp-{tag}-{i}.bin"
                            r = ours(env, action, sign(key), source.absolute().as_uri())
                            _check_etag(r, tag)
                            s.runs.append(r)
                            if remove:
                                remove(key)
                        by_client = results["upload"][label][tag]
                        ref = by_client["curl -T"]["mbps"]
                        path_mbps = by_client[f"upload, {client}"]["mbps"]
                        target = 1.0 if tag == "sink" else 0.95
                        ratio = s.mbps(size) / ref
                        osp_rows.append(
                            [
                                label,
                                server_name,
                                client,
                                s.mbps(size),
                                path_mbps,
                                s.mbps(size) / path_mbps,
                                ref,
                                ratio,
                                s.rss,
                                s.growth,
                                f"≥ {target:.2f}: {verdict(ratio >= target)}",
                            ]
                        )
                        results["osp"].setdefault(tag, {})[client] = {
                            "mbps": s.mbps(size),
                            "path_mbps": path_mbps,
                            "ratio_path": s.mbps(size) / path_mbps,
                            "ratio": ratio,
                            "rss_mib": s.rss,
                            "growth_mib": s.growth,
                        }
                        log(f"  ObjectStoragePath upload {label} -> {tag}, {client} done")

                # 3. Download of the same object through a signed GET: emulator and rclone.
                for server_name, tag, put_url, get_url, remove in (
                    (
                        "emulator /minio",
                        "emulator",
                        emu.presign("PUT", "bench/get.bin"),
                        emu.presign("GET", "bench/get.bin"),
                        emu.remove,
                    ),
                    (
                        "rclone serve s3",
                        "rclone",
                        s3.presign("PUT", "bench/get.bin"),
                        s3.presign("GET", "bench/get.bin"),
                        s3.remove,
                    ),
                ):
                    curl(["-T", str(source), put_url])
                    curl([get_url])  # untimed: the first GET of a fresh object warms the server, not a client
                    dest = root / "downloaded.bin"
                    c, o = Series(), Series()
                    for _ in range(runs):
                        c.runs.append(curl([get_url], output=str(dest)))
                        if dest.stat().st_size != size:
                            raise RuntimeError("curl download has the wrong size")
                        dest.unlink()
                        o.runs.append(ours(env, "download", get_url, str(dest)))
                        if dest.stat().st_size != size:
                            raise RuntimeError("download has the wrong size")
                        dest.unlink()
                    remove("bench/get.bin")
                    ratio = o.mbps(size) / c.mbps(size)
                    download_rows.append(
                        [
                            label,
                            server_name,
                            o.mbps(size),
                            c.mbps(size),
                            ratio,
                            o.rss,
                            o.growth,
                            c.rss,
                            verdict(ratio >= 0.95),
                        ]
                    )
                    results["download"][tag] = {
                        "mbps": o.mbps(size),
                        "curl_mbps": c.mbps(size),
                        "ratio": ratio,
                        "rss_mib": o.rss,
                        "growth_mib": o.growth,
                        "curl_rss_mib": c.rss,
                    }
                    log(f"  download {label} <- {tag} done")
            os.unlink(source)

    text = table(
        "1. Upload (PutArchive path): transfer.upload vs curl -T, same presigned URL",
        ["size", "server", "client", "MB/s", "x curl", "peak RSS MiB", "RSS growth MiB", "CPU s", "target"],
        upload_rows,
    )
    text += "\n" + table(
        "2. Upload from an ObjectStoragePath (file://) source vs a plain path (same run) and curl -T",
        [
            "size",
            "server",
            "checksum",
            "MB/s",
            "path MB/s",
            "x path",
            "curl MB/s",
            "x curl",
            "peak RSS MiB",
            "RSS growth MiB",
            "target",
        ],
        osp_rows,
    )
    text += "\n" + table(
        "3. Download (transfer.download) vs curl -o, signed GET",
        [
            "size",
            "server",
            "MB/s",
            "curl MB/s",
            "x curl",
            "peak RSS MiB",
            "RSS growth MiB",
            "curl RSS MiB",
            "target ≥ 0.95",
        ],
        download_rows,
    )
    return text, results
