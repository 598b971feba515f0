"""The Xtreme1 upload-package layout rules, applied to a tree of folder and file names.

The server imports an archive by walking its folders (xtreme1-api §5): a *data parent* is any folder holding
a sensor folder of the dataset type (``lidar_point_cloud_<digit>`` for LiDAR, ``image_<digit>`` for IMAGE);
a data parent named ``scene_*`` becomes a SCENE; TEXT reads ``*.json`` files in folders named ``text``.
Whatever does not fit is silently skipped by the server, so this module reports it before an upload.

What is read inside the files is checked by :mod:`airflow_provider_xtreme1.archives.content`; the names
near misses should have come from :mod:`airflow_provider_xtreme1.archives.hints`.

The same rules serve a folder on disk (:mod:`airflow_provider_xtreme1.archives.packing` builds the tree with
``os.scandir`` and lets the rules read file contents) and an archive's entry list (names only).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from airflow_provider_xtreme1.archives.content import RESULT_OBJECT_TYPES as RESULT_OBJECT_TYPES
from airflow_provider_xtreme1.archives.content import TEXT_ROLES as TEXT_ROLES
from airflow_provider_xtreme1.archives.content import sniff_image as sniff_image
from airflow_provider_xtreme1.exceptions import Xtreme1ValidationError
from airflow_provider_xtreme1.vocabulary import DATASET_TYPES as DATASET_TYPES
from airflow_provider_xtreme1.vocabulary import LIDAR_TYPES as LIDAR_TYPES

#: Image suffixes the server both accepts (MIME gate) and can decode (JDK ImageIO).
IMAGE_EXTS = frozenset({"jpg", "jpeg", "png", "bmp", "tif", "tiff"})
#: The server looks for ``text`` folders at most this many levels below the extraction folder.
TEXT_MAX_DEPTH = 10

# Java's ``\d`` is ASCII-only (PointCloudUploadUseCase / ImageUploadUseCase match lower-cased names).
LIDAR_SENSOR_RE = re.compile(r"lidar_point_cloud_[0-9]", re.IGNORECASE)
IMAGE_SENSOR_RE = re.compile(r"image_[0-9]", re.IGNORECASE)
SAFE_NAME_RE = re.compile(r"[A-Za-z0-9._-]+")
_NATURAL_SPLIT = re.compile(r"(\d+)")

_EXPECTED_LAYOUT = {
    "LIDAR_FUSION": "a LIDAR_FUSION dataset needs lidar_point_cloud_0/ (PCD files) and optionally "
    "camera_image_<n>/, camera_config/, result/",
    "LIDAR_BASIC": "a LIDAR_BASIC dataset needs lidar_point_cloud_0/ (PCD files) and optionally result/",
    "IMAGE": "an IMAGE dataset needs image_0/ (jpg/png/bmp/tiff files) and optionally result/",
    "TEXT": "a TEXT dataset needs a folder named text/ holding dialogue JSON files "
    "(arrays of {id, parentId, text, role})",
}
# Shown in messages as the sensor folder a dataset type looks for.
_SENSOR_LABEL = {
    "LIDAR_FUSION": "lidar_point_cloud_<digit>",
    "LIDAR_BASIC": "lidar_point_cloud_<digit>",
    "IMAGE": "image_<digit>",
    "TEXT": "text",
}
_MAX_LISTED = 25  # messages per category before the rest is summed up


def normalize_dataset_type(dataset_type: object) -> str:
    """The dataset type as the server spells it (``IMAGE``, ``LIDAR_FUSION``, ``LIDAR_BASIC``, ``TEXT``).

    :raises ValueError: for any other value.
    """
    value = getattr(dataset_type, "value", dataset_type)
    text = str(value).strip().upper()
    if text not in DATASET_TYPES:
        raise ValueError(f"unknown dataset type {dataset_type!r}; expected one of {', '.join(DATASET_TYPES)}")
    return text


def natural_key(text: str) -> list:
    """Sort key that orders ``frame2`` before ``frame10`` (the server's ``orderName``)."""
    return [int(t) if t.isdigit() else t.lower() for t in _NATURAL_SPLIT.split(text)]


def ext_of(name: str) -> str:
    """Lower-case suffix without the dot (``""`` when there is none)."""
    dot = name.rfind(".")
    return name[dot + 1 :].lower() if dot > 0 else ""


def base_name(name: str) -> str:
    """File name up to the last dot: the data name the server derives from a file."""
    dot = name.rfind(".")
    return name[:dot] if dot > 0 else name


# ------------------------------------------------------------------------------------------------- tree


@dataclass(slots=True, eq=False)
class FileNode:
    """One file: ``rel`` is its path inside the archive; ``path`` its location on disk, if any."""

    name: str
    rel: str
    size: int
    path: str | None = None


@dataclass(slots=True, eq=False)
class DirNode:
    """One folder of the tree; the tree's root stands for the archive's extraction folder (``rel=""``)."""

    name: str
    rel: str
    dirs: list[DirNode] = field(default_factory=list)
    files: list[FileNode] = field(default_factory=list)

    def walk(self) -> Iterator[DirNode]:
        """This folder and every folder below it."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.dirs))

    def child(self, name: str) -> DirNode:
        """The sub-folder ``name``, created when missing (used to build trees from archive entries)."""
        for d in self.dirs:
            if d.name == name:
                return d
        node = DirNode(name, f"{self.rel}/{name}" if self.rel else name)
        self.dirs.append(node)
        return node


class Problems:
    """Errors and warnings, capped per category so 100,000 bad files give a readable report."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.warnings: list[str] = []
        self._counts: Counter[tuple[bool, str]] = Counter()

    def add(self, is_error: bool, category: str, message: str) -> None:
        key = (is_error, category)
        self._counts[key] += 1
        if self._counts[key] <= _MAX_LISTED:
            (self.errors if is_error else self.warnings).append(message)

    def error(self, category: str, message: str) -> None:
        self.add(True, category, message)

    def warning(self, category: str, message: str) -> None:
        self.add(False, category, message)

    def finish(self) -> None:
        """Append one line per category that went over the cap."""
        for (is_error, category), count in self._counts.items():
            if count > _MAX_LISTED:
                target = self.errors if is_error else self.warnings
                target.append(f"... and {count - _MAX_LISTED} more problem(s) of the kind '{category}'")


# ------------------------------------------------------------------------------------------------ report


@dataclass
class LayoutReport:
    """What :func:`~airflow_provider_xtreme1.archives.packing.validate_dataset_folder` found.

    ``items`` counts data items as the server creates them (frames inside scenes included; for TEXT the
    number of dialogue files, which is what the server's ``totalDataNum`` counts), ``scenes`` the
    ``scene_*`` folders, ``files``/``bytes`` what a package of the folder holds.
    """

    dataset_type: str
    items: int = 0
    scenes: int = 0
    files: int = 0
    bytes: int = 0
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    folder: str = ""
    # What plan_zip packs, in archive order: (arcname, path on disk, size); folders end with "/".
    entries: list[tuple[str, str, int]] = field(default_factory=list, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return not self.errors

    def raise_for_errors(self) -> None:
        """Raise :class:`Xtreme1ValidationError` listing every error, if there are any."""
        if self.errors:
            raise Xtreme1ValidationError(
                f"{self.folder} is not a valid {self.dataset_type} dataset folder "
                f"({len(self.errors)} problem(s)):",
                self.errors,
            )


# ------------------------------------------------------------------------------------------------- rules


def _edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def looks_like_scene(name: str) -> bool:
    """``True`` for ``Sence_01``, ``scene-01``, ``Scenes``: meant as a scene but not named ``scene_*``."""
    low = name.lower()
    if low.startswith("scene_"):
        return False
    word = re.match(r"[a-z]*", low).group(0)
    return "scene" in low or (len(word) >= 4 and _edit_distance(word, "scene") <= 2)


def _scene_name(name: str) -> str:
    """A ``scene_*`` name to suggest for a folder meant as a scene (``Sence_01`` -> ``scene_01``)."""
    digits = re.search(r"\d+$", name)
    return f"scene_{digits.group(0)}" if digits else f"scene_{name}"


def _stray_data_files(node: DirNode, dataset_type: str) -> int:
    """How many files of the type's primary kind sit directly in ``node`` (a folder the server skips)."""
    if dataset_type in LIDAR_TYPES:
        wanted = frozenset({"pcd"})
    elif dataset_type == "IMAGE":
        wanted = IMAGE_EXTS | {"webp"}
    else:
        wanted = frozenset({"json"})
    return sum(1 for f in node.files if ext_of(f.name) in wanted)
