"""Bad inputs users really give: each fails with a message that says what to fix, before anything is
uploaded or started, and without touching what the user passed.

The table runs each operator for real (``execute`` with a minimal context, retries in milliseconds);
a few representative rows also run through Airflow (``dag.test()``).
"""

from __future__ import annotations

import io
import re
import shutil
import socket
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from reliability_kit import tree_digest
from xtreme1_testing import connection_uri, run_dag

from airflow_provider_xtreme1.exceptions import (
    Xtreme1ConfigError,
    Xtreme1DestinationExistsError,
    Xtreme1NotFoundError,
    Xtreme1TransportError,
    Xtreme1ValidationError,
)
from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1Hook
from airflow_provider_xtreme1.operators.datasets import Xtreme1PackDatasetOperator
from airflow_provider_xtreme1.operators.export import Xtreme1ExportOperator
from airflow_provider_xtreme1.operators.models import Xtreme1RunModelOperator
from airflow_provider_xtreme1.operators.upload import (
    Xtreme1ImportDatasetOperator,
    Xtreme1PutArchiveOperator,
    Xtreme1UploadDatasetOperator,
)
from airflow_provider_xtreme1.sample_data import make_sample_dataset

#: What no row may reach: the upload PUT, the import, an export or a model run.
STARTS = {("POST", "/api/data/upload"), ("GET", "/api/data/export"), ("POST", "/api/model/modelRun")}


@dataclass(frozen=True)
class World:
    inputs: Path  # everything the user passes lives under here
    lidar: dict[str, Any]
    image: dict[str, Any]
    emu: Any
    tls_url: str
    monkeypatch: Any


def upload(world: World, source: Any, **kwargs: Any) -> Xtreme1UploadDatasetOperator:
    kwargs.setdefault("dataset_id", world.lidar["id"])
    return Xtreme1UploadDatasetOperator(task_id="upload", source=str(source), progress_interval=-1, **kwargs)


def lidar_folder(world: World, name: str = "drive") -> Path:
    return make_sample_dataset(world.inputs / name, "LIDAR_FUSION", items=1, with_results=False)


def zip_of(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def truncated_zip(world: World) -> Path:
    folder = lidar_folder(world, "to-zip")
    whole = Path(shutil.make_archive(str(world.inputs / "whole"), "zip", folder))
    cut = world.inputs / "cut.zip"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    return cut


def escaping_zip(world: World) -> Path:
    return zip_of(
        world.inputs / "escape.zip",
        {"set/lidar_point_cloud_0/000001.pcd": b"VERSION .7\n", "set/../../evil.pcd": b"x"},
    )


def tar_gz(world: World) -> Path:
    path = world.inputs / "set.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        info = tarfile.TarInfo("set/lidar_point_cloud_0/000001.pcd")
        info.size = 2
        tf.addfile(info, io.BytesIO(b"xx"))
    return path


def no_sensor_folder(world: World) -> Path:
    folder = world.inputs / "export-from-tool"
    (folder / "pointclouds").mkdir(parents=True)
    (folder / "pointclouds" / "000001.pcd").write_text("VERSION .7\n")
    return folder


def unsafe_names(world: World) -> Path:
    folder = make_sample_dataset(world.inputs / "unsafe", "LIDAR_BASIC", items=1)
    pcd = next((folder / "lidar_point_cloud_0").iterdir())
    pcd.rename(pcd.with_name("frame 01%.pcd"))
    return folder


def near_miss(world: World, name: str, *moves: tuple[str, str], scenes: int = 0) -> Path:
    """A sample LIDAR_FUSION folder with some of its paths renamed (``(old, new)`` pairs)."""
    folder = make_sample_dataset(
        world.inputs / name, "LIDAR_FUSION", items=2, scenes=scenes, with_results=False
    )
    for old, new in moves:
        (folder / new).parent.mkdir(parents=True, exist_ok=True)
        (folder / old).rename(folder / new)
    return folder


def stray_files(world: World) -> Path:
    folder = near_miss(world, "stray")
    (folder / "README.md").write_text("drive 0412, front camera cracked\n")
    (folder / "000009.pcd").write_bytes((folder / "lidar_point_cloud_0" / "000001.pcd").read_bytes())
    return folder


def scene_too_deep(world: World) -> Path:
    folder = near_miss(world, "deep", scenes=1)
    scene = folder / "scene_01"
    (scene / "frames").mkdir()
    for child in list(scene.iterdir()):
        if child.name != "frames":
            child.rename(scene / "frames" / child.name)
    return folder


def put_near_miss(world: World) -> Xtreme1PutArchiveOperator:
    with Xtreme1Hook() as hook:
        target = hook.get_presigned_upload_url(world.lidar["id"], "set.zip")
    world.emu.reset()
    return Xtreme1PutArchiveOperator(
        task_id="put",
        presigned_url=target["presignedUrl"],
        source=str(near_miss(world, "put", ("lidar_point_cloud_0", "lidar_point_cloud"), scenes=1)),
        dataset_type="LIDAR_FUSION",
        progress_interval=-1,
    )


def pack_near_miss(world: World) -> Xtreme1PackDatasetOperator:
    return Xtreme1PackDatasetOperator(
        task_id="pack",
        source_folder=str(near_miss(world, "pack", ("camera_image_1", "Camera_Image_1"))),
        dataset_type="LIDAR_FUSION",
        output_path=str(world.inputs.parent / "out" / "pack.zip"),
    )


def put_a_folder(world: World) -> Xtreme1PutArchiveOperator:
    with Xtreme1Hook() as hook:
        target = hook.get_presigned_upload_url(world.lidar["id"], "set.zip")
    world.emu.reset()
    return Xtreme1PutArchiveOperator(
        task_id="put",
        presigned_url=target["presignedUrl"],
        source=str(lidar_folder(world)),
        progress_interval=-1,
    )


def existing_destination(world: World) -> Xtreme1ExportOperator:
    target = world.inputs / "gt.zip"
    target.write_bytes(b"last week's export")
    return Xtreme1ExportOperator(task_id="export", dataset_id=world.lidar["id"], destination=str(target))


def connection(world: World, conn_id: str, host: str, token: str | None, **extra: Any) -> str:
    world.monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", connection_uri(host, token, **extra))
    return conn_id


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class Row:
    name: str
    build: Callable[[World], Any]  # returns the operator to run
    error: type[Exception]
    message: str  # regex searched in the error message


ROWS = [
    Row(
        "missing path",
        lambda w: upload(w, w.inputs / "drive-0412.zip"),
        Xtreme1ValidationError,
        r"drive-0412\.zip does not exist",
    ),
    Row(
        "empty file",
        lambda w: upload(w, (w.inputs / "empty.zip", (w.inputs / "empty.zip").touch())[0]),
        Xtreme1ValidationError,
        r"empty\.zip is empty \(0 bytes\)",
    ),
    Row(
        "folder where a file is expected",
        put_a_folder,
        Xtreme1ConfigError,
        r"drive is a folder: give dataset_type \(or dataset_id\)",
    ),
    Row(
        "not a zip, named .zip",
        lambda w: upload(w, (w.inputs / "notes.zip", (w.inputs / "notes.zip").write_text("frame list\n"))[0]),
        Xtreme1ValidationError,
        r"notes\.zip: not a ZIP archive",
    ),
    Row(
        "truncated zip",
        lambda w: upload(w, truncated_zip(w)),
        Xtreme1ValidationError,
        r"cut\.zip: .*truncated",
    ),
    Row(
        "zip entries escaping the folder",
        lambda w: upload(w, escaping_zip(w)),
        Xtreme1ValidationError,
        r"'set/\.\./\.\./evil\.pcd' would land outside the extraction folder",
    ),
    Row(
        "compressed tar",
        lambda w: upload(w, tar_gz(w)),
        Xtreme1ValidationError,
        r"set\.tar\.gz: the server only imports \.zip and \.tar",
    ),
    Row(
        "folder without a sensor folder",
        lambda w: upload(w, no_sensor_folder(w)),
        Xtreme1ValidationError,
        r"no `lidar_point_cloud_<digit>` folder.*folders the server does not read: "
        r"export-from-tool/pointclouds/",
    ),
    Row(
        "image files in a LiDAR layout",
        lambda w: upload(w, make_sample_dataset(w.inputs / "cam", "IMAGE", items=1)),
        Xtreme1ValidationError,
        r"no `lidar_point_cloud_<digit>` folder.*is this an IMAGE dataset\?",
    ),
    Row(
        "LiDAR folder into an IMAGE dataset",
        lambda w: upload(w, lidar_folder(w), dataset_id=w.image["id"]),
        Xtreme1ValidationError,
        r"an IMAGE dataset needs image_0/.*is this a LIDAR_FUSION dataset\?",
    ),
    Row(
        "unsafe file names in the folder",
        lambda w: upload(w, unsafe_names(w), dataset_id=w.lidar["id"]),
        Xtreme1ValidationError,
        r"frame 01%\.pcd: name contains ' ', '%'",
    ),
    Row(
        "near miss: missing digit",
        lambda w: upload(w, near_miss(w, "digit", ("lidar_point_cloud_0", "lidar_point_cloud"), scenes=1)),
        Xtreme1ValidationError,
        r"digit/lidar_point_cloud/: the server does not read the 2 file\(s\) here "
        r"\(000001\.pcd, 000002\.pcd\); did you mean `lidar_point_cloud_0/`\?",
    ),
    Row(
        "near miss: plural",
        lambda w: upload(w, near_miss(w, "plural", ("camera_image_1", "camera_images_1"))),
        Xtreme1ValidationError,
        r"plural/camera_images_1/: read by the import, but the server's export keeps camera images only "
        r"from folders whose name contains `image_` in lower case; rename it to camera_image_1/",
    ),
    Row(
        "near miss: case",
        lambda w: upload(w, near_miss(w, "case", ("camera_config", "Camera_Config"))),
        Xtreme1ValidationError,
        r"case/Camera_Config/: read by the import, but .* named exactly `camera_config`",
    ),
    Row(
        "near miss: wrong separator",
        lambda w: upload(w, near_miss(w, "dash", ("camera_image_0", "camera-image-0"))),
        Xtreme1ValidationError,
        r"dash/camera-image-0/: the server does not read the 2 file\(s\) here .*"
        r"did you mean `camera_image_0/`",
    ),
    Row(
        "near miss: nested one level too deep",
        lambda w: upload(w, scene_too_deep(w)),
        Xtreme1ValidationError,
        r"deep/scene_01/: named like a scene, but its lidar_point_cloud_<digit>/ folder lies in "
        r"deep/scene_01/frames/, one level too deep",
    ),
    Row(
        "near miss: stray files at the root",
        lambda w: upload(w, stray_files(w)),
        Xtreme1ValidationError,
        r"stray/: the server does not read the 2 file\(s\) here \(000009\.pcd, README\.md\); files next to "
        r"the sensor folders are not read; move them into lidar_point_cloud_0/",
    ),
    Row(
        "results without result_type",
        lambda w: upload(w, make_sample_dataset(w.inputs / "gt", "LIDAR_FUSION", items=1)),
        Xtreme1ValidationError,
        r"gt/result/: the server does not read the 1 file\(s\) here \(000001\.json\); result/ is only read "
        r"when the import sets result_type",
    ),
    Row(
        "near miss through PutArchive",
        put_near_miss,
        Xtreme1ValidationError,
        r"put/lidar_point_cloud/: .*did you mean `lidar_point_cloud_0/`\?",
    ),
    Row(
        "near miss through Pack",
        pack_near_miss,
        Xtreme1ValidationError,
        r"pack/Camera_Image_1/: read by the import, but .*rename it to camera_image_1/",
    ),
    Row(
        "unsafe archive name",
        lambda w: upload(w, lidar_folder(w), file_name="drive 04/12.zip"),
        ValueError,
        r"'drive 04/12\.zip' is not safe for Xtreme1",
    ),
    Row(
        "dataset id that does not exist",
        lambda w: upload(w, lidar_folder(w), dataset_id=987654),
        Xtreme1NotFoundError,
        r"GET /dataset/info/987654 failed: NOT_FOUND: Resource not found",
    ),
    Row(
        "dataset of another type than the layout",
        lambda w: upload(w, lidar_folder(w), dataset_id=w.image["id"], dataset_type="LIDAR_FUSION"),
        Xtreme1ConfigError,
        r"dataset_type is LIDAR_FUSION but Xtreme1 dataset \d+ is a IMAGE dataset",
    ),
    Row(
        "MODEL_RUN results without a model",
        lambda w: upload(w, lidar_folder(w), result_type="MODEL_RUN"),
        ValueError,
        r"result_type='MODEL_RUN' needs model_id",
    ),
    Row(
        "COCO import",
        lambda w: Xtreme1ImportDatasetOperator(
            task_id="import",
            dataset_id=w.lidar["id"],
            file_url="http://minio:9000/xtreme1/a.zip",
            data_format="COCO",
        ),
        ValueError,
        r"data_format 'COCO' is not supported for imports",
    ),
    Row(
        "unknown model",
        lambda w: Xtreme1RunModelOperator(task_id="run", dataset_id=w.lidar["id"], model=987654),
        Xtreme1ConfigError,
        r"Xtreme1 has no model with id 987654\. Models for LIDAR_FUSION datasets: 1 ",
    ),
    Row(
        "image model on a LiDAR dataset",
        lambda w: Xtreme1RunModelOperator(task_id="run", dataset_id=w.lidar["id"], model=2),
        Xtreme1ConfigError,
        r"cannot run on a LIDAR_FUSION dataset",
    ),
    Row(
        "COCO export of a LiDAR dataset",
        lambda w: Xtreme1ExportOperator(
            task_id="export",
            dataset_id=w.lidar["id"],
            destination=str(w.inputs / "out.zip"),
            data_format="COCO",
        ),
        Xtreme1ConfigError,
        r"COCO export needs an IMAGE dataset; dataset \d+ .* is LIDAR_FUSION",
    ),
    Row(
        "export onto an existing file",
        existing_destination,
        Xtreme1DestinationExistsError,
        r"gt\.zip already exists; pass overwrite=True",
    ),
    Row(
        "connection without a token",
        lambda w: upload(w, lidar_folder(w), xtreme1_conn_id=connection(w, "x1_no_token", w.emu.url, None)),
        Xtreme1ConfigError,
        r"Connection 'x1_no_token' has no API token",
    ),
    Row(
        "host that does not resolve",
        lambda w: upload(
            w,
            lidar_folder(w),
            xtreme1_conn_id=connection(w, "x1_nxdomain", "http://xtreme1.invalid:8190", "t0ken"),
        ),
        Xtreme1TransportError,
        r"GET /dataset/info/\d+: cannot connect",
    ),
    Row(
        "host that refuses",
        lambda w: upload(
            w,
            lidar_folder(w),
            xtreme1_conn_id=connection(w, "x1_refused", f"http://127.0.0.1:{closed_port()}", "t0ken"),
        ),
        Xtreme1TransportError,
        r"GET /dataset/info/\d+: cannot connect .*(refused|Errno 111)",
    ),
    Row(
        "https with a certificate no CA signed",
        lambda w: upload(
            w, lidar_folder(w), xtreme1_conn_id=connection(w, "x1_self_signed", w.tls_url, "t0ken")
        ),
        Xtreme1TransportError,
        r"GET /dataset/info/\d+: TLS handshake failed .*CERTIFICATE_VERIFY_FAILED.*'verify' / 'ca_bundle'",
    ),
]


@pytest.fixture
def world(emu, lidar, image, tls_endpoint, tmp_path, monkeypatch) -> World:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    return World(inputs, lidar, image, emu, tls_endpoint.url, monkeypatch)


def assert_nothing_started(emu) -> None:
    assert not [r for r in emu.storage_log if r["method"] == "PUT"], "an upload reached storage"
    started = [r for r in emu.request_log if (r["method"], r["path"]) in STARTS]
    assert not started, f"a job was started: {started}"


@pytest.mark.parametrize("row", ROWS, ids=[r.name.replace(" ", "-") for r in ROWS])
def test_bad_input(world, fast_retries, row):
    operator = row.build(world)
    before = tree_digest(world.inputs)
    ti_xcom: dict[str, Any] = {}

    class TI:
        try_number = 1

        def xcom_push(self, key: str, value: Any) -> None:
            ti_xcom[key] = value

        def xcom_pull(self, **_: Any) -> Any:
            return None

    with pytest.raises(row.error) as info:
        operator.execute({"ti": TI()})
    assert type(info.value) is row.error
    assert re.search(row.message, str(info.value), re.S), str(info.value)
    assert_nothing_started(world.emu)
    assert tree_digest(world.inputs) == before, "an input was changed or deleted"
    assert not list(world.inputs.rglob("*.partial-*"))


# --------------------------------------------------------------------------------- through dag.test()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda w: w.inputs / "drive-0412.zip", "drive-0412.zip does not exist"),
        (escaping_zip, "would land outside the extraction folder"),
    ],
    ids=["missing-path", "escaping-zip"],
)
def test_bad_input_through_airflow(world, dagbag, capfd, make, message):
    source = make(world)
    before = tree_digest(world.inputs)
    run, tis = run_dag(
        dagbag.get_dag("xtreme1_test_upload_one_task"),
        conf={"source": str(source), "dataset_name": world.lidar["name"], "dataset_type": "LIDAR_FUSION"},
    )
    out, err = capfd.readouterr()
    assert run.state == "failed" and tis["ensure_dataset"].state == "success"
    assert tis["upload"].state == "failed" and message in out + err
    assert_nothing_started(world.emu)
    assert tree_digest(world.inputs) == before


def test_rows_cover_the_issue():
    """The corpus keeps every case the issue lists (rename a row, not drop it)."""
    names = {r.name for r in ROWS}
    for needed in (
        "missing path",
        "empty file",
        "folder where a file is expected",
        "not a zip, named .zip",
        "truncated zip",
        "zip entries escaping the folder",
        "folder without a sensor folder",
        "image files in a LiDAR layout",
        "unsafe file names in the folder",
        "dataset id that does not exist",
        "dataset of another type than the layout",
        "unknown model",
        "COCO export of a LiDAR dataset",
        "connection without a token",
        "host that does not resolve",
        "host that refuses",
        "https with a certificate no CA signed",
        "near miss: missing digit",
        "near miss: plural",
        "near miss: case",
        "near miss: wrong separator",
        "near miss: nested one level too deep",
        "near miss: stray files at the root",
    ):
        assert needed in names
