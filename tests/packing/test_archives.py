"""check_archive on a corpus of broken archives, and safe_extract against zip-slip."""

from __future__ import annotations

import gzip
import io
import os
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest
from packing_helpers import PCD, PNG

from airflow_provider_xtreme1.archives import check_archive, pack_dataset, safe_extract
from airflow_provider_xtreme1.exceptions import Xtreme1ValidationError
from airflow_provider_xtreme1.sample_data import make_sample_dataset

LIDAR_ENTRIES = {"ds/lidar_point_cloud_0/0001.pcd": PCD, "ds/camera_image_0/0001.png": PNG}


def _zip(path: Path, entries: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, body in entries.items():
            zf.writestr(
                zipfile.ZipInfo(name), body, compress_type=compression
            )  # ZipInfo keeps "/abs", "../x"
    return path


def _valid_zip(tmp_path: Path) -> Path:
    return _zip(tmp_path / "ok.zip", LIDAR_ENTRIES)


def _truncated(tmp_path: Path, keep: float) -> Path:
    data = _zip(tmp_path / "src.zip", {**LIDAR_ENTRIES, "ds/pad.bin": os.urandom(20_000)}).read_bytes()
    target = tmp_path / "cut.zip"
    target.write_bytes(data[: int(len(data) * keep)])
    return target


def _tar(path: Path, entries: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w") as tf:
        for name, body in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tf.addfile(info, io.BytesIO(body))
    return path


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# (id, builder(tmp_path) -> path, dataset type, expected error fragment)
CORPUS = [
    ("missing", lambda t: t / "nope.zip", None, "nope.zip does not exist"),
    (
        "directory",
        lambda t: (t / "folder.zip").mkdir() or t / "folder.zip",
        None,
        "is a folder, not an archive",
    ),
    ("empty-file", lambda t: _write(t / "empty.zip", b""), None, "empty.zip is empty (0 bytes)"),
    ("empty-zip", lambda t: _zip(t / "e.zip", {}), None, "the ZIP archive has no entries"),
    (
        "gzip-named-zip",
        lambda t: _write(t / "g.zip", gzip.compress(b"x" * 100)),
        None,
        "g.zip: not a ZIP archive (it looks like gzip data)",
    ),
    (
        "text-named-zip",
        lambda t: _write(t / "t.zip", b"hello, I am not an archive"),
        None,
        "t.zip: not a ZIP archive",
    ),
    ("truncated-half", lambda t: _truncated(t, 0.5), None, "cut.zip: the ZIP central directory is missing"),
    ("truncated-tail", lambda t: _truncated(t, 0.995), None, "probably truncated"),
    (
        "dot-dot-entry",
        lambda t: _zip(t / "slip.zip", {**LIDAR_ENTRIES, "ds/../../evil.sh": b"x"}),
        None,
        "entry 'ds/../../evil.sh' would land outside the extraction folder",
    ),
    (
        "absolute-entry",
        lambda t: _zip(t / "abs.zip", {**LIDAR_ENTRIES, "/etc/cron.d/x": b"x"}),
        None,
        "entry '/etc/cron.d/x' would land outside",
    ),
    (
        "drive-letter-entry",
        lambda t: _zip(t / "drv.zip", {**LIDAR_ENTRIES, "C:/x.pcd": b"x"}),
        None,
        "entry 'C:/x.pcd' would land outside",
    ),
    (
        "no-sensor-folder",
        lambda t: _zip(t / "ns.zip", {"ds/points/0001.pcd": PCD}),
        "LIDAR_FUSION",
        "no `lidar_point_cloud_<digit>` folder found under ns.zip",
    ),
    (
        "lidar-type-image-layout",
        lambda t: _zip(t / "img.zip", {"ds/image_0/0001.png": PNG}),
        "LIDAR_BASIC",
        "is this an IMAGE dataset?",
    ),
    (
        "image-in-lidar-folder",
        lambda t: _zip(t / "il.zip", {**LIDAR_ENTRIES, "ds/lidar_point_cloud_0/2.jpg": PNG}),
        "LIDAR_FUSION",
        "ds/lidar_point_cloud_0/2.jpg: image file in point-cloud folder",
    ),
    (
        "rar",
        lambda t: _write(t / "ds.rar", b"Rar!\x1a\x07\x00"),
        None,
        "the server only imports .zip and .tar",
    ),
    ("tar-gz", lambda t: _write(t / "ds.tar.gz", gzip.compress(b"x")), None, "repack it as .zip"),
    ("no-suffix", lambda t: _write(t / "ds", b"PK\x03\x04"), None, "unsupported suffix '(none)'"),
    (
        "gzipped-tar-named-tar",
        lambda t: _write(t / "ds.tar", gzip.compress(b"x" * 600)),
        None,
        "a compressed tar named .tar",
    ),
    (
        "tar-dot-dot",
        lambda t: _tar(t / "slip.tar", {"ds/lidar_point_cloud_0/1.pcd": PCD, "../x": b"x"}),
        None,
        "entry '../x' would land outside",
    ),
    (
        "bzip2-entry",
        lambda t: _zip(t / "bz.zip", LIDAR_ENTRIES, zipfile.ZIP_BZIP2),
        None,
        "uses compression method 12; the server reads only stored or deflated entries",
    ),
]


@pytest.mark.parametrize(("build", "dtype", "fragment"), [c[1:] for c in CORPUS], ids=[c[0] for c in CORPUS])
def test_check_archive_corpus(tmp_path: Path, build, dtype, fragment):
    report = check_archive(build(tmp_path), dtype)
    assert any(fragment in e for e in report.errors), report.errors
    with pytest.raises(Xtreme1ValidationError, match="cannot be imported by Xtreme1"):
        report.raise_for_errors()


def test_valid_zip_and_tar_report_counts(tmp_path: Path):
    report = check_archive(_valid_zip(tmp_path), "LIDAR_FUSION")
    assert (report.errors, report.format, report.entries, report.files) == ([], "zip", 2, 2)
    assert report.bytes == len(PCD) + len(PNG) and report.items == 1
    tar = check_archive(_tar(tmp_path / "ok.tar", LIDAR_ENTRIES), "LIDAR_FUSION")
    assert (tar.errors, tar.format, tar.files, tar.bytes, tar.items) == ([], "tar", 2, len(PCD) + len(PNG), 1)


def test_tar_truncated(tmp_path: Path):
    data = _tar(tmp_path / "src.tar", {"ds/lidar_point_cloud_0/1.pcd": PCD * 20}).read_bytes()
    cut = _write(tmp_path / "cut.tar", data[:2048])
    assert any("truncated" in e for e in check_archive(cut).errors)


def test_packed_dataset_passes_and_names_are_only_warnings(tmp_path: Path):
    folder = make_sample_dataset(tmp_path / "ds", "IMAGE", items=3, scenes=1)
    packed = pack_dataset(folder, "IMAGE", tmp_path / "ds.zip")
    report = check_archive(packed.path, "IMAGE")
    assert (report.errors, report.warnings) == ([], [])
    assert (report.items, report.scenes, report.files) == (packed.items, packed.scenes, packed.files)
    odd = check_archive(_zip(tmp_path / "odd.zip", {"my data/image_0/1.png": PNG}), "IMAGE")
    assert odd.errors == [] and any("name contains ' '" in w for w in odd.warnings)


def test_only_the_directory_is_read(tmp_path: Path):
    """A stored entry's body is never read: corrupting it (CRC now wrong) goes unnoticed by design."""
    path = _zip(tmp_path / "a.zip", {"ds/lidar_point_cloud_0/1.pcd": PCD})
    data = bytearray(path.read_bytes())
    data[60] ^= 0xFF
    path.write_bytes(bytes(data))
    assert check_archive(path, "LIDAR_BASIC").errors == []


# ------------------------------------------------------------------------------------------- safe_extract


def test_safe_extract_extracts(tmp_path: Path):
    archive = _zip(
        tmp_path / "export.zip", {"exp/": b"", "exp/data/a.json": b"{}", "exp/result/a.json": b"[]"}
    )
    files = safe_extract(archive, tmp_path / "out")
    assert files == [
        tmp_path / "out" / "exp" / "data" / "a.json",
        tmp_path / "out" / "exp" / "result" / "a.json",
    ]
    assert files[0].read_bytes() == b"{}"


@pytest.mark.parametrize(
    "name", ["../evil.txt", "exp/../../evil.txt", "/tmp/evil.txt", "C:/evil.txt", "exp\\..\\..\\evil.txt"]
)
def test_safe_extract_refuses_zip_slip(tmp_path: Path, name: str):
    archive = _zip(tmp_path / "slip.zip", {"exp/ok.json": b"{}", name: b"owned"})
    dest = tmp_path / "nested" / "out"
    with pytest.raises(Xtreme1ValidationError, match="unsafe entries") as info:
        safe_extract(archive, dest)
    assert repr(name) in str(info.value)
    assert not dest.exists()  # nothing written, not even the good entry or the folder
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "nested" / "evil.txt").exists()


def test_safe_extract_refuses_symlinks(tmp_path: Path):
    info = zipfile.ZipInfo("exp/link")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(tmp_path / "link.zip", "w") as zf:
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(Xtreme1ValidationError, match="symbolic link"):
        safe_extract(tmp_path / "link.zip", tmp_path / "out")


def test_safe_extract_refuses_paths_through_existing_links(tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "out"
    dest.mkdir()
    os.symlink(outside, dest / "exp")
    archive = _zip(tmp_path / "e.zip", {"exp/data/a.json": b"{}"})
    with pytest.raises(Xtreme1ValidationError, match="outside"):
        safe_extract(archive, dest)
    assert list(outside.iterdir()) == []


def test_safe_extract_not_a_zip(tmp_path: Path):
    with pytest.raises(Xtreme1ValidationError, match="not a readable ZIP"):
        safe_extract(_write(tmp_path / "x.zip", b"nope"), tmp_path / "out")
