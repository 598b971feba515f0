"""What an archive sends to Xtreme1: its data items, scenes and ground-truth objects, read as the server
reads them (J:usecase/UploadDataUseCase.java, PointCloudUploadUseCase.java, ImageUploadUseCase.java).

Only names are listed; the one file opened per data item is its result JSON, one at a time, so memory
stays bounded by the largest result file and the number of names. Works on a dataset folder, a ``.zip``
or a ``.tar`` (read in one streaming pass).
"""

from __future__ import annotations

import json
import os
import re
import tarfile
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO

from airflow_provider_xtreme1.vocabulary import RESULT_OBJECT_TYPES

__all__ = ["Manifest", "SentItem", "SentParent", "entries_manifest", "read_manifest", "source_kind"]

IMAGE_EXTS = frozenset({"jpg", "jpeg", "png", "bmp", "webp", "tif", "tiff"})
_SENSOR = {"IMAGE": re.compile(r"image_\d", re.IGNORECASE)}
_LIDAR = re.compile(r"lidar_point_cloud_\d", re.IGNORECASE)


@dataclass
class SentItem:
    """One data item (frame) of the archive and the objects of its result file.

    ``objects`` counts every entry of the file, ``valid`` those the server keeps (a known ``type`` and a
    ``contour``), ``with_class`` the valid ones carrying a ``classId``. ``unreadable`` marks a result
    file the server cannot convert (bad JSON, ``objects`` not a list): it imports none of it, silently.
    """

    name: str
    has_result: bool = False
    objects: int = 0
    valid: int = 0
    with_class: int = 0
    unreadable: bool = False


@dataclass
class SentParent:
    """A folder holding sensor folders: a scene (``scene_*``) or root-level items (``name`` = folder)."""

    name: str
    is_scene: bool
    items: list[SentItem] = field(default_factory=list)


@dataclass
class Manifest:
    dataset_type: str
    parents: list[SentParent]

    @property
    def item_count(self) -> int:
        return sum(len(p.items) for p in self.parents)


def _ext(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def _stem(name: str) -> str:
    return name[: name.rfind(".")] if "." in name else name


def _is_primary(file_name: str, dataset_type: str) -> bool:
    ext = _ext(file_name)
    return ext in IMAGE_EXTS if dataset_type == "IMAGE" else ext == "pcd"


def count_objects(stream: IO[bytes], item: SentItem) -> None:
    """Fill ``item`` from a result file: ``{"objects": [...]}`` or an array of such documents."""
    item.has_result = True
    try:
        doc = json.load(stream)
        parts = doc if isinstance(doc, list) else [doc]
        objects: list = []
        for part in parts:
            found = part.get("objects") if isinstance(part, dict) else None
            if not isinstance(part, dict) or not isinstance(found, (list, type(None))):
                raise ValueError("objects is not a list")
            objects += found or []
        if not all(isinstance(o, dict) for o in objects):
            raise ValueError("an object is not a JSON object")
    except (ValueError, UnicodeDecodeError):
        item.unreadable = True
        return
    item.objects = len(objects)
    kept = [o for o in objects if o.get("type") in RESULT_OBJECT_TYPES and o.get("contour") is not None]
    item.valid = len(kept)
    item.with_class = sum(1 for o in kept if o.get("classId") is not None)


def _text_items(stream: IO[bytes], stem: str) -> list[SentItem]:
    """``<file>_<i>`` for every root-to-leaf path of a TEXT dialogue file."""
    try:
        doc = json.load(stream)
    except (ValueError, UnicodeDecodeError):
        return []
    if not isinstance(doc, list):
        return []
    nodes = [
        n
        for n in doc
        if isinstance(n, dict) and all(n.get(k) not in (None, "") for k in ("id", "role", "text"))
    ]
    children: dict[str | None, list[str]] = defaultdict(list)
    for n in nodes:
        parent = n.get("parentId")
        children[None if parent in (None, "") else str(parent)].append(str(n["id"]))
    leaves, stack, seen = 0, list(children[None]), set()
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        kids = children.get(node, [])
        leaves += not kids
        stack += kids
    return [SentItem(f"{stem}_{i}") for i in range(1, leaves + 1)]


# ---------------------------------------------------------------------------------------------- listing


def _iter_folder(root: Path) -> Iterator[tuple[str, IO[bytes] | None]]:
    # hidden entries are not packed (packing.plan_zip), so they are not sent either
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        rel = Path(dirpath).relative_to(root).as_posix()
        for name in sorted(f for f in filenames if not f.startswith(".")):
            yield (name if rel == "." else f"{rel}/{name}"), None


def source_kind(source: str | os.PathLike) -> str:
    """``folder``, ``zip``, ``tar`` or ``image`` (a single-image upload); ``ValueError`` for anything else."""
    path = Path(source)
    if path.is_dir():
        return "folder"
    if path.is_file() and zipfile.is_zipfile(path):
        return "zip"
    if path.is_file() and tarfile.is_tarfile(path):
        return "tar"
    if path.is_file() and _ext(path.name) in IMAGE_EXTS:
        return "image"
    raise ValueError(f"{path} is not a dataset folder, a .zip, a .tar or an image file")


def read_manifest(source: str | os.PathLike, dataset_type: str) -> Manifest:
    """What ``source`` (folder, ``.zip``, ``.tar`` or one image) sends to a dataset of ``dataset_type``."""
    path = Path(source)
    kind = source_kind(path)
    if kind == "image":
        return Manifest(dataset_type, [SentParent("", False, [SentItem(_stem(path.name))])])
    if kind == "folder":
        return _build(dataset_type, _iter_folder(path), lambda rel: open(path / rel, "rb"))
    if kind == "zip":
        with zipfile.ZipFile(path) as zf:
            original = {_norm(i.filename): i.filename for i in zf.infolist() if not i.is_dir()}
            names = ((rel, None) for rel in original)
            return _build(dataset_type, names, lambda rel: zf.open(original[rel]))
    with tarfile.open(path, "r:*") as tf:
        return _build_tar(dataset_type, tf)


def entries_manifest(entries: Iterable[tuple[str, str, int]], dataset_type: str) -> Manifest:
    """What an archive of ``entries`` (``(arcname, path on disk, size)``, folders ending with ``/``, as
    :func:`~airflow_provider_xtreme1.archives.packing.plan_zip` lists them) sends: names as in the archive,
    result files read from disk."""
    paths = {_norm(arcname): path for arcname, path, _ in entries if not arcname.endswith("/")}
    return _build(dataset_type, ((rel, None) for rel in paths), lambda rel: open(paths[rel], "rb"))


def _norm(rel: str) -> str:
    return "/".join(p for p in rel.replace("\\", "/").split("/") if p not in ("", "."))


def _wanted(rel: str, dataset_type: str) -> bool:
    """Files whose content matters: result JSONs (and TEXT dialogue files)."""
    parts = PurePosixPath(rel).parts
    if len(parts) < 2 or _ext(rel) != "json":
        return False
    return parts[-2].lower() == ("text" if dataset_type == "TEXT" else "result")


def _build_tar(dataset_type: str, tf: tarfile.TarFile) -> Manifest:
    # One pass: the contents needed (result files) are counted as their members stream by.
    contents: dict[str, SentItem | list[SentItem]] = {}
    names: list[tuple[str, IO[bytes] | None]] = []
    for member in tf:
        if not member.isfile():
            continue
        rel = _norm(member.name)
        names.append((rel, None))
        if _wanted(rel, dataset_type):
            stream = tf.extractfile(member)
            if stream is not None:
                with stream:
                    contents[rel] = _content(stream, rel, dataset_type)
    return _build(dataset_type, iter(names), None, contents)


def _content(stream: IO[bytes], rel: str, dataset_type: str) -> SentItem | list[SentItem]:
    if dataset_type == "TEXT":
        return _text_items(stream, _stem(PurePosixPath(rel).name))
    item = SentItem(_stem(PurePosixPath(rel).name))
    count_objects(stream, item)
    return item


def _build(
    dataset_type: str,
    entries: Iterator[tuple[str, IO[bytes] | None]],
    opener,
    contents: dict[str, SentItem | list[SentItem]] | None = None,
) -> Manifest:
    files: dict[str, list[str]] = defaultdict(list)  # folder → file names
    folders: dict[str, set[str]] = defaultdict(set)  # folder → sub-folder names
    for rel, _ in entries:
        parts = _norm(rel).split("/")
        if not parts[-1] or any("__MACOSX" in p for p in parts):
            continue
        for depth in range(len(parts) - 1):
            folders["/".join(parts[:depth])].add(parts[depth])
        files["/".join(parts[:-1])].append(parts[-1])

    def read(rel: str) -> SentItem | list[SentItem]:
        if contents is not None:
            missing = SentItem(_stem(PurePosixPath(rel).name), has_result=True, unreadable=True)
            return contents.get(rel, missing)
        with opener(rel) as stream:
            return _content(stream, rel, dataset_type)

    if dataset_type == "TEXT":
        items = [
            item
            for folder in sorted(files)
            if folder and PurePosixPath(folder).name.lower() == "text" and folder.count("/") < 10
            for f in sorted(files[folder])
            if _ext(f) == "json"
            for item in read(f"{folder}/{f}")  # type: ignore[union-attr]
        ]
        return Manifest(dataset_type, [SentParent("", False, items)] if items else [])

    sensor = _SENSOR.get(dataset_type, _LIDAR)
    parents = []
    for folder in sorted(folders):
        subs = sorted(s for s in folders[folder] if sensor.fullmatch(s))
        if not subs:
            continue
        name = PurePosixPath(folder).name if folder else ""
        names = sorted(
            {_stem(f) for s in subs for f in files.get(_join(folder, s), []) if _is_primary(f, dataset_type)}
        )
        results: dict[str, str] = {}
        for sub in sorted(folders[folder]):
            if sub.lower() == "result":
                for f in sorted(files.get(_join(folder, sub), [])):
                    if f.upper().endswith(".JSON"):
                        results.setdefault(_stem(f), _join(_join(folder, sub), f))
        items = []
        for data_name in names:
            item = read(results[data_name]) if data_name in results else SentItem(data_name)
            assert isinstance(item, SentItem)
            item.name = data_name
            items.append(item)
        parents.append(SentParent(name, name.lower().startswith("scene_"), items))
    return Manifest(dataset_type, parents)


def _join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name
