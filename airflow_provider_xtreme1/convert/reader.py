"""Reading an Xtreme1 export, one data item at a time.

The archive (``ExportUseCase.writeFile`` on the server; ``emulator/exporter.py`` here) holds one top folder
``<dataset>-<yyyyMMddHHmmss>/`` with ``data/<name>.json`` per item and ``result/<name>.json`` (a list, one
entry per selected source) for items that have results; frames of a scene lie under ``<scene>/data/`` and
``<scene>/result/``. COCO exports add ``result/coco.json``, which is not an item and is skipped.

:class:`Export` opens the zip itself or the folder it was unpacked into (the folder holding
``<dataset>-<ts>/`` or that folder itself). Only the zip's index and the items' names are held; each
item's two small JSON files are read when :meth:`Export.items` yields it, so memory does not grow with the
content of the export. Items come grouped by scene (root items first), in natural name order within a
group, so a scene's frames are consecutive.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from airflow_provider_xtreme1.convert.geometry import Camera, CameraConfigError, parse_camera_config

_TOP = re.compile(r".+-\d{14}$")
_DIGITS = re.compile(r"(\d+)")


class ExportFormatError(ValueError):
    """The export is not what Xtreme1 writes (names the file and what was expected)."""


@dataclass(frozen=True)
class ExportItem:
    """One data item: its ``data/*.json`` document and the sources of its ``result/*.json``."""

    scene: str | None
    name: str
    data: dict[str, Any]
    results: list[dict[str, Any]]
    path: str

    @property
    def key(self) -> str:
        """``<scene>/<name>`` or ``<name>``: unique within an export."""
        return f"{self.scene}/{self.name}" if self.scene else self.name


def natural_key(text: str) -> list[Any]:
    return [int(part) if part.isdigit() else part.lower() for part in _DIGITS.split(text)]


def _split(rel: str) -> tuple[str | None, str] | None:
    """``(scene, name)`` of a ``data/<name>.json`` path relative to the top folder; ``None`` otherwise."""
    parts = rel.split("/")
    if len(parts) == 2 and parts[0] == "data" and parts[1].endswith(".json"):
        return None, parts[1][: -len(".json")]
    if len(parts) == 3 and parts[1] == "data" and parts[2].endswith(".json"):
        return parts[0], parts[2][: -len(".json")]
    return None


class _Source:
    """Names and bytes of an export, zipped or unpacked."""

    def __init__(self, export: str | os.PathLike[str]) -> None:
        path = Path(export)
        self.where = str(path)
        self._zip: zipfile.ZipFile | None = None
        found: list[tuple[str | None, str, str]] = []
        if path.is_dir():
            top = path
            if not (top / "data").is_dir():
                subdirs = [p for p in top.iterdir() if p.is_dir()]
                if len(subdirs) == 1 and _TOP.match(subdirs[0].name):
                    top = subdirs[0]
            self.top = top
            for root, _dirs, files in os.walk(top):
                if os.path.basename(root) != "data":
                    continue
                rel_root = os.path.relpath(root, top).replace(os.sep, "/")
                found.extend(
                    (s, n, rel) for f in files if (sn := _split(rel := f"{rel_root}/{f}")) for s, n in [sn]
                )
        elif path.is_file():
            try:
                self._zip = zipfile.ZipFile(path)
            except zipfile.BadZipFile as exc:
                raise ExportFormatError(f"{path}: not a zip archive ({exc})") from None
            tops = {n.split("/", 1)[0] for n in self._zip.namelist() if "/" in n}
            if len(tops) != 1:
                raise ExportFormatError(
                    f"{path}: expected one top folder <dataset>-<yyyyMMddHHmmss>/, found {sorted(tops)[:5]}"
                )
            self.top_name = tops.pop()
            cut = len(self.top_name) + 1
            for name in self._zip.namelist():
                if (sn := _split(name[cut:])) is not None:
                    found.append((sn[0], sn[1], name[cut:]))
        else:
            raise ExportFormatError(
                f"{path}: no such export (expected the export zip or its unpacked folder)"
            )
        self.data = sorted(
            found, key=lambda t: (t[0] is not None, natural_key(t[0] or ""), natural_key(t[1]))
        )

    def has(self, rel: str) -> bool:
        if self._zip is not None:
            return f"{self.top_name}/{rel}" in self._zip.NameToInfo
        return (self.top / rel).is_file()

    def read_json(self, rel: str) -> Any:
        try:
            if self._zip is not None:
                raw = self._zip.read(f"{self.top_name}/{rel}")
            else:
                raw = (self.top / rel).read_bytes()
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ExportFormatError(f"{self.where}: {rel} is not valid JSON ({exc})") from None

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()


def _result_path(scene: str | None, name: str) -> str:
    return f"{scene}/result/{name}.json" if scene else f"result/{name}.json"


class Export:
    """An opened export: :meth:`items` streams it, :meth:`class_names` reads only the results."""

    def __init__(self, export: str | os.PathLike[str]) -> None:
        self._source = _Source(export)
        self.where = self._source.where

    def __enter__(self) -> Export:
        return self

    def __exit__(self, *exc: object) -> None:
        self._source.close()

    def __len__(self) -> int:
        return len(self._source.data)

    def _results(self, scene: str | None, name: str) -> list[dict[str, Any]]:
        rel = _result_path(scene, name)
        if not self._source.has(rel):
            return []
        doc = self._source.read_json(rel)
        if isinstance(doc, dict):  # the import format also allows one {"objects": [...]}
            doc = [doc]
        if not isinstance(doc, list) or not all(isinstance(s, dict) for s in doc):
            raise ExportFormatError(f"{self.where}: {rel} must be a list of sources {{sourceName, objects}}")
        return doc

    def items(self) -> Iterator[ExportItem]:
        for scene, name, rel in self._source.data:
            data = self._source.read_json(rel)
            if not isinstance(data, dict):
                raise ExportFormatError(f"{self.where}: {rel} must be an object {{dataId, name, type, ...}}")
            yield ExportItem(scene, name, data, self._results(scene, name), rel)

    def class_names(self, sources: Iterable[str] | None = None) -> set[str]:
        """Every class name used by objects of the selected sources (a pass over ``result/`` only)."""
        wanted = set(sources) if sources is not None else None
        names: set[str] = set()
        for scene, name, _rel in self._source.data:
            for source in self._results(scene, name):
                if wanted is not None and source.get("sourceName") not in wanted:
                    continue
                for obj in source.get("objects") or []:
                    cls = class_of(obj)
                    if cls:
                        names.add(cls)
        return names


def class_of(obj: dict[str, Any]) -> str | None:
    """The object's class: ``className``, else the model's ``modelClass``."""
    name = obj.get("className") or obj.get("modelClass")
    return str(name) if name not in (None, "") else None


def objects_of(item: ExportItem, sources: Iterable[str] | None = None) -> Iterator[dict[str, Any]]:
    wanted = set(sources) if sources is not None else None
    for source in item.results:
        if wanted is not None and source.get("sourceName") not in wanted:
            continue
        for obj in source.get("objects") or []:
            if isinstance(obj, dict):
                yield obj


# ------------------------------------------------------------------------------------------ camera configs

CameraLookup = Callable[[ExportItem], "list[Camera] | None"]


class CameraConfigs:
    """Camera configs for LiDAR-fusion frames, found in the uploaded package (a folder or a zip).

    The export only *references* each frame's ``camera_config`` file (``cameraConfig.zipPath`` and a
    presigned ``url``). This looks the file up in the package the data was uploaded from by the longest
    tail of ``zipPath`` that is a path in the package (its root may be the zip's root or a wrapper
    folder), else by ``<scene>/camera_config/<name>.json`` / ``camera_config/<name>.json``.
    ``fetch`` (``url -> bytes``) is tried when the package lacks the file.
    """

    _AMBIGUOUS = ""

    def __init__(
        self, package: str | os.PathLike[str] | None = None, fetch: Callable[[str], bytes] | None = None
    ) -> None:
        self._fetch = fetch
        self._zip: zipfile.ZipFile | None = None
        self._root: Path | None = None
        self._index: dict[tuple[str, ...], str] | None = None
        if package is None:
            return
        path = Path(package)
        if path.is_dir():
            self._root = path
        elif path.is_file():
            self._zip = zipfile.ZipFile(path)
        else:
            raise CameraConfigError(f"{path}: no such folder or zip for camera configs")

    def _exists(self, rel: str) -> bool:
        if self._zip is not None:
            return rel in self._zip.NameToInfo
        return self._root is not None and (self._root / rel).is_file()

    def _tails(self) -> dict[tuple[str, ...], str]:
        """Every ``camera_config`` file by each tail of its path (built once, on the first miss)."""
        if self._index is None:
            if self._zip is not None:
                files: Iterable[str] = (n for n in self._zip.namelist() if not n.endswith("/"))
            elif self._root is not None:
                root = self._root
                files = (
                    os.path.relpath(os.path.join(r, f), root).replace(os.sep, "/")
                    for r, _d, fs in os.walk(root)
                    for f in fs
                )
            else:
                files = ()
            self._index = {}
            for rel in files:
                parts = tuple(rel.split("/"))
                if len(parts) < 2 or parts[-2].lower() != "camera_config" or not rel.endswith(".json"):
                    continue
                for k in range(2, len(parts) + 1):
                    tail = parts[-k:]
                    self._index[tail] = self._AMBIGUOUS if tail in self._index else rel
        return self._index

    def _find(self, item: ExportItem) -> str | None:
        ref = item.data.get("cameraConfig") or {}
        zip_path = str(ref.get("zipPath") or "").replace("\\", "/").strip("/")
        candidates: list[tuple[str, ...]] = []
        if zip_path:
            parts = tuple(PurePosixPath(zip_path).parts)
            candidates += [parts[-k:] for k in range(len(parts), 1, -1)]
        file = f"{item.name}.json"
        if item.scene:
            candidates.append((item.scene, "camera_config", file))
        candidates.append(("camera_config", file))
        for tail in candidates:  # a tail of zipPath that is a whole path in the package wins
            if self._exists(rel := "/".join(tail)):
                return rel
        if self._zip is None and self._root is None:
            return None
        for tail in candidates:
            found = self._tails().get(tail)
            if found:
                return found
        return None

    def __call__(self, item: ExportItem) -> list[Camera] | None:
        where = f"camera config of {item.key}"
        rel = self._find(item)
        raw: bytes | None = None
        if rel is not None:
            where = rel
            raw = self._zip.read(rel) if self._zip is not None else (self._root / rel).read_bytes()  # type: ignore[operator]
        elif self._fetch is not None:
            url = (item.data.get("cameraConfig") or {}).get("url")
            if url:
                raw = self._fetch(url)
        if raw is None:
            return None
        try:
            doc = json.loads(raw)
        except ValueError as exc:
            raise CameraConfigError(f"{where}: not valid JSON ({exc})") from None
        return parse_camera_config(doc, where)

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
