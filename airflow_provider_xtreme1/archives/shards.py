"""Split a dataset folder into shards: archives of at most ``max_shard_bytes``, each a complete upload.

A 100 GB folder as one archive is one PUT from one worker and one import the server downloads whole to its
``/tmp`` and extracts beside it (xtreme1-api §5, §6); one failure means sending it all again. As shards it
is many imports that Airflow runs in parallel, each retried on its own.

* :func:`plan_shards` validates the folder exactly like the pack step
  (:func:`~airflow_provider_xtreme1.archives.packing.validate_dataset_folder`) and packs *units* greedily,
  in the archive's natural order, into shards whose stored ZIP is at most ``max_shard_bytes``. A unit never
  splits: a whole ``scene_*`` folder; a root-level data item (its point cloud or image, the same-named
  files of the sibling sensor folders, ``camera_config/<name>.json`` and ``result/<name>.json``); for
  TEXT, one ``text/*.json`` file. Files the server does not read (allowed by ``allow_unread_files``) are
  units of their own. Every shard keeps the full archive's top folder and paths, so the server sees the
  same names and parents as with one archive.
* :meth:`Shard.describe` is the small, XCom-ready reference of one shard (no file lists).
* :func:`open_shard` turns that reference back into a streamable :class:`~.packing.ZipPlan` and its
  :class:`~.manifest.Manifest`, after checking that the folder still holds what was planned; optionally
  leaving out the units the dataset already holds (:class:`PresentNames`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_provider_xtreme1._arguments import parse_size
from airflow_provider_xtreme1.archives.content import examples
from airflow_provider_xtreme1.archives.manifest import Manifest, entries_manifest
from airflow_provider_xtreme1.archives.packing import (
    _ZIP_FILECOUNT_LIMIT,
    ZipPlan,
    _scan_folder,
    validate_dataset_folder,
)
from airflow_provider_xtreme1.archives.rules import LayoutReport, Problems, normalize_dataset_type
from airflow_provider_xtreme1.archives.units import (
    Entry,
    Unit,
    ancestors,
    dir_cost,
    file_cost,
    size_bound,
    split_units,
    zip_size,
)
from airflow_provider_xtreme1.collation import collation_key
from airflow_provider_xtreme1.exceptions import Xtreme1ValidationError

__all__ = [
    "PresentNames",
    "Shard",
    "ShardPlan",
    "ShardUnit",
    "check_plan",
    "open_shard",
    "plan_shards",
    "zip_size",
]

_DESCRIPTOR_KEYS = ("index", "count", "folder", "dataset_type", "max_shard_bytes", "digest")


# ------------------------------------------------------------------------------------------------ shards


@dataclass(frozen=True)
class ShardUnit:
    """A unit of a shard: ``kind`` (``scene``, ``item``, ``text``, ``other``), ``label`` (its path below the
    top folder), ``name`` (as the server names it), ``files`` (positions in the shard's entries)."""

    kind: str
    label: str
    name: str
    files: tuple[int, ...]
    items: int


@dataclass(frozen=True)
class Shard:
    """One archive of a :class:`ShardPlan`: its entries in archive order and what they hold."""

    index: int
    count: int
    folder: str
    dataset_type: str
    max_shard_bytes: int
    with_results: bool
    allow_unread_files: bool
    entries: tuple[Entry, ...] = field(repr=False)
    units: tuple[ShardUnit, ...] = field(repr=False)
    items: int
    scenes: int
    size: int
    digest: str

    @property
    def files(self) -> int:
        return sum(1 for arc, _, _ in self.entries if not arc.endswith("/"))

    def describe(self) -> dict[str, Any]:
        """The shard as a small XCom value: where it comes from, what it holds, and its ``digest`` (of its
        ``(arcname, size)`` entries), which :func:`open_shard` checks. No file lists."""
        return {
            "index": self.index,
            "count": self.count,
            "folder": self.folder,
            "dataset_type": self.dataset_type,
            "max_shard_bytes": self.max_shard_bytes,
            "with_results": self.with_results,
            "allow_unread_files": self.allow_unread_files,
            "digest": self.digest,
            "items": self.items,
            "scenes": self.scenes,
            "files": self.files,
            "bytes": self.size,
            "first": self.units[0].label,
            "last": self.units[-1].label,
        }

    def zip_plan(self, report: LayoutReport | None = None) -> ZipPlan:
        """The shard's stored ZIP, streamable (``iter_bytes``) with its exact size."""
        top = Path(self.folder).name
        shown = report or LayoutReport(
            dataset_type=self.dataset_type,
            items=self.items,
            scenes=self.scenes,
            files=self.files,
            bytes=sum(size for _, _, size in self.entries),
            folder=self.folder,
            entries=list(self.entries),
        )
        return ZipPlan(folder=self.folder, top_folder=top, size=self.size, report=shown, entries=self.entries)


@dataclass(frozen=True)
class ShardPlan:
    """A folder split into :class:`Shard` archives; ``report`` is the folder's validation report."""

    folder: str
    dataset_type: str
    max_shard_bytes: int
    shards: tuple[Shard, ...]
    report: LayoutReport = field(repr=False)

    def describe(self) -> list[dict[str, Any]]:
        """Every shard's :meth:`Shard.describe`, in order (what a mapped task expands over)."""
        return [s.describe() for s in self.shards]


def _digest(entries: Iterable[Entry]) -> str:
    h = hashlib.sha256()
    for arc, _, size in entries:
        h.update(f"{arc}\0{size}\n".encode())
    return h.hexdigest()[:32]


def _unit_message(unit: Unit, entries: list[Entry], size: int, limit: int) -> str:
    what = {"scene": "scene", "item": "data item", "text": "text file", "other": "file"}[unit.kind]
    names = [entries[i][0].split("/", 1)[-1] for i in unit.files]
    return (
        f"{what} {unit.label}: {size} bytes as an archive ({len(names)} file(s): {examples(names)}) does "
        f"not fit in max_shard_bytes={limit}; a {what} is never split, so raise max_shard_bytes to at "
        f"least {size}"
    )


def _shards(
    entries: list[Entry],
    dataset_type: str,
    limit: int,
    folder: str,
    *,
    with_results: bool,
    allow_unread_files: bool,
) -> list[Shard]:
    units = split_units(entries, dataset_type)
    dir_index = {arc[:-1]: i for i, (arc, _, _) in enumerate(entries) if arc.endswith("/")}
    name_len = {rel: len(rel.encode("utf-8")) + 1 for rel in dir_index}
    for unit in units:
        parents = {entries[i][0].rpartition("/")[0] for i in unit.files}
        for rel in parents:
            unit.dirs.update(ancestors(rel))
        for i in unit.files:
            arc, _, size = entries[i]
            unit.cost += file_cost(len(arc.encode("utf-8")), size)
            unit.size += size
    used = set().union(*(u.dirs for u in units)) if units else set()
    empty = {a for rel in dir_index if rel not in used for a in ancestors(rel)}  # to the first shard

    groups: list[tuple[list[Unit], set[str]]] = []
    too_big: list[str] = []
    current: list[Unit] = []
    dirs: set[str] = set(empty)
    base = sum(dir_cost(name_len[d]) for d in dirs)
    count = len(dirs)
    for unit in units:
        new = unit.dirs - dirs
        add = unit.cost + sum(dir_cost(name_len[d]) for d in new)
        if current and size_bound(base + add, count + len(unit.files) + len(new)) > limit:
            groups.append((current, dirs))
            current, dirs, base, count = [], set(), 0, 0
            new = set(unit.dirs)
            add = unit.cost + sum(dir_cost(name_len[d]) for d in new)
        if not current and size_bound(base + add, count + len(unit.files) + len(new)) > limit:
            alone = sorted([*unit.files, *(dir_index[d] for d in dirs | new)])
            exact = zip_size(entries[i] for i in alone)
            if exact > limit:
                too_big.append(_unit_message(unit, entries, exact, limit))
        current.append(unit)
        dirs |= new
        base += add
        count += len(unit.files) + len(new)
    if current:
        groups.append((current, dirs))
    if too_big:
        raise Xtreme1ValidationError(
            f"{folder} cannot be split into shards of at most {limit} bytes: "
            f"{len(too_big)} unit(s) are larger on their own:",
            too_big[:25] + ([f"... and {len(too_big) - 25} more"] if len(too_big) > 25 else []),
        )

    shards = []
    for index, (members, needed) in enumerate(groups):
        chosen = sorted([*(i for u in members for i in u.files), *(dir_index[d] for d in needed)])
        shard_entries = tuple(entries[i] for i in chosen)
        skip = 0
        if len(shard_entries) == _ZIP_FILECOUNT_LIMIT:
            shard_entries, skip = shard_entries[1:], 1  # as plan_zip: the top folder entry is optional
        position = {i: p - skip for p, i in enumerate(chosen)}
        shards.append(
            Shard(
                index=index,
                count=len(groups),
                folder=folder,
                dataset_type=dataset_type,
                max_shard_bytes=limit,
                with_results=with_results,
                allow_unread_files=allow_unread_files,
                entries=shard_entries,
                units=tuple(
                    ShardUnit(u.kind, u.label, u.name, tuple(position[i] for i in u.files), u.items)
                    for u in members
                ),
                items=sum(u.items for u in members),
                scenes=sum(1 for u in members if u.kind == "scene"),
                size=zip_size(shard_entries),
                digest=_digest(shard_entries),
            )
        )
    return shards


def plan_shards(
    folder: str | os.PathLike,
    dataset_type: str,
    max_shard_bytes: int | str,
    *,
    with_results: bool = False,
    allow_unread_files: bool = False,
) -> ShardPlan:
    """Validate ``folder`` like the pack step and split it into stored ZIP shards of at most
    ``max_shard_bytes`` each (see the module doc for what never splits).

    :param folder: the dataset folder.
    :param dataset_type: ``IMAGE``, ``LIDAR_FUSION``, ``LIDAR_BASIC`` or ``TEXT``.
    :param max_shard_bytes: the largest archive, in bytes or as text (``"2GiB"``, ``"500MB"``).
    :param with_results: Optional. The imports will set ``resultType`` (``result/`` problems are errors).
    :param allow_unread_files: Optional. Files the server would not read are warnings, not errors.
    :return: a :class:`ShardPlan`; the same folder always gives the same shards.
    :raises Xtreme1ValidationError: when the folder breaks the layout rules, or a scene, item or file is
        larger than ``max_shard_bytes`` on its own (named, with its size), before any request.
    :raises ValueError: for a bad ``max_shard_bytes`` or dataset type.
    """
    limit = parse_size(max_shard_bytes, "max_shard_bytes")
    dtype = normalize_dataset_type(dataset_type)
    path = Path(folder).expanduser().absolute()
    report = validate_dataset_folder(
        path, dtype, with_results=with_results, allow_unread_files=allow_unread_files
    )
    report.raise_for_errors()
    shards = _shards(
        list(report.entries),
        dtype,
        limit,
        str(path),
        with_results=with_results,
        allow_unread_files=allow_unread_files,
    )
    return ShardPlan(
        folder=str(path), dataset_type=dtype, max_shard_bytes=limit, shards=tuple(shards), report=report
    )


# ------------------------------------------------------------------------------------------------- open


@dataclass(frozen=True)
class PresentNames:
    """Root-level names a dataset already holds, as the server compares them
    (:func:`~airflow_provider_xtreme1.collation.collation_key`): single data items and scenes."""

    items: frozenset[str] = frozenset()
    scenes: frozenset[str] = frozenset()

    @classmethod
    def of(cls, items: Iterable[str] = (), scenes: Iterable[str] = ()) -> PresentNames:
        return cls(frozenset(map(collation_key, items)), frozenset(map(collation_key, scenes)))


def _descriptor(shard: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(shard, Mapping) or any(k not in shard for k in _DESCRIPTOR_KEYS):
        raise ValueError(
            f"shard must be a shard descriptor from plan_shards (keys {', '.join(_DESCRIPTOR_KEYS)}), "
            f"got {shard!r}"
        )
    return dict(shard)


def _changed(desc: Mapping[str, Any], now: list[Shard]) -> Xtreme1ValidationError:
    index, folder = int(desc["index"]), desc["folder"]
    planned = (
        f"planned: shard {index + 1} of {desc['count']} = {desc.get('first')} .. {desc.get('last')}, "
        f"{desc.get('files')} files, {desc.get('bytes')} bytes"
    )
    if index >= len(now):
        found = f"now the folder makes {len(now)} shard(s) only"
    else:
        s = now[index].describe()
        found = (
            f"now: shard {index + 1} of {len(now)} = {s['first']} .. {s['last']}, {s['files']} files, "
            f"{s['bytes']} bytes"
        )
        if (s["first"], s["last"], s["files"]) == tuple(desc.get(k) for k in ("first", "last", "files")):
            found += (
                " (a file within it was renamed or replaced)"
                if s["bytes"] == desc.get("bytes")
                else " (a file within it changed size)"
            )
    return Xtreme1ValidationError(
        f"{folder} changed after it was planned into shards: shard {index + 1} is no longer what was "
        "planned; plan the shards again (re-run the plan task)",
        [planned, found],
    )


def open_shard(shard: Mapping[str, Any], *, present: PresentNames | None = None) -> tuple[ZipPlan, Manifest]:
    """The archive of one planned shard and what it sends, after checking the folder did not change.

    The folder is listed again (names and sizes only: its content was validated when planning) and split
    again; the shard must have the same digest.

    :param shard: a descriptor from :meth:`Shard.describe` (an XCom value of the plan task).
    :param present: Optional. Leave out the scenes, data items and TEXT files the dataset already holds;
        when every one of them is present the archive holds nothing to import (``manifest.parents`` is
        empty) and should not be sent.
    :return: the shard's :class:`~.packing.ZipPlan` (``report`` counts what it holds) and its
        :class:`~.manifest.Manifest`.
    :raises Xtreme1ValidationError: when the folder changed since planning (naming what differs).
    """
    desc = _descriptor(shard)
    _, now = _replan(desc)
    planned = now[int(desc["index"])]
    if present is None:
        return planned.zip_plan(), entries_manifest(planned.entries, planned.dataset_type)
    return _without_present(planned, present)


def check_plan(shards: Iterable[Mapping[str, Any]]) -> tuple[list[Entry], str]:
    """List the folder of a plan's shards once and check every shard is still what was planned.

    :param shards: every descriptor of one plan (the plan task's XCom value).
    :return: the folder's archive entries (for :func:`~.manifest.entries_manifest`) and its dataset type.
    :raises Xtreme1ValidationError: when the folder changed since planning (naming the first shard that
        differs).
    """
    descriptors = [_descriptor(s) for s in shards]
    if not descriptors:
        raise ValueError("no shards given: pass the plan task's output (a list of shard descriptors)")
    entries, now = _replan(descriptors[0])
    for desc in descriptors:
        if desc["folder"] != descriptors[0]["folder"] or desc["digest"] != now[int(desc["index"])].digest:
            raise _changed(desc, now)
    if len(descriptors) != len(now):
        raise ValueError(f"{len(descriptors)} shard descriptor(s) given, the plan has {len(now)}")
    return entries, now[0].dataset_type


def _replan(desc: Mapping[str, Any]) -> tuple[list[Entry], list[Shard]]:
    """The folder listed again (names and sizes only) and split again; the descriptor's shard must match."""
    dtype = normalize_dataset_type(desc["dataset_type"])
    path = Path(desc["folder"])
    if not path.is_dir():
        raise Xtreme1ValidationError(
            f"{path} is not a folder on this worker; the shards of a folder are read where it was planned "
            "(use a folder every worker can read)"
        )
    problems = Problems()
    _, entries = _scan_folder(path, problems)
    problems.finish()
    if problems.errors:
        raise Xtreme1ValidationError(f"{path} can no longer be read as planned:", problems.errors)
    now = _shards(
        entries,
        dtype,
        parse_size(desc["max_shard_bytes"], "max_shard_bytes"),
        str(path),
        with_results=bool(desc.get("with_results")),
        allow_unread_files=bool(desc.get("allow_unread_files")),
    )
    index = int(desc["index"])
    if len(now) != int(desc["count"]) or index >= len(now) or now[index].digest != desc["digest"]:
        raise _changed(desc, now)
    return entries, now


def _without_present(planned: Shard, present: PresentNames) -> tuple[ZipPlan, Manifest]:
    dtype = planned.dataset_type
    shard_entries = planned.entries
    text_items: dict[str, list[str]] = {}
    if dtype == "TEXT":  # a dialogue file makes items <file>_<i>: read them to know which exist
        for parent in entries_manifest(shard_entries, dtype).parents:
            for item in parent.items:
                text_items.setdefault(item.name.rpartition("_")[0], []).append(item.name)

    def is_present(unit: ShardUnit) -> bool:
        if unit.kind == "scene":
            return collation_key(unit.name) in present.scenes
        if unit.kind == "item":
            return collation_key(unit.name) in present.items
        if unit.kind == "text":
            names = text_items.get(unit.name, [])
            return bool(names) and all(collation_key(n) in present.items for n in names)
        return False

    kept = [u for u in planned.units if not is_present(u)]
    if all(u.kind == "other" for u in kept):
        kept = []  # nothing the server would import: send nothing at all
    files = sorted(i for u in kept for i in u.files)
    needed = {a for i in files for a in ancestors(shard_entries[i][0].rpartition("/")[0])}
    folders = {arc[:-1]: i for i, (arc, _, _) in enumerate(shard_entries) if arc.endswith("/")}
    if kept:  # folders holding no file at all (the first shard carries them) stay in
        with_files = {
            a
            for arc, _, _ in shard_entries
            if not arc.endswith("/")
            for a in ancestors(arc.rpartition("/")[0])
        }
        needed |= {a for rel in folders if rel not in with_files for a in ancestors(rel)}
    sent = tuple(shard_entries[i] for i in sorted([*files, *(folders[d] for d in needed if d in folders)]))
    report = LayoutReport(
        dataset_type=dtype,
        items=sum(u.items for u in kept),
        scenes=sum(1 for u in kept if u.kind == "scene"),
        files=len(files),
        bytes=sum(size for _, _, size in sent),
        folder=planned.folder,
        entries=list(sent),
    )
    plan = ZipPlan(
        folder=planned.folder,
        top_folder=Path(planned.folder).name,
        size=zip_size(sent) if sent else 0,
        report=report,
        entries=sent,
    )
    return plan, entries_manifest(sent, dtype)
