"""Hostile inputs: export archives built to hurt (zip bombs, entries outside their folder, colliding
names), sources and destinations that dodge the local checks, API redirects, and a server that echoes
the token. Each case fails before anything starts on the server and changes nothing outside the
destination.

Export archives are served the way an export's ``filePath`` is: a presigned GET of the emulator's
object store, handed to the operator's result step as the completed export's record.
"""

from __future__ import annotations

import asyncio
import http.server
import logging
import re
import struct
import threading
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from reliability_kit import tree_digest
from xtreme1_testing import TEST_TOKEN, connection_uri, run_dag

from airflow_provider_xtreme1 import transfer
from airflow_provider_xtreme1.archives import check_archive, extract, safe_extract
from airflow_provider_xtreme1.emulator import Fault
from airflow_provider_xtreme1.exceptions import (
    Xtreme1ApiError,
    Xtreme1ConfigError,
    Xtreme1StorageError,
    Xtreme1TransportError,
    Xtreme1ValidationError,
)
from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1AsyncHook, Xtreme1Hook
from airflow_provider_xtreme1.operators.datasets import Xtreme1EnsureDatasetOperator
from airflow_provider_xtreme1.operators.export import Xtreme1ExportOperator
from airflow_provider_xtreme1.operators.upload import Xtreme1PutArchiveOperator, Xtreme1UploadDatasetOperator

#: What no case may reach: the upload PUT, the import, an export, a model run, a dataset create.
STARTS = {
    ("POST", "/api/data/upload"),
    ("GET", "/api/data/export"),
    ("POST", "/api/model/modelRun"),
    ("POST", "/api/dataset/create"),
}
MiB = 1024 * 1024
TOP = "mydata-20261129120000"


class TI:
    try_number = 1

    def __init__(self) -> None:
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value

    def xcom_pull(self, **_: Any) -> Any:
        return None


def run(operator: Any) -> Any:
    return operator.execute({"ti": TI()})


def assert_nothing_started(emu) -> None:
    assert not [r for r in emu.storage_log if r["method"] == "PUT"], "an upload reached storage"
    started = [r for r in emu.request_log if (r["method"], r["path"]) in STARTS]
    assert not started, f"something was started: {started}"


def assert_unchanged(root: Path, before: dict[str, str]) -> None:
    assert tree_digest(root) == before, "a file outside the destination changed"
    leftovers = [p for p in root.rglob("*") if ".xtreme1-unpack-" in p.name or ".partial-" in p.name]
    assert not leftovers, leftovers


class Recorder:
    """A loopback HTTP server that records every request and answers 200 ``{}``: the place a hostile
    redirect or source points to. A test passes only if it received nothing."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _any(self) -> None:
                recorder.seen.append((self.command, self.path))
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = b'{"code":"OK","message":"","data":"999"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_HEAD = _any

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    yield server
    server.close()


# ------------------------------------------------------------------------------------- archives


def zip_bytes(path: Path, entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, body in entries.items():
            zf.writestr(zipfile.ZipInfo(name), body, compress_type=compression)
    return path


def bomb(path: Path, size: int) -> Path:
    """``size`` bytes of zeros in one deflated entry: about 1000:1."""
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf,
        zf.open(f"{TOP}/data/zeros.json", "w") as out,
    ):
        for _ in range(size // MiB):
            out.write(bytes(MiB))
    return path


def lying(path: Path) -> Path:
    """2 MiB of random-ish data whose directory and local header declare 1000 bytes."""
    body = bytes(range(256)) * (2 * MiB // 256)
    zip_bytes(path, {f"{TOP}/data/a.json": body}, zipfile.ZIP_STORED)
    data = bytearray(path.read_bytes())
    # Patch the uncompressed size in the local header (offset 22) and the central directory (offset 24).
    struct.pack_into("<I", data, 22, 1000)
    central = data.rfind(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 1000)
    path.write_bytes(bytes(data))
    return path


def serve(emu, path: Path) -> str:
    """Put ``path`` in the emulator's store; a presigned GET of it, like an export's ``filePath``."""
    key = f"1/{uuid.uuid4().hex}/{path.name}"
    emu._objects.put_bytes(key, path.read_bytes())
    return emu._signer.presign("GET", key, urlsplit(emu.url).netloc, 600)


def unpack_export(emu, archive: Path, destination: Path, unpack_to: Path, **kwargs: Any) -> dict[str, Any]:
    """The export operator's result step for a completed export whose file is ``archive``."""
    operator = Xtreme1ExportOperator(
        task_id="export",
        dataset_id=1,
        destination=str(destination),
        unpack_to=str(unpack_to),
        progress_interval=-1,
        **kwargs,
    )
    record = {"serialNumber": "42", "fileName": f"{TOP}.zip", "filePath": serve(emu, archive)}
    try:
        return operator.job_result({"ti": TI()}, ["42"], {"records": [record]})
    finally:
        assert_nothing_started(emu)  # the result step only downloads


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """The user's folder: unpack target with files of their own in it."""
    root = tmp_path / "home"
    (root / "unpack" / "mydata").mkdir(parents=True)
    (root / "unpack" / "mydata" / "keep.txt").write_text("the user's notes")
    return root


def test_zip_bomb_is_refused_before_writing(emu, home, tmp_path):
    archive = bomb(tmp_path / "bomb.zip", 200 * MiB)
    assert archive.stat().st_size < 400_000
    report = check_archive(archive)
    assert any("zip bomb" in e and "compression ratio" in e for e in report.errors), report.errors
    before = tree_digest(home / "unpack")
    with pytest.raises(Xtreme1ValidationError, match=r"(?s)zip bomb.*compression ratio \d+:1") as info:
        unpack_export(emu, archive, tmp_path / "bomb-download.zip", home / "unpack")
    assert "max_compression_ratio" in str(info.value)
    assert_unchanged(home / "unpack", before)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"max_unpacked_bytes": 1 * MiB}, r"more than max_bytes=1048576"),
        ({"max_unpacked_entries": 2}, r"3 entries, more than max_entries=2"),
    ],
    ids=["bytes", "entries"],
)
def test_unpack_caps(emu, home, tmp_path, kwargs, pattern):
    archive = zip_bytes(
        tmp_path / "big.zip", {f"{TOP}/": b"", f"{TOP}/a.bin": bytes(range(256)) * 8192, f"{TOP}/b": b"x"}
    )
    before = tree_digest(home / "unpack")
    with pytest.raises(Xtreme1ValidationError, match=pattern):
        unpack_export(emu, archive, tmp_path / "d.zip", home / "unpack", **kwargs)
    assert_unchanged(home / "unpack", before)


def test_raised_ratio_cap_lets_a_genuine_archive_through(emu, home, tmp_path):
    archive = bomb(tmp_path / "sparse.zip", 4 * MiB)
    with pytest.raises(Xtreme1ValidationError, match="zip bomb"):
        unpack_export(emu, archive, tmp_path / "a.zip", home / "unpack")
    result = unpack_export(emu, archive, tmp_path / "b.zip", home / "unpack", max_compression_ratio=5000)
    assert Path(result["unpacked_to"], "data", "zeros.json").stat().st_size == 4 * MiB
    assert (home / "unpack" / "mydata" / "keep.txt").read_text() == "the user's notes"


def test_declared_sizes_that_lie_are_caught_while_extracting(tmp_path):
    archive = lying(tmp_path / "lie.zip")
    dest = tmp_path / "out"
    with pytest.raises(Xtreme1ValidationError, match="declared size"):
        safe_extract(archive, dest, top=TOP)
    assert list(dest.iterdir()) == []  # the staging folder is gone, nothing moved into place


def test_free_disk_space_is_checked_first(tmp_path, monkeypatch):
    archive = zip_bytes(tmp_path / "e.zip", {f"{TOP}/a.json": b"{}" * 1000})
    usage = extract.shutil.disk_usage(tmp_path)
    monkeypatch.setattr(extract.shutil, "disk_usage", lambda _: usage._replace(free=1000))
    with pytest.raises(Xtreme1ValidationError, match="bytes free"):
        safe_extract(archive, tmp_path / "out", top=TOP)
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize("overwrite", [False, True], ids=["keep", "overwrite"])
def test_entries_outside_the_top_folder_never_touch_user_files(emu, home, tmp_path, overwrite):
    archive = zip_bytes(
        tmp_path / "outside.zip", {f"{TOP}/data/a.json": b"{}", "mydata/keep.txt": b"overwritten!"}
    )
    before = tree_digest(home / "unpack")
    with pytest.raises(Xtreme1ValidationError, match=r"'mydata/keep.txt': outside the archive's folder"):
        unpack_export(emu, archive, tmp_path / "o.zip", home / "unpack", overwrite=overwrite)
    assert (home / "unpack" / "mydata" / "keep.txt").read_text() == "the user's notes"
    assert_unchanged(home / "unpack", before)


def test_overwrite_replaces_only_the_top_folder(emu, home, tmp_path):
    old = home / "unpack" / TOP
    (old / "data").mkdir(parents=True)
    (old / "data" / "stale.json").write_text("{}")
    archive = zip_bytes(tmp_path / "new.zip", {f"{TOP}/data/a.json": b'{"new": 1}'})
    with pytest.raises(Xtreme1ConfigError, match="already exists; pass overwrite=True"):
        unpack_export(emu, archive, tmp_path / "n1.zip", home / "unpack")
    assert (old / "data" / "stale.json").exists()
    unpack_export(emu, archive, tmp_path / "n2.zip", home / "unpack", overwrite=True)
    assert sorted(p.name for p in (old / "data").iterdir()) == ["a.json"]
    assert sorted(p.name for p in (home / "unpack").iterdir()) == sorted([TOP, "mydata"])
    assert (home / "unpack" / "mydata" / "keep.txt").read_text() == "the user's notes"


@pytest.mark.parametrize(
    ("entries", "reason"),
    [
        ({f"{TOP}/a": b"file", f"{TOP}/a/b.json": b"{}"}, "is a file, not a folder"),
        ({f"{TOP}/a/b.json": b"{}", f"{TOP}/a": b"file"}, "same path appears twice"),
        ({f"{TOP}/./a.json": b"{}"}, r"empty or '\.' path part"),
        ({f"{TOP}/a.json": b"{}", ".": b""}, r"'\.': outside the archive's folder"),
        ({f"{TOP}//a.json": b"{}"}, r"empty or '\.' path part"),
        ({f"{TOP}/{'n' * 300}.json": b"{}"}, "305 bytes long"),
        ({f"{TOP}/a\x07.json": b"{}"}, "control character"),
    ],
    ids=["file-then-folder", "folder-then-file", "dot-part", "dot", "empty-part", "300-char-name", "control"],
)
def test_colliding_entries_are_refused_up_front(tmp_path, entries, reason):
    path = zip_bytes(tmp_path / "x.zip", entries)
    dest = tmp_path / "out"
    with pytest.raises(Xtreme1ValidationError, match="unsafe entries") as info:
        safe_extract(path, dest, top=TOP)
    assert re.search(reason, str(info.value)), str(info.value)
    assert not dest.exists()


def test_duplicate_entries_are_refused_up_front(tmp_path):
    path = tmp_path / "dup.zip"
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{TOP}/a.json", b"{}")
        zf.writestr(f"{TOP}/a.json", b"[]")
    with pytest.raises(Xtreme1ValidationError, match="same path appears twice"):
        safe_extract(path, tmp_path / "out")
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------------------- sources


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    folder = tmp_path / "inputs"
    folder.mkdir()
    (folder / "hostname").write_text("worker-7\n")
    return folder


def test_file_uri_source_gets_the_local_checks(emu, lidar, inputs):
    before = tree_digest(inputs)
    for uri in (f"file://{inputs}/hostname", "file:///etc/hostname"):
        with pytest.raises(Xtreme1ValidationError, match=r"only imports \.zip and \.tar"):
            run(Xtreme1UploadDatasetOperator(task_id="u", dataset_id=lidar["id"], source=uri))
        with Xtreme1Hook() as hook:
            target = hook.get_presigned_upload_url(lidar["id"], "x.zip")
        emu.reset()
        with pytest.raises(Xtreme1ValidationError, match=r"only imports \.zip and \.tar"):
            run(
                Xtreme1PutArchiveOperator(
                    task_id="p", presigned_url=target["presignedUrl"], source=uri, dataset_type="LIDAR_FUSION"
                )
            )
        assert_nothing_started(emu)
    assert tree_digest(inputs) == before


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_web_url_source_is_refused_before_any_request(emu, lidar, recorder, scheme):
    source = f"{scheme}://127.0.0.1:{recorder.url.rsplit(':', 1)[1]}/set.zip?X-Amz-Signature=abc"
    with pytest.raises(
        ValueError, match=rf"source '{scheme}://127\.0\.0\.1/set\.zip': {scheme}:// is a web URL"
    ):
        run(Xtreme1UploadDatasetOperator(task_id="u", dataset_id=lidar["id"], source=source))
    with pytest.raises(ValueError, match="is a web URL"):
        run(Xtreme1PutArchiveOperator(task_id="p", presigned_url=recorder.url + "/put", source=source))
    assert recorder.seen == []
    assert emu.request_log == [] and emu.storage_log == []


# ---------------------------------------------------------------------------- redirects


@pytest.fixture(params=["sync", "async"])
def twin(request, emu, fast_retries):
    """``twin(method, *args)`` calls the sync or the async hook (retries in milliseconds)."""
    loop = asyncio.new_event_loop()
    sync = request.param == "sync"
    hook = Xtreme1Hook() if sync else Xtreme1AsyncHook()

    def call(name: str, *args: Any, **kwargs: Any) -> Any:
        result = getattr(hook, name)(*args, **kwargs)
        return result if sync else loop.run_until_complete(result)

    yield call
    if sync:
        hook.close()
    else:
        loop.run_until_complete(hook.aclose())
    loop.close()


@pytest.mark.parametrize(
    ("method", "path", "call"),
    [
        ("POST", r"^/api/data/upload$", lambda twin, ds: twin("start_import", ds, "http://x/a.zip")),
        ("GET", r"^/api/dataset/info/", lambda twin, ds: twin("get_dataset", ds)),
    ],
    ids=["start-import", "read"],
)
@pytest.mark.parametrize("status", [302, 307, 308])
def test_api_redirects_are_not_followed(emu, lidar, twin, recorder, method, path, call, status):
    emu.inject(
        Fault(path=path, method=method, status=status, location=f"{recorder.url}/api/moved?token=s3cr3t")
    )
    with pytest.raises(
        Xtreme1TransportError, match=rf"HTTP {status}, redirecting to .*host 127\.0\.0\.1"
    ) as info:
        call(twin, lidar["id"])
    assert "s3cr3t" not in str(info.value) and "/api/moved" in str(info.value)
    assert recorder.seen == [], "the redirect was followed"
    assert [r["path"] for r in emu.request_log if r["method"] == method and re.search(path, r["path"])]
    assert not [r for r in emu.request_log if r["path"] == "/api/data/findUploadRecordBySerialNumbers"]


@pytest.mark.parametrize("direction", ["upload", "download"])
def test_storage_redirects_are_not_followed(emu, lidar, recorder, tmp_path, direction):
    with Xtreme1Hook() as hook:
        urls = hook.get_presigned_upload_url(lidar["id"], "r.zip")
    archive = zip_bytes(tmp_path / "r.zip", {"r/a.json": b"{}"})
    get_url = serve(emu, archive)
    emu.inject(Fault(path=r"^/minio/", status=307, location=f"{recorder.url}/elsewhere"))
    with pytest.raises(Xtreme1StorageError, match=r"HTTP 307: storage redirects to .*host 127\.0\.0\.1"):
        if direction == "upload":
            transfer.upload(urls["presignedUrl"], archive, progress_interval=-1, max_retries=0)
        else:
            transfer.download(get_url, tmp_path / "got.zip", progress_interval=-1, max_retries=0)
    assert recorder.seen == []
    assert not (tmp_path / "got.zip").exists()


# ---------------------------------------------------------------------- checked up front


@pytest.mark.parametrize(
    ("make", "pattern"),
    [
        (
            lambda d: {"destination": str(d / "gt\x00.zip")},
            r"destination contains the control character '\\x00'",
        ),
        (
            lambda d: {"destination": str(d / ("g" * 300 + ".zip"))},
            r"destination has a path part of 304 bytes",
        ),
        (lambda d: {"destination": str(d / "gt.zip"), "unpack_to": f"{d}/x\x00"}, r"unpack_to contains"),
        (lambda d: {"destination": str(d / "gt.zip"), "unpack_to": "x" * 300}, r"unpack_to has a path part"),
        (
            lambda d: {"destination": str(d / "gt.zip"), "verify": "/missing.pem"},
            r"verify: the CA bundle '/missing.pem' does not exist",
        ),
        (
            lambda d: {"destination": "http://127.0.0.1:1/gt.zip"},
            r"destination 'http://127\.0\.0\.1/gt\.zip': http:// is a web URL",
        ),
    ],
    ids=["nul", "long-name", "unpack-nul", "unpack-long", "missing-ca", "http"],
)
def test_export_arguments_are_checked_before_starting(emu, lidar, tmp_path, make, pattern):
    with pytest.raises(ValueError, match=pattern):
        run(
            Xtreme1ExportOperator(task_id="e", dataset_id=lidar["id"], progress_interval=-1, **make(tmp_path))
        )
    assert_nothing_started(emu)
    assert list(tmp_path.iterdir()) == []


def test_transfer_verify_as_text(tls_endpoint, tmp_path):
    tls_endpoint.handler.objects["/xtreme1/v.zip"] = b"PK-bytes"
    url = tls_endpoint.presigned("v.zip")
    with pytest.raises(ValueError, match=r"verify: the CA bundle '/missing\.pem' does not exist"):
        transfer.download(url, tmp_path / "a.zip", verify="/missing.pem")
    assert transfer.download(url, tmp_path / "b.zip", verify="false", progress_interval=-1).bytes == 8
    with pytest.raises(Xtreme1StorageError, match="TLS certificate check"):
        transfer.download(url, tmp_path / "c.zip", verify="true", progress_interval=-1, max_retries=0)
    assert transfer.check_verify("0") is False and transfer.check_verify("True") is True


@pytest.mark.parametrize(
    ("name", "pattern"),
    [("bad\nname", r"contains '\\n'"), ("a/b", "contains '/'"), ("n" * 256, "256 characters")],
    ids=["control", "slash", "too-long"],
)
def test_dataset_names_are_checked_before_creating(emu, name, pattern):
    with pytest.raises(ValueError, match=pattern), Xtreme1Hook() as hook:
        hook.create_dataset(name, "IMAGE")
    with pytest.raises(ValueError, match=pattern):
        run(Xtreme1EnsureDatasetOperator(task_id="d", name=name, dataset_type="IMAGE"))
    assert_nothing_started(emu)
    assert emu.request_log == []


# ------------------------------------------------------------------------------ secrets, TLS


@pytest.mark.parametrize("fault", ["envelope", "gateway"])
def test_echoed_token_is_removed_from_errors_and_logs(emu, lidar, twin, caplog, fault):
    echo = f"credential {TEST_TOKEN} is not allowed here"
    if fault == "envelope":
        emu.inject(Fault(path=r"^/api/dataset/info/", kind="envelope", code="FORBIDDEN", message=echo))
        expected: type[Exception] = Xtreme1ApiError
    else:
        emu.inject(
            Fault(path=r"^/api/dataset/info/", status=503, body=echo, content_type="text/plain", times=5)
        )
        expected = Xtreme1TransportError
    with caplog.at_level(logging.DEBUG), pytest.raises(expected) as info:
        twin("get_dataset", lidar["id"])
    text = str(info.value) + repr(info.value.args) + repr(vars(info.value))
    assert "credential *** is not allowed" in text
    assert TEST_TOKEN not in text
    assert TEST_TOKEN not in caplog.text


def test_storage_transfers_inherit_the_connection_ca(emu, tls_endpoint, monkeypatch, tmp_path):
    monkeypatch.setenv(
        "AIRFLOW_CONN_X1_PRIVATE_CA", connection_uri(emu.url, ca_bundle=str(tls_endpoint.cert))
    )
    archive = zip_bytes(tmp_path / "ca.zip", {"ca/a.json": b"{}"})
    url = tls_endpoint.presigned(f"{uuid.uuid4().hex}.zip")

    def put(**kwargs: Any) -> Any:
        return run(
            Xtreme1PutArchiveOperator(
                task_id="p",
                presigned_url=url,
                source=str(archive),
                progress_interval=-1,
                max_retries=0,
                **kwargs,
            )
        )

    assert put(xtreme1_conn_id="x1_private_ca")["bytes"] == archive.stat().st_size
    with pytest.raises(Xtreme1StorageError, match="TLS certificate check"):
        put(xtreme1_conn_id="x1_private_ca", verify=True)  # the operator's own setting wins
    with pytest.raises(Xtreme1StorageError, match="TLS certificate check"):
        put()  # xtreme1_default has no CA: the system trust store refuses the self-signed certificate


def test_export_download_inherits_the_connection_ca(emu, tls_endpoint, monkeypatch, tmp_path):
    monkeypatch.setenv("AIRFLOW_CONN_X1_EXPORT_CA", connection_uri(emu.url, ca_bundle=str(tls_endpoint.cert)))
    key = f"{uuid.uuid4().hex}.zip"
    tls_endpoint.handler.objects[f"/xtreme1/{key}"] = zip_bytes(
        tmp_path / "e.zip", {f"{TOP}/a": b"1"}
    ).read_bytes()
    record = {"serialNumber": "7", "fileName": f"{TOP}.zip", "filePath": tls_endpoint.presigned(key)}

    def result(**kwargs: Any) -> dict[str, Any]:
        operator = Xtreme1ExportOperator(
            task_id="e", dataset_id=1, progress_interval=-1, max_retries=0, overwrite=True, **kwargs
        )
        return operator.job_result({"ti": TI()}, ["7"], {"records": [record]})

    done = result(destination=str(tmp_path / "out.zip"), xtreme1_conn_id="x1_export_ca")
    assert Path(done["uri"]).read_bytes()[:2] == b"PK"
    with pytest.raises(Xtreme1StorageError, match="TLS certificate check"):
        result(destination=str(tmp_path / "out.zip"))  # xtreme1_default: no private CA


@pytest.mark.parametrize(
    ("source", "error", "pattern"),
    [
        ("file://fileserver/share/set.zip", Xtreme1ConfigError, "a file:// URI names a local path, not host"),
        ("ftp://127.0.0.1/set.zip", Xtreme1ConfigError, "ftp:// is a web URL, not object storage"),
        ("gopher://127.0.0.1/set.zip", Xtreme1ConfigError, "gopher:// is not a storage Airflow knows"),
    ],
    ids=["file-with-host", "ftp", "unknown-scheme"],
)
def test_transfer_refuses_sources_that_are_not_storage(recorder, source, error, pattern):
    with pytest.raises(error, match=pattern):
        transfer.upload(recorder.url + "/put?X-Amz-Signature=abc", source, progress_interval=-1)
    assert recorder.seen == []


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (lambda d: f"file://{d}/hostname", "the server only imports .zip and .tar archives"),
        (lambda d: "http://127.0.0.1:9/set.zip", "http:// is a web URL, not object storage"),
    ],
    ids=["file-uri", "http"],
)
def test_hostile_source_through_airflow(emu, lidar, inputs, dagbag, capfd, source, message):
    before = tree_digest(inputs)
    run_, tis = run_dag(
        dagbag.get_dag("xtreme1_test_upload_one_task"),
        conf={"source": source(inputs), "dataset_name": lidar["name"], "dataset_type": "LIDAR_FUSION"},
    )
    out, err = capfd.readouterr()
    assert run_.state == "failed" and tis["upload"].state == "failed" and message in out + err
    assert_nothing_started(emu)
    assert tree_digest(inputs) == before
