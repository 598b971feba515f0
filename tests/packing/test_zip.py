"""plan_zip and pack_dataset: exact sizes, re-iterable streams, ZIP64, atomic writes."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import time
import zipfile
import zlib
from pathlib import Path

import pytest
from packing_helpers import PCD, tree_hash, write_tree

from airflow_provider_xtreme1.archives import ZipPlan, pack_dataset, plan_zip, validate_dataset_folder
from airflow_provider_xtreme1.exceptions import Xtreme1ValidationError
from airflow_provider_xtreme1.sample_data import make_sample_dataset


def _source_files(folder: Path) -> dict[str, bytes]:
    return {
        f"{folder.name}/{p.relative_to(folder).as_posix()}": p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file()
    }


def test_plan_size_matches_bytes_and_contents(tmp_path: Path):
    folder = make_sample_dataset(tmp_path / "ds", "LIDAR_FUSION", items=3, scenes=1)
    plan = plan_zip(folder, "LIDAR_FUSION")
    first = b"".join(plan.iter_bytes())
    second = b"".join(plan.iter_bytes(chunk_size=4096))
    assert len(first) == plan.size == len(plan)
    assert first == second  # a new pass gives the same bytes, whatever the chunking
    with zipfile.ZipFile(io.BytesIO(first)) as zf:
        assert zf.testzip() is None
        assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist())
        names = zf.namelist()
        assert all(n.startswith("ds/") for n in names) and "ds/" in names and "ds/scene_01/" in names
        assert {n: zf.read(n) for n in names if not n.endswith("/")} == _source_files(folder)
    assert plan.files == 30 and plan.report.items == 6


def test_iter_bytes_chunks_and_fresh_iterators(tmp_path: Path):
    folder = make_sample_dataset(tmp_path / "ds", "IMAGE", items=20)
    plan = plan_zip(folder, "IMAGE")
    chunks = list(plan.iter_bytes(chunk_size=16_384))
    assert all(len(c) >= 16_384 for c in chunks[:-1]) and len(chunks[-1]) > 0
    assert sum(map(len, chunks)) == plan.size
    one, two = plan.iter_bytes(), plan.iter_bytes()
    assert one is not two
    next(one)  # a half-consumed pass does not disturb a new one
    assert b"".join(two) == b"".join(chunks)
    assert b"".join(iter(plan)) == b"".join(chunks)
    with pytest.raises(ValueError):
        plan.iter_bytes(0)


def test_unzip_tool_accepts_the_archive(tmp_path: Path):
    if not shutil.which("unzip"):
        pytest.skip("unzip is not installed")
    folder = make_sample_dataset(tmp_path / "ds", "LIDAR_BASIC", items=2)
    out = pack_dataset(folder, "LIDAR_BASIC", tmp_path / "ds.zip")
    proc = subprocess.run(["unzip", "-tq", str(out.path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_plan_refuses_invalid_folder_and_foreign_report(tmp_path: Path):
    bad = write_tree(tmp_path / "bad", {"pcd/0001.pcd": PCD})
    with pytest.raises(Xtreme1ValidationError, match="not a valid LIDAR_BASIC dataset folder"):
        plan_zip(bad, "LIDAR_BASIC")
    good = make_sample_dataset(tmp_path / "good", "LIDAR_BASIC", items=1)
    report = validate_dataset_folder(good, "LIDAR_BASIC")
    with pytest.raises(ValueError, match="the report is for"):
        plan_zip(good, "LIDAR_FUSION", report=report)
    assert plan_zip(good, "LIDAR_BASIC", report=report).report is report


def test_change_after_planning_is_detected(tmp_path: Path):
    folder = make_sample_dataset(tmp_path / "ds", "LIDAR_BASIC", items=2)
    plan = plan_zip(folder, "LIDAR_BASIC")
    with open(folder / "lidar_point_cloud_0" / "000002.pcd", "ab") as fh:
        fh.write(b"1 2 3 4\n")
    with pytest.raises(Xtreme1ValidationError, match="changed after its archive was planned"):
        b"".join(plan.iter_bytes())
    (folder / "lidar_point_cloud_0" / "000001.pcd").unlink()
    with pytest.raises(Xtreme1ValidationError, match=r"000001\.pcd"):
        b"".join(plan.iter_bytes())


def test_zip64_for_a_file_over_4_gib(tmp_path: Path):
    """A 4.1 GiB sparse point cloud: ZIP64 sizes and offsets, without writing gigabytes."""
    big = tmp_path / "ds" / "lidar_point_cloud_0" / "000001.pcd"
    write_tree(
        tmp_path / "ds", {"lidar_point_cloud_0/000001.pcd": PCD, "lidar_point_cloud_0/000002.pcd": PCD}
    )
    size = 4_400_000_000
    os.truncate(big, size)
    if big.stat().st_blocks * 512 > 64 << 20:
        pytest.skip("this file system does not keep sparse files sparse")
    start = time.perf_counter()
    plan = plan_zip(tmp_path / "ds", "LIDAR_BASIC")
    zero = bytes(1 << 20)
    out = tmp_path / "sparse.zip"
    produced = 0
    with open(out, "wb") as fh:  # keep the copy sparse: seek over chunks of zeros
        for chunk in plan.iter_bytes():
            produced += len(chunk)
            if len(chunk) <= len(zero) and chunk == zero[: len(chunk)]:
                fh.seek(len(chunk), os.SEEK_CUR)
            else:
                fh.write(chunk)
        fh.truncate()
    assert produced == plan.size == out.stat().st_size
    with zipfile.ZipFile(out) as zf:
        infos = {i.filename: i for i in zf.infolist()}
        assert infos["ds/lidar_point_cloud_0/000001.pcd"].file_size == size
        second = infos["ds/lidar_point_cloud_0/000002.pcd"]
        assert second.header_offset > 1 << 32  # only representable through the ZIP64 extra field
        assert zf.read(second) == PCD
        crc = zlib.crc32(PCD)
        for _ in range((size - len(PCD)) // len(zero)):
            crc = zlib.crc32(zero, crc)
        crc = zlib.crc32(bytes((size - len(PCD)) % len(zero)), crc)
        assert crc == infos["ds/lidar_point_cloud_0/000001.pcd"].CRC
    print(f"\nZIP64 sparse round trip: {time.perf_counter() - start:.1f} s")


def test_exactly_65535_entries_and_more(tmp_path: Path):
    """zipstream-ng under-counts len() at exactly 65,535 entries; the plan must still be exact."""
    folder = tmp_path / "ds"
    sensor = folder / "lidar_point_cloud_0"
    sensor.mkdir(parents=True)
    for i in range(65_533):  # + 2 folder entries = 65,535 entries
        (sensor / f"{i:06d}.pcd").touch()
    for extra in (False, True):
        if extra:
            (sensor / "zzzzzz.pcd").touch()  # 65,536 entries: ZIP64 end records required
        plan = plan_zip(folder, "LIDAR_BASIC")
        data = b"".join(plan.iter_bytes())
        assert len(data) == plan.size
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            assert len(zf.infolist()) == len(plan.entries) == (65_536 if extra else 65_534)
            assert sum(1 for n in zf.namelist() if n.endswith(".pcd")) == 65_533 + extra


# ----------------------------------------------------------------------------------------- pack_dataset


def test_pack_writes_planned_archive(tmp_path: Path):
    folder = make_sample_dataset(tmp_path / "src" / "ds", "IMAGE", items=4, scenes=1)
    before = tree_hash(folder)
    result = pack_dataset(folder, "IMAGE", tmp_path / "out" / "ds.zip", with_results=True)
    assert tree_hash(folder) == before
    assert result.path == tmp_path / "out" / "ds.zip"
    assert (result.items, result.scenes, result.files, result.warnings) == (8, 1, 16, [])
    assert result.bytes == result.path.stat().st_size == plan_zip(folder, "IMAGE").size
    assert list((tmp_path / "out").iterdir()) == [result.path]
    with zipfile.ZipFile(result.path) as zf:
        assert {n: zf.read(n) for n in zf.namelist() if not n.endswith("/")} == _source_files(folder)


def test_existing_output_is_untouched_without_overwrite(tmp_path: Path):
    folder = make_sample_dataset(tmp_path / "ds", "LIDAR_BASIC", items=2)
    out = tmp_path / "ds.zip"
    out.write_bytes(b"precious")
    with pytest.raises(FileExistsError) as info:
        pack_dataset(folder, "LIDAR_BASIC", out)
    assert str(out) in str(info.value) and "overwrite=True" in str(info.value)
    assert out.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds", "ds.zip"]
    result = pack_dataset(folder, "LIDAR_BASIC", out, overwrite=True)
    assert zipfile.is_zipfile(out) and result.bytes == out.stat().st_size


def test_failure_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    folder = make_sample_dataset(tmp_path / "ds", "LIDAR_BASIC", items=2)
    before = tree_hash(folder)
    out_dir = tmp_path / "out"
    out_dir.mkdir()

    def broken(self, chunk_size=1 << 20):
        yield b"PK\x03\x04partial"
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ZipPlan, "iter_bytes", broken)
    with pytest.raises(OSError, match="No space left"):
        pack_dataset(folder, "LIDAR_BASIC", out_dir / "ds.zip")
    assert list(out_dir.iterdir()) == []

    def interrupted(self, chunk_size=1 << 20):
        yield b"PK"
        raise KeyboardInterrupt

    monkeypatch.setattr(ZipPlan, "iter_bytes", interrupted)
    with pytest.raises(KeyboardInterrupt):
        pack_dataset(folder, "LIDAR_BASIC", out_dir / "ds.zip")
    assert list(out_dir.iterdir()) == []
    assert tree_hash(folder) == before


def test_invalid_folder_writes_nothing(tmp_path: Path):
    folder = write_tree(tmp_path / "ds", {"lidar_point_cloud_0/a b.pcd": PCD})
    with pytest.raises(Xtreme1ValidationError, match="name contains ' '"):
        pack_dataset(folder, "LIDAR_BASIC", tmp_path / "out" / "ds.zip")
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize("target", ["ds/inside.zip", "ds/lidar_point_cloud_0/x.zip", "ds.tar", "ds.ZIP.txt"])
def test_bad_output_paths(tmp_path: Path, target: str):
    folder = make_sample_dataset(tmp_path / "ds", "LIDAR_BASIC", items=1)
    before = tree_hash(folder)
    with pytest.raises(ValueError, match=r"inside the dataset folder|must end with \.zip"):
        pack_dataset(folder, "LIDAR_BASIC", tmp_path / target)
    assert tree_hash(folder) == before


def test_output_through_symlink_into_source_is_refused(tmp_path: Path):
    folder = make_sample_dataset(tmp_path / "ds", "LIDAR_BASIC", items=1)
    os.symlink(folder, tmp_path / "alias")
    with pytest.raises(ValueError, match="inside the dataset folder"):
        pack_dataset(folder, "LIDAR_BASIC", tmp_path / "alias" / "x.zip")
