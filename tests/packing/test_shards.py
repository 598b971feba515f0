"""The shard planner: a folder split into stored ZIPs of at most a given size, by scene and data item."""

from __future__ import annotations

import io
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from packing_helpers import DIALOG, PCD, PNG, RESULT_3D, write_tree

from airflow_provider_xtreme1._arguments import parse_size
from airflow_provider_xtreme1.archives import plan_zip, read_manifest
from airflow_provider_xtreme1.archives.packing import _build_stream
from airflow_provider_xtreme1.archives.shards import PresentNames, open_shard, plan_shards, zip_size
from airflow_provider_xtreme1.exceptions import Xtreme1ValidationError
from airflow_provider_xtreme1.sample_data import make_sample_dataset


def shard_zips(plan) -> list[zipfile.ZipFile]:
    """Every shard streamed to bytes (as the PUT sends it) and opened as a ZIP."""
    out = []
    for shard in plan.shards:
        zplan, _ = open_shard(shard.describe())
        data = b"".join(zplan.iter_bytes(chunk_size=4096))
        assert len(data) == zplan.size == shard.size == shard.describe()["bytes"]
        assert len(data) <= plan.max_shard_bytes, (shard.index, len(data), plan.max_shard_bytes)
        archive = zipfile.ZipFile(io.BytesIO(data))
        assert archive.testzip() is None
        out.append(archive)
    return out


def files_of(archive: zipfile.ZipFile) -> set[str]:
    return {n for n in archive.namelist() if not n.endswith("/")}


@pytest.fixture
def fusion(tmp_path: Path) -> Path:
    """LIDAR_FUSION: 6 root frames with 2 cameras, configs and results, and 2 scenes of 6 frames."""
    return make_sample_dataset(tmp_path / "drive", "LIDAR_FUSION", items=6, scenes=2, cameras=2)


def limit_for(folder: Path, dataset_type: str, parts: float) -> int:
    return int(plan_zip(folder, dataset_type).size / parts)


def test_same_folder_gives_the_same_shards(fusion):
    limit = limit_for(fusion, "LIDAR_FUSION", 1.8)
    first = plan_shards(fusion, "LIDAR_FUSION", limit, with_results=True)
    again = plan_shards(str(fusion), "lidar_fusion", str(limit), with_results=True)
    assert len(first.shards) >= 3
    assert first.describe() == again.describe()
    assert len({d["digest"] for d in first.describe()}) == len(first.shards)
    first_desc = first.shards[0].describe()
    assert set(first_desc) >= {
        "index", "count", "folder", "dataset_type", "max_shard_bytes", "digest",
        "items", "scenes", "files", "bytes", "first", "last",
    }  # fmt: skip
    assert first_desc["index"] == 0 and first_desc["count"] == len(first.shards)
    assert first_desc["folder"] == str(fusion) and first_desc["max_shard_bytes"] == limit


@pytest.mark.parametrize(
    ("dataset_type", "sample", "parts"),
    [
        ("LIDAR_FUSION", {"items": 6, "scenes": 2, "cameras": 2}, 1.8),
        ("LIDAR_BASIC", {"items": 9, "scenes": 1}, 1.5),
        ("IMAGE", {"items": 7, "scenes": 1}, 1.8),
        ("TEXT", {"items": 7}, 3),
    ],
)
def test_shards_fit_and_together_are_the_whole_archive(tmp_path, dataset_type, sample, parts):
    folder = make_sample_dataset(tmp_path / "set", dataset_type, **sample)
    full = plan_zip(folder, dataset_type)
    limit = int(full.size / parts)
    plan = plan_shards(folder, dataset_type, limit, with_results=dataset_type != "TEXT")
    assert len(plan.shards) >= 2
    archives = shard_zips(plan)
    every = Counter(n for a in archives for n in files_of(a))
    assert set(every) == {arc for arc, _, _ in full.entries if not arc.endswith("/")}
    assert set(every.values()) == {1}, "a file went into two shards"
    names = {n for a in archives for n in a.namelist()}
    assert names == {arc for arc, _, _ in full.entries}
    for archive in archives:  # the top folder and the parents of every file, as in the full archive
        for name in files_of(archive):
            assert name.startswith(f"{folder.name}/")
            assert name.rsplit("/", 1)[0] + "/" in archive.namelist()
    # what the shards send adds up to what the whole folder sends
    manifests = [open_shard(s.describe())[1] for s in plan.shards]
    assert sum(m.item_count for m in manifests) == read_manifest(folder, dataset_type).item_count
    assert sum(s.items for s in plan.shards) == plan.report.items


def test_scenes_and_items_never_split(tmp_path):
    folder = make_sample_dataset(tmp_path / "drive", "LIDAR_FUSION", items=8, scenes=3, cameras=2)
    # a second data parent below the top folder: its items are root-level items too
    extra = make_sample_dataset(tmp_path / "more", "LIDAR_FUSION", items=3, cameras=2)
    for path in sorted(extra.rglob("*.*")):
        target = folder / "batch_b" / path.relative_to(extra).with_name(path.name.replace("000", "b00"))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    plan = plan_shards(folder, "LIDAR_FUSION", limit_for(folder, "LIDAR_FUSION", 4), with_results=True)
    assert len(plan.shards) >= 4
    where: dict[str, set[int]] = {}
    for index, archive in enumerate(shard_zips(plan)):
        for name in files_of(archive):
            parts = name.split("/")[1:]
            if parts[0].startswith("scene_"):
                unit = parts[0]
            elif parts[0] == "batch_b":
                unit = "batch_b/" + parts[-1].rsplit(".", 1)[0]
            else:
                unit = parts[-1].rsplit(".", 1)[0]
            where.setdefault(unit, set()).add(index)
    assert {u: s for u, s in where.items() if len(s) > 1} == {}
    assert {"scene_01", "scene_02", "scene_03", "000001", "000008", "batch_b/b00001"} <= set(where)
    # every root frame went with its point cloud, both camera images, its camera config and its result
    first = shard_zips(plan)[0]
    assert {n.split("/", 1)[1] for n in files_of(first) if n.split("/")[-1].startswith("000001.")} == {
        "lidar_point_cloud_0/000001.pcd",
        "camera_image_0/000001.png",
        "camera_image_1/000001.png",
        "camera_config/000001.json",
        "result/000001.json",
    }
    # units go in the archive's natural order: neighbouring frames stay together
    labels = [u.label for s in plan.shards for u in s.units]
    assert labels[:8] == [f"{i:06d}" for i in range(1, 9)]
    assert labels[8:11] == ["batch_b/b00001", "batch_b/b00002", "batch_b/b00003"]
    assert labels[11:] == ["scene_01", "scene_02", "scene_03"]


def test_unread_files_and_empty_folders_are_sent_once(tmp_path):
    folder = write_tree(
        tmp_path / "ds",
        {
            "lidar_point_cloud_0/0001.pcd": PCD,
            "lidar_point_cloud_0/0002.pcd": PCD,
            "result/0001.json": RESULT_3D,
            "notes/readme.txt": "hello",
        },
    )
    (folder / "empty" / "deeper").mkdir(parents=True)
    full = plan_zip(folder, "LIDAR_BASIC", allow_unread_files=True)
    plan = plan_shards(folder, "LIDAR_BASIC", full.size - 200, allow_unread_files=True)
    archives = shard_zips(plan)
    assert len(archives) >= 2
    assert {n for a in archives for n in a.namelist()} == {arc for arc, _, _ in full.entries}
    assert "ds/empty/deeper/" in archives[0].namelist()
    with pytest.raises(Xtreme1ValidationError, match="notes/"):
        plan_shards(folder, "LIDAR_BASIC", full.size)  # validated like the pack step


def test_a_scene_larger_than_the_limit_is_named(fusion):
    plan = plan_shards(fusion, "LIDAR_FUSION", "100MB", with_results=True)
    assert len(plan.shards) == 1
    scene = zip_size(
        e for e in plan_zip(fusion, "LIDAR_FUSION").entries if "/scene_01/" in e[0] or e[0].count("/") <= 1
    )
    with pytest.raises(Xtreme1ValidationError) as err:
        plan_shards(fusion, "LIDAR_FUSION", scene // 2)
    text = str(err.value)
    assert "scene scene_01:" in text and "scene scene_02:" in text
    assert f"max_shard_bytes={scene // 2}" in text and "never split" in text
    assert "scene_01/camera_config/000001.json" in text


def test_an_item_larger_than_the_limit_is_named(tmp_path):
    folder = write_tree(
        tmp_path / "ds",
        {
            "image_0/0001.png": PNG,
            "image_0/0002.png": PNG + b"\0" * 30000,
            "image_0/0003.png": PNG,
            "result/0002.json": '{"objects": []}',
        },
    )
    with pytest.raises(Xtreme1ValidationError) as err:
        plan_shards(folder, "IMAGE", "20KB")
    text = str(err.value)
    assert "data item 0002:" in text and "image_0/0002.png" in text and "result/0002.json" in text
    assert "0001" not in text.split("\n", 1)[1]
    with pytest.raises(ValueError, match="max_shard_bytes"):
        plan_shards(folder, "IMAGE", "20 G")


def test_open_shard_refuses_a_changed_folder(fusion):
    plan = plan_shards(fusion, "LIDAR_FUSION", limit_for(fusion, "LIDAR_FUSION", 1.8), with_results=True)
    descriptors = plan.describe()
    open_shard(descriptors[1])
    # a frame of the second shard's scene grows: that shard no longer matches, the others still do
    victim = fusion / "scene_01" / "result" / "000002.json"
    victim.write_text(victim.read_text() + " ")
    with pytest.raises(Xtreme1ValidationError, match=r"changed after it was planned.*shard 2") as err:
        open_shard(descriptors[1])
    assert "planned: shard 2 of" in str(err.value) and "changed size" in str(err.value)
    open_shard(descriptors[0])
    # a new root frame makes the first shard differ
    (fusion / "lidar_point_cloud_0" / "000007.pcd").write_bytes(PCD)
    with pytest.raises(Xtreme1ValidationError, match="shard 1"):
        open_shard(descriptors[0])
    with pytest.raises(ValueError, match="shard descriptor"):
        open_shard({"index": 0})


def test_open_shard_leaves_out_what_the_dataset_holds(fusion):
    plan = plan_shards(fusion, "LIDAR_FUSION", limit_for(fusion, "LIDAR_FUSION", 1.8), with_results=True)
    first, scene = plan.shards[0], next(s for s in plan.shards if s.scenes)
    zplan, manifest = open_shard(first.describe(), present=PresentNames.of(items=["000002", "000005"]))
    assert zplan.report.items == first.items - 2 and manifest.item_count == first.items - 2
    names = {n for n in zipfile.ZipFile(io.BytesIO(b"".join(zplan))).namelist() if not n.endswith("/")}
    assert not [n for n in names if "000002." in n or "000005." in n]
    assert [n for n in names if "000001." in n]
    scene_name = scene.units[0].name
    zplan, manifest = open_shard(scene.describe(), present=PresentNames.of(scenes=[scene_name.upper()]))
    assert manifest.parents == [] and zplan.report.items == 0 and zplan.entries == ()
    # present items elsewhere do not matter to a shard
    zplan, manifest = open_shard(scene.describe(), present=PresentNames.of(items=["000001"]))
    assert zplan.size == scene.size


def test_text_files_present_are_left_out(tmp_path):
    folder = write_tree(tmp_path / "chats", {f"text/d{i}.json": DIALOG for i in range(1, 5)})
    plan = plan_shards(folder, "TEXT", "1MB")
    _, manifest = open_shard(plan.shards[0].describe())
    assert [i.name for i in manifest.parents[0].items] == ["d1_1", "d2_1", "d3_1", "d4_1"]
    zplan, manifest = open_shard(plan.shards[0].describe(), present=PresentNames.of(items=["d1_1", "D3_1"]))
    assert [i.name for i in manifest.parents[0].items] == ["d2_1", "d4_1"] and zplan.report.items == 2


def test_zip_size_is_what_zipstream_writes(tmp_path):
    files = {"ds/a.bin": 10, "ds/sub/b.bin": 0, "ds/sub/c.bin": 3 << 30, "ds/sub/d.bin": 5}
    entries = [("ds/", str(tmp_path / "ds"), 0), ("ds/sub/", str(tmp_path / "ds" / "sub"), 0)]
    for rel, size in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as fh:  # sparse: no disk used
            fh.truncate(size)
        entries.append((rel, str(path), size))
    for cut in (2, 4, len(entries)):
        assert zip_size(entries[:cut]) == len(_build_stream(tuple(entries[:cut])))
    many = [("t/", str(tmp_path), 0)] + [(f"t/{i}", str(tmp_path / "ds" / "a.bin"), 10) for i in range(70000)]
    assert zip_size(many) == len(_build_stream(tuple(many)))


@pytest.mark.parametrize(
    ("given", "expected"),
    [(123, 123), ("2GiB", 2 << 30), ("500MB", 500_000_000), (" 1.5 gb ", 1_500_000_000), ("64 KiB", 65536),
     ("42", 42), ("7b", 7)],
)  # fmt: skip
def test_sizes_are_parsed(given, expected):
    assert parse_size(given, "max_shard_bytes") == expected


@pytest.mark.parametrize("given", ["2G", "lots", "", "-5MB", 0, True, None, "1e9"])
def test_bad_sizes_are_refused(given):
    with pytest.raises(ValueError, match="max_shard_bytes"):
        parse_size(given, "max_shard_bytes")


def test_shards_past_the_zip64_limit_stay_within_it(tmp_path):
    """Shards of about 2 GiB need ZIP64 fields: their promised size is still exact and within the limit
    (sparse files: sizes without disk use; the split reads names and sizes only)."""
    from airflow_provider_xtreme1.archives.shards import _shards

    top = tmp_path / "big"
    entries = [("big/", str(top), 0), ("big/image_0/", str(top / "image_0"), 0)]
    (top / "image_0").mkdir(parents=True)
    for i in range(1, 8):
        path = top / "image_0" / f"{i:04d}.png"
        size = (800 << 20) + i * 4099
        with open(path, "wb") as fh:
            fh.truncate(size)
        entries.append((f"big/image_0/{path.name}", str(path), size))
    limit = parse_size("2.5GiB", "max_shard_bytes")
    shards = _shards(entries, "IMAGE", limit, str(top), with_results=False, allow_unread_files=False)
    assert [s.items for s in shards] == [3, 3, 1]
    for shard in shards:
        assert shard.size == len(_build_stream(shard.entries)) <= limit
    assert shards[0].size > 0x7FFFFFFF  # past ZIP64_LIMIT: offsets and end records in ZIP64 form
