"""Worker pools and the upload job (validation, download); parsing lives in :mod:`.importer`."""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import threading
import urllib.request
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from .archive import upload_format_ok
from .scratch import JobScratch
from .storage import BUCKET, CHUNK, INTERNAL_HOST, StorageError

if TYPE_CHECKING:
    from .emulator import Xtreme1Emulator

URL_CHECK_TIMEOUT = 2.0


class JobAborted(Exception):
    """The job stops here: emulator stopping, state reset, or a stall/stuck outcome."""


class WorkerPool:
    """A fixed pool of daemon threads fed by a FIFO (like hutool's ``ThreadUtil.newExecutor(n)``)."""

    def __init__(self, name: str, size: int) -> None:
        self.name = name
        self.size = size
        self._queue: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        if self._threads:
            return
        for i in range(self.size):
            t = threading.Thread(target=self._loop, name=f"xtreme1-{self.name}-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    def _loop(self) -> None:
        while True:
            task = self._queue.get()
            if task is None:
                return
            # a crashed job leaves its record where it was, like the real server
            try:
                with contextlib.suppress(Exception):
                    task()
            finally:
                self._queue.task_done()

    def submit(self, task: Callable[[], None]) -> None:
        self._queue.put(task)

    def clear(self) -> None:
        try:
            while True:
                self._queue.get_nowait()
                self._queue.task_done()
        except queue.Empty:
            pass

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every submitted job has returned; ``False`` if some still run after ``timeout``."""
        done = self._queue.all_tasks_done
        with done:
            return done.wait_for(lambda: self._queue.unfinished_tasks == 0, timeout)

    def stop(self) -> None:
        self.clear()
        for _ in self._threads:
            self._queue.put(None)
        for t in self._threads:
            t.join(timeout=1)
        self._threads = []


# ------------------------------------------------------------------------------------ URL checking


def internal_key(url: str) -> str | None:
    """Object key of an ``http://minio:9000/xtreme1/<key>`` URL, else ``None``."""
    parts = urlsplit(url)
    if parts.netloc != INTERNAL_HOST:
        return None
    path = unquote(parts.path)
    prefix = f"/{BUCKET}/"
    return path[len(prefix) :] if path.startswith(prefix) else ""


def url_answers_200(emu: Xtreme1Emulator, url: str) -> bool:
    """``DecompressionFileUtils.validateUrl``: a GET of the URL must answer 200."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    key = internal_key(url)
    if key is not None:
        query = dict(p.split("=", 1) if "=" in p else (p, "") for p in parts.query.split("&") if p)
        query = {k: unquote(v) for k, v in query.items()}
        try:
            if any(k.startswith("X-Amz-") for k in query):
                emu._signer.check("GET", key, INTERNAL_HOST, query)
        except StorageError:
            return False
        return bool(key) and emu._objects.exists(key)
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, method="GET"), timeout=URL_CHECK_TIMEOUT
        ) as r:
            return r.status == 200
    except Exception:
        return False


# ------------------------------------------------------------------------------------------ upload


def create_upload(emu: Xtreme1Emulator, body: dict[str, Any], stall_at: str | None) -> str:
    """The synchronous part of ``data/upload``; returns the serial (failures only mark the record)."""
    store = emu._store
    with store.lock:
        rec = {
            "id": store.next_id("upload"),
            "serialNumber": store.serial(),
            "errorMessage": None,
            "totalFileSize": None,
            "downloadedFileSize": None,
            "totalDataNum": None,
            "parsedDataNum": None,
            "status": "UNSTARTED",
            "fileUrl": body["fileUrl"],
            "datasetId": body["datasetId"],
            "source": body["source"],
            "resultType": body.get("resultType"),
            "modelId": body.get("modelId"),
            "dataFormat": body.get("dataFormat"),
            "stall": stall_at,
        }
        store.uploads[rec["serialNumber"]] = rec
    url = body["fileUrl"]
    if not url_answers_200(emu, url):
        rec.update(status="FAILED", errorMessage="File url error")
        return rec["serialNumber"]
    ds = store.live_dataset(body["datasetId"])
    if ds is None:
        rec.update(status="FAILED", errorMessage="Dataset not found")
        return rec["serialNumber"]
    if not upload_format_ok(unquote(urlsplit(url).path), ds["type"], body["source"]):
        rec.update(status="FAILED", errorMessage="Incorrect file format")
        return rec["serialNumber"]
    emu._submit("upload", run_upload, rec["serialNumber"])
    return rec["serialNumber"]


def set_status(rec: dict[str, Any], status: str, **fields: Any) -> None:
    rec.update(fields)
    rec["status"] = status
    if rec.get("stall") == status:
        raise JobAborted()


def run_upload(emu: Xtreme1Emulator, generation: int, serial: str) -> None:
    from .importer import import_package

    rec = emu._store.uploads[serial]
    if rec.get("stall") == "UNSTARTED":
        return
    work = os.path.join(emu._scratch, uuid.uuid4().hex)
    os.makedirs(work, exist_ok=True)
    scratch = emu._scratch_meter.job()
    try:
        url = rec["fileUrl"]
        saved = os.path.join(work, os.path.basename(unquote(urlsplit(url).path)) or "package")
        set_status(rec, "DOWNLOADING")
        emu._step(generation)
        key = internal_key(url)
        if key:
            total = emu._objects.size(key)
            rec.update(totalFileSize=total, downloadedFileSize=0)
            emu._step(generation)
            emu._objects.copy_to(key, saved, lambda n: _downloaded(rec, scratch, n))
        else:
            _http_download(url, saved, rec, scratch)  # errors propagate: the record stays DOWNLOADING
        emu._step(generation)
        set_status(rec, "DOWNLOAD_COMPLETED")
        emu._step(generation)
        import_package(emu, generation, rec, saved, work, scratch)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        scratch.close()


def _downloaded(rec: dict[str, Any], scratch: JobScratch, done: int) -> None:
    rec["downloadedFileSize"] = done
    scratch.download_progress(done)


def _http_download(url: str, dest: str, rec: dict[str, Any], scratch: JobScratch) -> None:
    with urllib.request.urlopen(url, timeout=30) as resp, open(dest, "wb") as out:
        total = resp.headers.get("Content-Length")
        rec.update(totalFileSize=int(total) if total else None, downloadedFileSize=0)
        done = 0
        while chunk := resp.read(CHUNK):
            out.write(chunk)
            done += len(chunk)
            _downloaded(rec, scratch, done)
        if not total:
            rec["totalFileSize"] = done
