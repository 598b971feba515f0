"""Memory stays flat in file size; throughput compared with curl (printed, not asserted)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import uuid

import pytest

MiB = 1024 * 1024

CHILD = r"""
import json, resource, sys, time


def hwm_kib():
    # Peak RSS of this process image. ru_maxrss would also count the parent's pages: on Linux it survives
    # execve, and subprocess starts children with vfork from the (large) pytest process.
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


from airflow_provider_xtreme1 import transfer
before = hwm_kib()
started = time.monotonic()
result = transfer.upload(sys.argv[1], sys.argv[2], progress_interval=-1)
seconds = time.monotonic() - started
print(json.dumps({"before_kib": before, "peak_kib": hwm_kib(), "bytes": result.bytes, "seconds": seconds,
                  "etag": result.etag, "md5": result.md5,
                  "ru_maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def run_child(url: str, path) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, url, str(path)], capture_output=True, text=True, timeout=300, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def sparse_file(path, size: int):
    with open(path, "wb") as handle:
        handle.truncate(size)
    return path


def test_upload_memory_is_flat(s3, tmp_path):
    size = 300 * MiB
    source = sparse_file(tmp_path / "big.zip", size)
    name = f"mem/{uuid.uuid4().hex}.zip"
    stats = run_child(s3.presign("PUT", name), source)
    stored = s3.path(name)
    try:
        assert stats["bytes"] == size == stored.stat().st_size
        assert stats["etag"] == stats["md5"]
        peak_mib = stats["peak_kib"] / 1024
        print(
            f"\n300 MiB upload: child peak RSS {peak_mib:.0f} MiB"
            f" (after imports {stats['before_kib'] / 1024:.0f} MiB),"
            f" {size / stats['seconds'] / 1e6:.0f} MB/s; ru_maxrss {stats['ru_maxrss_kib'] / 1024:.0f} MiB"
        )
        assert peak_mib < 150
        assert (stats["peak_kib"] - stats["before_kib"]) / 1024 < 32  # the upload itself adds little
    finally:
        stored.unlink(missing_ok=True)


def test_print_throughput_against_curl(s3, tmp_path):
    curl = shutil.which("curl")
    if not curl:
        pytest.skip("curl is not installed")
    size = 256 * MiB
    source = sparse_file(tmp_path / "bench.zip", size)
    ours_key, curl_key = f"bench/{uuid.uuid4().hex}", f"bench/{uuid.uuid4().hex}"
    try:
        ours = run_child(s3.presign("PUT", ours_key), source)
        started = time.monotonic()
        subprocess.run(
            [curl, "-sS", "-f", "-o", "/dev/null", "-T", str(source), s3.presign("PUT", curl_key)],
            check=True,
            timeout=300,
        )
        curl_seconds = time.monotonic() - started
        assert s3.path(ours_key).stat().st_size == s3.path(curl_key).stat().st_size == size
        print(
            f"\n256 MiB to rclone: transfer.upload {size / ours['seconds'] / 1e6:.0f} MB/s"
            f" ({ours['seconds']:.2f}s), curl -T {size / curl_seconds / 1e6:.0f} MB/s ({curl_seconds:.2f}s)"
        )
    finally:
        s3.path(ours_key).unlink(missing_ok=True)
        s3.path(curl_key).unlink(missing_ok=True)
