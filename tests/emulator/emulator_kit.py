"""Helpers for the emulator tests: a small API client and archive builders."""

from __future__ import annotations

import io
import json
import tarfile
import time
import zipfile
from typing import Any

import requests
from PIL import Image

from airflow_provider_xtreme1.emulator import Xtreme1Emulator

TOKEN = "secret-token"
TERMINAL_UPLOAD = ("PARSE_COMPLETED", "FAILED")


class Api:
    """Just enough client to drive the emulator over real HTTP."""

    def __init__(self, emu: Xtreme1Emulator) -> None:
        self.emu = emu
        self.base = emu.url + "/api"
        self.s = requests.Session()
        self.s.headers["Authorization"] = f"Bearer {TOKEN}"

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.s.get(self.base + path, params=params, timeout=10)

    def post(self, path: str, body: Any = None) -> requests.Response:
        return self.s.post(self.base + path, json=body, timeout=10)

    def data(self, resp: requests.Response) -> Any:
        body = resp.json()
        assert body["code"] == "OK", body
        return body["data"]

    def dataset(self, dtype: str, name: str | None = None) -> int:
        name = name or f"ds-{dtype.lower()}-{time.monotonic_ns()}"
        return self.data(self.post("/dataset/create", {"name": name, "type": dtype}))["id"]

    def create_classes(self, dataset_id: int, *names: str, tool: str = "CUBOID") -> dict[str, int]:
        """Create dataset classes the way clients must (a new dataset has none); name → class id."""
        for name in names:
            body = {"datasetId": dataset_id, "name": name, "color": "#7dfaf2", "toolType": tool}
            self.data(self.post("/datasetClass/create", body))
        return {c["name"]: c["id"] for c in self.data(self.get(f"/datasetClass/findAll/{dataset_id}"))}

    def put_object(self, dataset_id: int, file_name: str, payload: bytes) -> dict[str, str]:
        urls = self.data(self.get("/data/generatePresignedUrl", fileName=file_name, datasetId=dataset_id))
        resp = requests.put(urls["presignedUrl"], data=payload, timeout=10)
        assert resp.status_code == 200, resp.text
        return urls

    def upload(self, dataset_id: int, payload: bytes, file_name: str = "pkg.zip", **extra: Any) -> str:
        urls = self.put_object(dataset_id, file_name, payload)
        body = {"fileUrl": urls["accessUrl"], "datasetId": dataset_id, "source": "LOCAL", **extra}
        return self.data(self.post("/data/upload", body))

    def upload_record(self, serial: str) -> dict[str, Any]:
        return self.data(self.get("/data/findUploadRecordBySerialNumbers", serialNumbers=serial))[0]

    def wait_upload(self, serial: str, timeout: float = 10) -> tuple[dict[str, Any], list[str]]:
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rec = self.upload_record(serial)
            if not seen or seen[-1] != rec["status"]:
                seen.append(rec["status"])
            if rec["status"] in TERMINAL_UPLOAD:
                return rec, seen
            time.sleep(0.01)
        raise AssertionError(f"upload {serial} not finished: {seen}")

    def import_ok(self, dataset_id: int, payload: bytes, **extra: Any) -> dict[str, Any]:
        rec, _ = self.wait_upload(self.upload(dataset_id, payload, **extra))
        return rec

    def names(self, dataset_id: int, parent_id: int | None = None) -> list[str]:
        params: dict[str, Any] = {"datasetId": dataset_id, "pageSize": 1000}
        if parent_id is not None:
            params["parentId"] = parent_id
        return [d["name"] for d in self.data(self.get("/data/findByPage", **params))["list"]]

    def root_items(self, dataset_id: int) -> list[dict[str, Any]]:
        return self.data(self.get("/data/findByPage", datasetId=dataset_id, pageSize=1000))["list"]

    def wait_export(self, serial: str, timeout: float = 10) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rec = self.data(self.get("/data/findExportRecordBySerialNumbers", serialNumbers=serial))[0]
            if rec["status"] in ("COMPLETED", "FAILED"):
                return rec
            time.sleep(0.01)
        raise AssertionError(f"export {serial} not finished: {rec}")


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (8, 6)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, fmt)
    return buf.getvalue()


def pcd_bytes(points: int = 3) -> bytes:
    header = (
        "# .PCD v0.7 - Point Cloud Data file format\nVERSION 0.7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F F\n"
        f"COUNT 1 1 1\nWIDTH {points}\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS {points}\nDATA ascii\n"
    )
    return (header + "".join(f"{i}.0 {i}.5 0.1\n" for i in range(points))).encode()


def camera_config(cameras: int = 1) -> bytes:
    cam = {
        "cameraInternal": {"fx": 1000, "fy": 1000, "cx": 4, "cy": 3},
        "width": 8,
        "height": 6,
        "cameraExternal": [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1],
        "rowMajor": True,
    }
    return json.dumps([cam] * cameras).encode()


def make_zip(files: dict[str, bytes | str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in files.items():
            zf.writestr(name, content)
    return buf.getvalue()


def make_tar(files: dict[str, bytes | str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()
