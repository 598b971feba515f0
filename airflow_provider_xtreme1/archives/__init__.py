"""Upload packages and export archives: the server's layout rules, checking, packing and unpacking.

Modules, each about one concern:

* :mod:`.rules` — the upload-package layout rules (xtreme1-api §5) and the tree of names they read;
* :mod:`.checker` — :class:`LayoutChecker`, which applies the rules to a tree (folder or archive listing);
* :mod:`.content` — what is checked inside files (images, point clouds, results, text);
* :mod:`.hints` — near-miss folder names and where a misplaced file belongs;
* :mod:`.packing` — :func:`validate_dataset_folder`, :func:`plan_zip` (streamable ZIP) and
  :func:`pack_dataset` (a ZIP on disk, written atomically);
* :mod:`.inspection` — :func:`check_archive`: an archive a user made, read from its directory only;
* :mod:`.extract` — :func:`safe_extract`: unpack an export with bomb and path checks;
* :mod:`.manifest` — :func:`read_manifest`: what an upload package sends, for reconciliation;
* :mod:`.binding` — :func:`bind_result_files`: result objects bound to a dataset's classes by name;
* :mod:`.shards` — :func:`plan_shards`: a folder split into archives of at most a given size, by item
  (:mod:`.units`: what never splits, and its size in a stored ZIP).

Every public name is importable from this package; the submodules load on first use, so importing an
operator module does not load ``zipstream`` or the checker (DAG parse cost stays as measured).
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "rules": (
        "DATASET_TYPES LIDAR_TYPES IMAGE_SENSOR_RE LIDAR_SENSOR_RE SAFE_NAME_RE TEXT_MAX_DEPTH DirNode"
        " FileNode LayoutReport Problems base_name ext_of looks_like_scene natural_key normalize_dataset_type"
    ),
    "checker": "LayoutChecker",
    "content": "RESULT_OBJECT_TYPES TEXT_ROLES ContentChecks examples sniff_image",
    "hints": "export_problem file_home is_os_metadata suggest_folder",
    "packing": "PackResult ZipPlan pack_dataset plan_zip validate_dataset_folder",
    "inspection": "ArchiveReport check_archive",
    "extract": (
        "DEFAULT_MAX_ENTRIES DEFAULT_MAX_RATIO DEFAULT_MAX_UNPACKED_BYTES bomb_problems name_problems"
        " safe_extract unsafe_member"
    ),
    "manifest": "Manifest SentItem SentParent count_objects entries_manifest read_manifest source_kind",
    "shards": "PresentNames Shard ShardPlan ShardUnit check_plan open_shard plan_shards zip_size",
    "binding": "BindReport bind_result_files class_binder",
}
_MODULE_OF = {name: module for module, names in _HOMES.items() for name in names.split()}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_MODULE_OF))
