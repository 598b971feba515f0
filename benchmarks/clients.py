"""Our side of each measurement, run as a child process: ``python -m benchmarks.clients ACTION ...``.

Each action imports what a worker task would have loaded (the provider module and ``airflow.sdk``),
records ``VmRSS`` as the import baseline, does the work once, and prints one JSON line with the seconds
the work took, the baseline and the peak (``VmHWM``). The parent also measures the whole process
(``/usr/bin/time -v``).
"""

from __future__ import annotations

import json
import sys
import time

from benchmarks.common import proc_status_mib


def main(argv: list[str]) -> int:
    action, args = argv[0], argv[1:]
    import airflow.sdk  # noqa: F401  (a worker has it loaded; it is most of the baseline)

    from airflow_provider_xtreme1 import transfer
    from airflow_provider_xtreme1.archives import packing

    baseline = proc_status_mib("VmRSS")
    extra: dict[str, object] = {}
    started = time.perf_counter()
    if action in ("upload", "upload-nocheck"):
        url, path = args
        result = transfer.upload(url, path, checksum=action == "upload", progress_interval=-1)
        extra = {"etag": result.etag, "md5": result.md5, "bytes": result.bytes}
    elif action in ("upload-osp", "upload-osp-nocheck"):
        from airflow.sdk import ObjectStoragePath

        url, uri = args
        result = transfer.upload(
            url, ObjectStoragePath(uri), checksum=action == "upload-osp", progress_interval=-1
        )
        extra = {"etag": result.etag, "md5": result.md5, "bytes": result.bytes}
    elif action == "download":
        url, dest = args
        result = transfer.download(url, dest, overwrite=True, progress_interval=-1)
        extra = {"bytes": result.bytes}
    elif action == "pack":
        folder, out = args
        packed = packing.pack_dataset(folder, "LIDAR_FUSION", out, overwrite=True)
        extra = {"bytes": packed.bytes, "files": packed.files}
    elif action == "pack-put":
        folder, out, url = args
        packed = packing.pack_dataset(folder, "LIDAR_FUSION", out, overwrite=True)
        result = transfer.upload(url, packed.path, progress_interval=-1)
        extra = {"bytes": result.bytes, "etag": result.etag, "md5": result.md5}
    elif action == "stream-put":
        folder, url = args
        plan = packing.plan_zip(folder, "LIDAR_FUSION")
        result = transfer.upload(url, plan, progress_interval=-1)
        extra = {"bytes": result.bytes, "etag": result.etag, "md5": result.md5}
    elif action == "validate":
        (folder,) = args
        report = packing.validate_dataset_folder(folder, "LIDAR_FUSION")
        extra = {"files": report.files, "errors": len(report.errors), "items": report.items}
    else:
        raise SystemExit(f"unknown action {action}")
    seconds = time.perf_counter() - started
    peak = proc_status_mib("VmHWM")
    print(json.dumps({"seconds": seconds, "baseline_mib": baseline, "peak_mib": peak, **extra}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
