"""What :func:`~airflow_provider_xtreme1.transfer.upload` can send: a file, an ObjectStoragePath or a
planned zip."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path, PurePath
from typing import IO, Any, Protocol, runtime_checkable

from airflow_provider_xtreme1.exceptions import (
    Xtreme1ConfigError,
    Xtreme1ValidationError,
)
from airflow_provider_xtreme1.locations import call_quietly, resolve_location
from airflow_provider_xtreme1.transfer.http import CHUNK_SIZE

log = logging.getLogger(__name__)


@runtime_checkable
class UploadSource(Protocol):
    """Something :func:`upload` can send: a name, an exact size, and a re-openable chunk stream."""

    name: str
    size: int

    def open_chunks(self) -> Iterator[bytes]:
        """Yield the whole content from the start, in chunks of at most 1 MiB (new stream each call)."""
        ...


class FileSource:
    """A local file, read in 1 MiB chunks."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.name = self.path.name
        try:
            info = self.path.stat()
        except FileNotFoundError:
            raise Xtreme1ValidationError(f"Upload source {self.path} does not exist.") from None
        if self.path.is_dir():
            raise Xtreme1ValidationError(
                f"Upload source {self.path} is a directory, not a file: pack it into a zip first "
                "(packing.plan_zip) or pass the archive."
            )
        if info.st_size == 0:
            raise Xtreme1ValidationError(f"Upload source {self.path} is empty (0 bytes).")
        self.size = info.st_size

    def open_chunks(self) -> Iterator[bytes]:
        with open(self.path, "rb") as handle:
            yield from _read_chunks(handle)

    def __repr__(self) -> str:
        return f"FileSource({str(self.path)!r}, size={self.size})"


class ObjectStorageSource:
    """An ``ObjectStoragePath`` / fsspec / UPath-like object, streamed without a local copy."""

    def __init__(self, path: Any) -> None:
        self.path = path
        self.name = getattr(path, "name", "") or str(path).rstrip("/").rsplit("/", 1)[-1]
        try:
            exists = path.exists()
        except Exception:  # some stores cannot answer exists(); stat() below decides
            exists = True
        if not exists:
            raise Xtreme1ValidationError(f"Upload source {path} does not exist.")
        if call_quietly(path, "is_dir"):
            raise Xtreme1ValidationError(
                f"Upload source {path} is a directory, not a file: pack it into a zip first or pass the "
                "archive."
            )
        try:
            size = _stat_size(path.stat())
        except FileNotFoundError:
            raise Xtreme1ValidationError(f"Upload source {path} does not exist.") from None
        if size is None:
            raise Xtreme1ValidationError(f"Upload source {path}: its store does not report a size.")
        if size == 0:
            raise Xtreme1ValidationError(f"Upload source {path} is empty (0 bytes).")
        self.size = size

    def open_chunks(self) -> Iterator[bytes]:
        with self.path.open("rb") as handle:
            yield from _read_chunks(handle)

    def __repr__(self) -> str:
        return f"ObjectStorageSource({str(self.path)!r}, size={self.size})"


class PlannedZipSource:
    """A zip planned in advance (exact ``size`` known) and produced on the fly by ``iter_bytes``."""

    def __init__(self, plan: Any, name: str | None = None) -> None:
        self.plan = plan
        top = getattr(plan, "top_folder", None)
        self.name = name or str(getattr(plan, "name", None) or (f"{top}.zip" if top else "archive.zip"))
        size = int(plan.size)
        if size <= 0:
            raise Xtreme1ValidationError(f"Planned archive {self.name} is empty (size {size}).")
        self.size = size

    def open_chunks(self) -> Iterator[bytes]:
        yield from self.plan.iter_bytes(CHUNK_SIZE)

    def __repr__(self) -> str:
        return f"PlannedZipSource({self.name!r}, size={self.size})"


def as_source(obj: Any) -> UploadSource:
    """Turn ``obj`` into an :class:`UploadSource`, validating it before any byte is sent.

    :param obj: one of

        * an :class:`UploadSource` (returned unchanged);
        * a planned zip: any object with ``size`` and ``iter_bytes(chunk_size)``;
        * a local path (``str``, ``os.PathLike`` or a ``file://`` URI); a URI of an object store Airflow
          knows (``s3://...``) becomes an ``airflow.sdk.ObjectStoragePath``; other schemes (``http://``)
          are refused (:func:`resolve_location`);
        * an ``ObjectStoragePath`` or any fsspec/UPath-like object with ``open("rb")`` and ``stat()``.
    :raises Xtreme1ValidationError: the file is missing, a directory, or empty (the message names it).
    :raises Xtreme1ConfigError: ``obj`` is none of the above, or a refused URI.
    """
    if isinstance(obj, (FileSource, ObjectStorageSource, PlannedZipSource)):
        return obj
    if isinstance(obj, UploadSource):
        if not isinstance(obj.size, int) or obj.size <= 0:
            raise Xtreme1ValidationError(
                f"Upload source {obj.name}: size must be a positive int, not {obj.size!r}."
            )
        return obj
    if hasattr(obj, "iter_bytes") and hasattr(obj, "size"):
        return PlannedZipSource(obj)
    if hasattr(obj, "open") and hasattr(obj, "stat") and not isinstance(obj, PurePath):
        return ObjectStorageSource(obj)
    if isinstance(obj, (str, os.PathLike)):
        try:
            where = resolve_location(obj, "source")
        except ValueError as err:
            raise Xtreme1ConfigError(str(err)) from None
        return FileSource(where) if isinstance(where, Path) else ObjectStorageSource(where)
    raise Xtreme1ConfigError(
        f"Cannot upload {obj!r}: expected a file path, an ObjectStoragePath or a planned zip "
        "(an object with size and iter_bytes)."
    )


def _read_chunks(handle: IO[bytes]) -> Iterator[bytes]:
    while chunk := handle.read(CHUNK_SIZE):
        yield chunk


def _stat_size(info: Any) -> int | None:
    size = getattr(info, "st_size", None)
    if size is None and isinstance(info, dict):
        size = info.get("size")
    return None if size is None else int(size)


def resolve_source(
    source: Any,
    dataset_type: str | None,
    *,
    with_results: bool | None = None,
    allow_unread_files: bool = False,
) -> tuple[Any, list[str]]:
    """Turn what the user gave into something the transfer module can send, checking it first.

    A local folder is validated and planned as a stored zip of exact length (streamed, no temp file);
    a local archive is checked (a real, complete zip or tar, no entries escaping its folder) — a
    ``file://`` URI is a local path like any other; a URI such as ``s3://bucket/set.zip`` or an
    ``ObjectStoragePath`` is streamed from object storage; other schemes (``http://``) are refused.
    Files the server would not read fail the check unless ``allow_unread_files`` is set;
    ``with_results`` says whether the import will set ``resultType`` (``None``: not known here).

    :return: the source to send, and the warnings of the layout check.
    """
    from airflow_provider_xtreme1.archives import check_archive, plan_zip

    checks = {
        "with_results": bool(with_results),
        "results_ignored": with_results is False,
        "allow_unread_files": allow_unread_files,
    }
    local_or_stored = isinstance(source, (str, os.PathLike)) or hasattr(source, "open")
    if hasattr(source, "iter_bytes") or not local_or_stored:
        return source, []  # a planned zip or an UploadSource
    where = resolve_location(source, "source")  # file:// is local; http(s):// is refused here
    if isinstance(where, Path):
        path = where
        if path.is_dir():
            if dataset_type is None:
                raise Xtreme1ConfigError(
                    f"{path} is a folder: give dataset_type (or dataset_id) so it can be checked and packed."
                )
            plan = plan_zip(path, dataset_type, **checks)
            return plan, list(plan.report.warnings)
        report = check_archive(path, dataset_type, **checks)
        report.raise_for_errors()
        return path, list(report.warnings)
    return where, []


def source_name(source: Any) -> str:
    """A file name for the archive, from the source's own name."""
    name = Path(str(getattr(source, "path", source)).rstrip("/")).name or "dataset"
    name = re.sub(r"[^A-Za-z0-9._-]", "_", name)
    return name if name.endswith((".zip", ".tar")) else f"{name}.zip"
