"""Unpack export archives without trusting them: :func:`safe_extract` and the entry checks it shares with
:func:`~airflow_provider_xtreme1.archives.packing.check_archive`.

Rules :func:`safe_extract` keeps, all decided from the archive's directory before a byte is written:

* no entry escapes the destination (absolute path, drive letter, backslash, ``..``, a link already in
  the destination), none is a symbolic link or encrypted;
* names are extractable: no ``.``/empty parts, no control characters, no duplicates, no name used both
  as a file and as a folder, no part over 255 bytes;
* size caps against zip bombs: total uncompressed bytes, number of entries and compression ratio
  (declared sizes are checked first, and the bytes actually inflated are counted while extracting,
  since declared sizes can lie); the free disk space must hold the declared total;
* with ``top``, every entry lies inside that one folder (an export holds exactly one), so nothing else
  in the destination can be touched; an existing target is refused unless ``overwrite=True``.

Extraction goes to a hidden temporary folder beside the target and is moved into place only when
complete: an interrupted or refused extraction leaves the destination as it was.
"""

from __future__ import annotations

import os
import secrets
import shutil
import stat
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from airflow_provider_xtreme1.exceptions import Xtreme1DestinationExistsError, Xtreme1ValidationError
from airflow_provider_xtreme1.locations import replace_path

__all__ = [
    "DEFAULT_MAX_ENTRIES",
    "DEFAULT_MAX_RATIO",
    "DEFAULT_MAX_UNPACKED_BYTES",
    "bomb_problems",
    "name_problems",
    "safe_extract",
    "unsafe_member",
]

#: Largest total of uncompressed bytes unpacked by default (64 GiB; raise it with ``max_bytes``).
DEFAULT_MAX_UNPACKED_BYTES = 64 * 1024**3
#: Most entries unpacked by default (an export holds two per data item, plus folders).
DEFAULT_MAX_ENTRIES = 1_000_000
#: Highest compression ratio (uncompressed / compressed) by default. Export JSON deflates about 5-20:1;
#: a run of zeros about 1000:1.
DEFAULT_MAX_RATIO = 200.0
#: Entries smaller than this are not judged by their ratio (tiny files compress oddly well).
_RATIO_FLOOR = 1024 * 1024
#: Kept free beyond the archive's declared size when checking disk space.
_DISK_MARGIN = 64 * 1024 * 1024
_NAME_MAX = 255
_CHUNK = 1024 * 1024


def unsafe_member(name: str) -> bool:
    """Whether an entry name could land outside the extraction folder (absolute, drive letter, ``..``)."""
    if name.startswith(("/", "\\")) or (len(name) >= 2 and name[1] == ":"):
        return True
    return ".." in name.replace("\\", "/").split("/")


def name_problems(names: Iterable[tuple[str, bool]]) -> list[str]:
    """Entry names (``(name, is_folder)``) that cannot all be extracted side by side, with the reason.

    Refused: ``.`` or empty path parts, control characters, a part over 255 bytes, the same name twice,
    and a name that is a file in one entry and a folder (or a parent folder) in another.
    """
    problems: list[str] = []
    files: dict[str, str] = {}
    folders: dict[str, str] = {}
    for name, is_folder in names:
        parts = name.rstrip("/").split("/")
        if any(part in ("", ".") for part in parts):
            problems.append(f"{name!r}: empty or '.' path part")
            continue
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
            problems.append(f"{name!r}: control character in the name")
            continue
        long = next((p for p in parts if len(os.fsencode(p)) > _NAME_MAX), None)
        if long is not None:
            problems.append(f"{name!r}: a name part is {len(os.fsencode(long))} bytes long (at most 255)")
            continue
        key = "/".join(parts)
        if key in files or (not is_folder and key in folders):
            problems.append(f"{name!r}: the same path appears twice")
            continue
        for depth in range(1, len(parts)):
            parent = "/".join(parts[:depth])
            if parent in files:
                problems.append(f"{name!r}: {files[parent]!r} is a file, not a folder")
                break
            folders.setdefault(parent, name)
        else:
            if is_folder:
                folders.setdefault(key, name)
            else:
                files[key] = name
    return problems


def bomb_problems(
    infos: Iterable[zipfile.ZipInfo],
    *,
    max_bytes: int | None = DEFAULT_MAX_UNPACKED_BYTES,
    max_entries: int | None = DEFAULT_MAX_ENTRIES,
    max_ratio: float | None = DEFAULT_MAX_RATIO,
) -> list[str]:
    """What makes a zip look like a bomb, from its declared sizes (``None`` turns a cap off)."""
    infos = list(infos)
    problems: list[str] = []
    total = sum(i.file_size for i in infos if not i.is_dir())
    packed = sum(i.compress_size for i in infos if not i.is_dir())
    if max_entries is not None and len(infos) > max_entries:
        problems.append(f"{len(infos)} entries, more than max_entries={max_entries}")
    if max_bytes is not None and total > max_bytes:
        problems.append(f"{total} bytes uncompressed, more than max_bytes={max_bytes}")
    if max_ratio is not None:
        for info in infos:
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size >= _RATIO_FLOOR and ratio > max_ratio:
                problems.append(
                    f"{info.filename!r}: compression ratio {ratio:.0f}:1 ({info.compress_size} bytes inflate "
                    f"to {info.file_size}), above max_ratio={max_ratio:g}"
                )
        if total >= _RATIO_FLOOR and total / max(packed, 1) > max_ratio:
            problems.append(f"overall compression ratio {total / max(packed, 1):.0f}:1, above {max_ratio:g}")
    return problems


def safe_extract(
    zip_path: str | os.PathLike,
    dest_dir: str | os.PathLike,
    *,
    top: str | None = None,
    overwrite: bool = False,
    max_bytes: int | None = DEFAULT_MAX_UNPACKED_BYTES,
    max_entries: int | None = DEFAULT_MAX_ENTRIES,
    max_ratio: float | None = DEFAULT_MAX_RATIO,
) -> list[Path]:
    """Extract a ZIP (an Xtreme1 export) into ``dest_dir``, refusing anything unsafe before writing.

    See the module documentation for every rule. The archive's top-level entries are extracted into a
    temporary folder inside ``dest_dir`` and each moved into place when all are complete.

    :param zip_path: the archive.
    :param dest_dir: the destination folder (created when missing).
    :param top: the one folder every entry must lie in (an export's ``<dataset>-<time>``); ``None``
        accepts any top-level names.
    :param overwrite: replace top-level files or folders of the archive that already exist in
        ``dest_dir``; otherwise they are an error, raised before anything is written.
    :param max_bytes: most uncompressed bytes in total (``None``: no cap).
    :param max_entries: most entries (``None``: no cap).
    :param max_ratio: highest compression ratio of an entry of 1 MiB or more, and of the whole
        archive (``None``: no cap).
    :return: the extracted files, in archive order, at their final place.
    :raises Xtreme1ValidationError: naming every refused entry, or the cap that was hit.
    """
    dest = Path(dest_dir).expanduser().absolute()
    try:
        zf = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise Xtreme1ValidationError(f"{zip_path} is not a readable ZIP archive: {exc}") from exc
    with zf:
        infos = zf.infolist()
        plan = _plan(zip_path, infos, dest, top)
        limits = bomb_problems(infos, max_bytes=max_bytes, max_entries=max_entries, max_ratio=max_ratio)
        if limits:
            raise Xtreme1ValidationError(
                f"refusing to extract {zip_path}: it looks like a zip bomb. If it is genuine, raise the "
                "caps: max_bytes, max_entries, max_ratio (on Xtreme1ExportOperator: max_unpacked_bytes, "
                "max_unpacked_entries, max_compression_ratio)",
                limits,
            )
        tops = sorted({rel.parts[0] for _, rel in plan})
        existing = [dest / name for name in tops if (dest / name).exists() or (dest / name).is_symlink()]
        if existing and not overwrite:
            raise Xtreme1DestinationExistsError(
                f"refusing to extract {zip_path} into {dest}: these already exist (pass overwrite=True "
                f"to replace them): {', '.join(str(p) for p in existing)}",
                existing[0],
            )
        dest.mkdir(parents=True, exist_ok=True)
        _check_space(zip_path, dest, sum(i.file_size for i, _ in plan if not i.is_dir()))
        staging = dest / f".xtreme1-unpack-{secrets.token_hex(4)}"
        staging.mkdir()
        try:
            _write(zf, plan, staging, max_bytes)
            for name in tops:
                replace_path(staging / name, dest / name)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return [dest / rel for info, rel in plan if not info.is_dir()]


def _plan(
    zip_path: str | os.PathLike, infos: list[zipfile.ZipInfo], dest: Path, top: str | None
) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    refused: list[str] = []
    plan: list[tuple[zipfile.ZipInfo, PurePosixPath]] = []
    real_dest = dest.resolve()
    for info in infos:
        name = info.filename
        if unsafe_member(name) or "\\" in name:
            refused.append(f"{name!r}: absolute path, drive letter, backslash or '..'")
            continue
        if stat.S_ISLNK(info.external_attr >> 16):
            refused.append(f"{name!r}: symbolic link")
            continue
        if info.flag_bits & 0x1:
            refused.append(f"{name!r}: encrypted")
            continue
        rel = PurePosixPath(name)
        if top is not None and rel.parts[:1] != (top,):
            refused.append(f"{name!r}: outside the archive's folder {top!r}")
            continue
        resolved = dest.joinpath(*rel.parts).resolve()
        if resolved != real_dest and real_dest not in resolved.parents:
            refused.append(f"{name!r}: resolves to {resolved}, outside {real_dest}")
            continue
        plan.append((info, rel))
    if not refused:
        refused = name_problems((info.filename, info.is_dir()) for info in infos)
    if refused:
        raise Xtreme1ValidationError(f"refusing to extract {zip_path}: unsafe entries", refused)
    if not plan:
        raise Xtreme1ValidationError(f"refusing to extract {zip_path}: the archive has no entries")
    return plan


def _check_space(zip_path: str | os.PathLike, dest: Path, needed: int) -> None:
    free = shutil.disk_usage(dest).free
    if needed + _DISK_MARGIN > free:
        raise Xtreme1ValidationError(
            f"refusing to extract {zip_path}: it unpacks to {needed} bytes but {dest} has only {free} bytes "
            f"free (keeping {_DISK_MARGIN} bytes spare)"
        )


def _write(
    zf: zipfile.ZipFile,
    plan: list[tuple[zipfile.ZipInfo, PurePosixPath]],
    staging: Path,
    max_bytes: int | None,
) -> None:
    written = 0
    for info, rel in plan:
        target = staging.joinpath(*rel.parts)
        if info.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        entry = 0
        try:
            with zf.open(info) as src, open(target, "xb") as out:
                while chunk := src.read(_CHUNK):
                    entry += len(chunk)
                    written += len(chunk)
                    # Declared sizes can lie: count what really inflates.
                    if entry > info.file_size or (max_bytes is not None and written > max_bytes):
                        raise Xtreme1ValidationError(
                            f"refusing to extract {info.filename!r}: it inflates beyond its declared size "
                            f"({info.file_size} bytes) or the max_bytes cap ({max_bytes})"
                        )
                    out.write(chunk)
        except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError) as exc:
            raise Xtreme1ValidationError(
                f"refusing to extract {info.filename!r}: its data does not match the archive's directory "
                f"(damaged, or its declared size is false): {exc}"
            ) from None
