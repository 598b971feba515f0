"""The import workers' scratch disk (download + extraction, zip deleted once extracted), its peak, the stats
endpoint and the ``throttle`` fault that keeps a storage PUT under way long enough to act on it."""

from __future__ import annotations

import io
import threading
import time
import zipfile

import requests
from emulator_kit import Api, make_tar, pcd_bytes

from airflow_provider_xtreme1.emulator import Fault, Xtreme1Emulator


def lidar_files(frames: int, points: int) -> dict[str, bytes]:
    return {f"pkg/lidar_point_cloud_0/{i:04d}.pcd": pcd_bytes(points) for i in range(frames)}


def stored_zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for name, content in files.items():
            zf.writestr(name, content)
    return buf.getvalue()


def test_peak_is_the_download_plus_its_extraction_and_all_is_freed(emu: Xtreme1Emulator, api: Api):
    files = lidar_files(6, 4000)
    payload = stored_zip(files)
    extracted = sum(len(b) for b in files.values())
    dataset = api.dataset("LIDAR_BASIC")
    assert emu.scratch_peak_bytes == 0 and emu.stats["uploadWorkers"] == 2

    rec = api.import_ok(dataset, payload)

    assert rec["status"] == "PARSE_COMPLETED" and rec["parsedDataNum"] == 6, rec
    emu.wait_jobs()
    # The zip and every extracted byte were on the disk together, once; nothing is left after the job.
    assert emu.scratch_peak_bytes == len(payload) + extracted
    assert emu.scratch_bytes == 0
    stats = requests.get(f"{emu.url}/_emulator/stats", timeout=5).json()
    assert stats["scratchPeakBytes"] == len(payload) + extracted and stats["scratchBytes"] == 0
    assert stats["putsInFlight"] == []

    answer = requests.post(f"{emu.url}/_emulator/stats/reset-peak", timeout=5).json()
    assert answer["scratchPeakBytes"] == 0 == emu.scratch_peak_bytes


def test_a_zip_is_deleted_once_extracted_a_tar_stays(emu: Xtreme1Emulator, api: Api, tmp_path):
    """``zipDecompress`` deletes the archive, ``tarDecompress`` does not: seen while the job parses."""
    files = lidar_files(2, 2000)
    extracted = sum(len(b) for b in files.values())
    held: dict[str, int] = {}
    for name, payload in (("pkg.zip", stored_zip(files)), ("pkg.tar", make_tar(files))):
        emu.inject(Fault(path=r"^/api/data/upload$", kind="stall", stall_at="PARSING"))
        dataset = api.dataset("LIDAR_BASIC")
        api.upload(dataset, payload, file_name=name)
        emu.wait_jobs()
        # The stalled job is gone and so is its folder; its peak shows what it held while parsing.
        assert emu.scratch_bytes == 0
        held[name] = emu.scratch_peak_bytes - extracted
        emu.reset()
    assert held == {"pkg.zip": len(stored_zip(files)), "pkg.tar": len(make_tar(files))}


def test_two_imports_at_once_add_up_a_third_waits(tmp_path):
    """Two upload workers: with three archives queued, at most two are on the disk together."""
    with Xtreme1Emulator(token="secret-token", step_delay=0.3) as emu:
        api = Api(emu)
        dataset = api.dataset("LIDAR_BASIC")
        packages = [lidar_files(3, 1000 * (3 - k)) for k in range(3)]  # the first two are the largest
        payloads = [stored_zip(files) for files in packages]
        serials = [api.upload(dataset, p, file_name=f"pkg{k}.zip") for k, p in enumerate(payloads)]
        for serial in serials:
            assert api.wait_upload(serial, timeout=30)[0]["status"] == "PARSE_COMPLETED"
        emu.wait_jobs()
        # each job alone: its zip + what it extracts
        pairs = zip(payloads, packages, strict=True)
        alone = sorted((len(p) + sum(map(len, files.values())) for p, files in pairs), reverse=True)
        assert emu.scratch_peak_bytes > alone[0]
        assert emu.scratch_peak_bytes <= alone[0] + alone[1]
        assert emu.scratch_bytes == 0


def test_throttle_fault_keeps_a_put_in_flight(emu: Xtreme1Emulator, api: Api):
    dataset = api.dataset("LIDAR_BASIC")
    urls = api.data(api.get("/data/generatePresignedUrl", fileName="slow.zip", datasetId=dataset))
    body = b"x" * (1024 * 1024)
    emu.inject(Fault(path=r"^/minio/", method="PUT", kind="throttle", delay=1.5))
    answer: dict[str, requests.Response] = {}
    started = time.monotonic()
    put = threading.Thread(target=lambda: answer.update(r=requests.put(urls["presignedUrl"], data=body)))
    put.start()
    seen = []
    while put.is_alive() and not seen:
        seen = [p for p in emu.stats["putsInFlight"] if 0 < p["bytes"] < p["length"]]
        time.sleep(0.02)
    put.join(10)
    assert seen and seen[0]["key"].endswith("/slow.zip") and seen[0]["length"] == len(body)
    assert answer["r"].status_code == 200 and time.monotonic() - started >= 1.4
    assert emu.stats["putsInFlight"] == []
    assert [e["bytes"] for e in emu.storage_log if e["method"] == "PUT"] == [len(body)]
