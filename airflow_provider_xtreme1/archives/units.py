"""What never splits in a shard, and what it costs in a stored ZIP.

:func:`split_units` reads a folder's archive entries (as :func:`~.packing.plan_zip` lists them) the way the
server groups files (xtreme1-api §5): a ``scene_*`` data parent is one unit; in any other data parent each
data item is one unit (its point cloud or image, the same-named files of the sibling sensor folders,
``camera_config/<name>.json``, ``result/<name>.json``); for TEXT each ``text/*.json`` file; every other
file (one the server does not read) is a unit of its own.

:func:`zip_size` is the exact length of the stored ZIP zipstream-ng writes for a list of entries;
:func:`file_cost`, :func:`dir_cost` and :func:`size_bound` an upper bound that does not depend on their order.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field

from airflow_provider_xtreme1.archives.packing import _ZIP_FILECOUNT_LIMIT
from airflow_provider_xtreme1.archives.rules import (
    IMAGE_EXTS,
    IMAGE_SENSOR_RE,
    LIDAR_SENSOR_RE,
    LIDAR_TYPES,
    TEXT_MAX_DEPTH,
    base_name,
    ext_of,
    natural_key,
)

__all__ = ["Entry", "Unit", "ancestors", "dir_cost", "file_cost", "size_bound", "split_units", "zip_size"]

Entry = tuple[str, str, int]  # (arcname, path on disk, size); folders end with "/"

_ZIP64_LIMIT = zipfile.ZIP64_LIMIT


# ------------------------------------------------------------------------------------------------ units


@dataclass
class Unit:
    """What never splits. ``kind``: ``scene``, ``item``, ``text`` or ``other`` (a file the server skips)."""

    kind: str
    label: str
    name: str
    files: list[int] = field(default_factory=list)
    items: int = 0
    dirs: set[str] = field(default_factory=set)
    cost: int = 0  # upper bound of the unit's files in a stored ZIP (headers, data, central directory)
    size: int = 0  # bytes of its files


@dataclass
class _Dir:
    dirs: list[str] = field(default_factory=list)
    files: list[int] = field(default_factory=list)


def _name(arc: str) -> str:
    return arc.rpartition("/")[2]


def split_units(entries: list[Entry], dataset_type: str) -> list[Unit]:
    """The folder's units, in archive order."""
    tree: dict[str, _Dir] = {}
    for i, (arc, _, _) in enumerate(entries):
        if arc.endswith("/"):
            rel = arc[:-1]
            tree[rel] = _Dir()
            parent = rel.rpartition("/")[0]
            if parent in tree:
                tree[parent].dirs.append(rel)
        else:
            tree[arc.rpartition("/")[0]].files.append(i)
    top = entries[0][0][:-1]
    units: list[Unit] = []

    def label(arc: str) -> str:
        return arc[len(top) + 1 :] if arc != top else top

    def others(indices: Iterable[int]) -> None:
        for i in indices:
            units.append(Unit("other", label(entries[i][0]), _name(entries[i][0]), [i]))

    def subtree(rel: str) -> list[int]:
        out, stack = [], [rel]
        while stack:
            node = tree[stack.pop()]
            out += node.files
            stack += node.dirs
        return sorted(out)

    if dataset_type == "TEXT":
        stack = [top]
        while stack:
            rel = stack.pop()
            node = tree[rel]
            if _name(rel).lower() == "text" and rel.count("/") + 1 <= TEXT_MAX_DEPTH:
                for i in node.files:
                    arc = entries[i][0]
                    if ext_of(arc) == "json":
                        units.append(Unit("text", label(arc), base_name(_name(arc)), [i], items=1))
                    else:
                        others([i])
            else:
                others(node.files)
            stack += reversed(node.dirs)
        return units

    lidar = dataset_type in LIDAR_TYPES
    primary_re = LIDAR_SENSOR_RE if lidar else IMAGE_SENSOR_RE
    primary_exts = frozenset({"pcd"}) if lidar else IMAGE_EXTS

    def joined(name: str) -> bool:
        """A child folder of a data parent whose files join the items by name (UploadDataUseCase)."""
        low = name.lower()
        if low == "result":
            return True
        if lidar:
            return low.startswith(("lidar_point_cloud", "camera_image")) or low == "camera_config"
        return low.startswith("image_")

    def frames(node: _Dir) -> list[str]:
        names = {
            base_name(_name(entries[i][0]))
            for d in node.dirs
            if primary_re.fullmatch(_name(d))
            for i in tree[d].files
            if ext_of(entries[i][0]) in primary_exts
        }
        return sorted(names, key=natural_key)

    stack = [top]
    while stack:
        rel = stack.pop()
        node = tree[rel]
        is_parent = any(primary_re.fullmatch(_name(d)) for d in node.dirs)
        if is_parent and _name(rel).lower().startswith("scene_"):
            units.append(Unit("scene", label(rel), _name(rel), subtree(rel), items=len(frames(node))))
            continue
        others(node.files)
        below = list(node.dirs)
        if is_parent:
            by_name = {n: Unit("item", label(f"{rel}/{n}"), n, items=1) for n in frames(node)}
            below = []
            for d in node.dirs:
                if not joined(_name(d)):
                    below.append(d)
                    continue
                below += tree[d].dirs  # folders inside sensor folders: searched like any other folder
                for i in tree[d].files:
                    unit = by_name.get(base_name(_name(entries[i][0])))
                    if unit is None:
                        others([i])
                    else:
                        unit.files.append(i)
            units += by_name.values()
        stack += reversed(below)
    return units


# ------------------------------------------------------------------------------------------------- sizes


def file_cost(name_len: int, size: int) -> int:
    """At most what one file adds to a stored ZIP (zipstream-ng ``ZipStream``): local header, data, data
    descriptor and central-directory header, with ZIP64 fields where the file needs them."""
    cost = 30 + name_len + size + 16 + 46 + name_len
    if size * 1.05 > _ZIP64_LIMIT:
        cost += 20 + 8
    if size > _ZIP64_LIMIT:
        cost += 4 + 16
    return cost


def dir_cost(name_len: int) -> int:
    return 30 + name_len + 46 + name_len


def size_bound(base: int, count: int) -> int:
    """An upper bound of a stored ZIP of ``count`` entries whose :func:`file_cost`/:func:`dir_cost` sum
    to ``base``: past 2 GiB every entry may need a ZIP64 offset field and the end needs ZIP64 records."""
    bound = base + 22
    if base > _ZIP64_LIMIT:
        bound += 12 * count + 76
    elif count >= _ZIP_FILECOUNT_LIMIT:
        bound += 76
    return bound


def zip_size(entries: Iterable[Entry]) -> int:
    """The exact length of the stored ZIP :class:`~.packing.ZipPlan` streams for ``entries``, computed
    the way zipstream-ng sizes it (``ZipStream.__len__``), without touching the files."""
    count = files_size = central = 0
    for arc, _, size in entries:
        name_len = len(arc.encode("utf-8"))
        extras = 1 if files_size > _ZIP64_LIMIT else 0
        files_size += 30 + name_len
        if not arc.endswith("/"):
            zip64 = size * 1.05 > _ZIP64_LIMIT
            files_size += size + (20 + 24 if zip64 else 16)
            extras += 2 if size > _ZIP64_LIMIT else 0
        central += 46 + name_len + (4 + 8 * extras if extras else 0)
        count += 1
    end = 22
    if count > _ZIP_FILECOUNT_LIMIT or files_size > _ZIP64_LIMIT or central > _ZIP64_LIMIT:
        end += 56 + 20
    return central + files_size + end


def ancestors(rel: str) -> list[str]:
    parts = rel.split("/")
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]
