"""Check dataset folders and archives against Xtreme1's import rules, and pack folders into ZIP files.

* :func:`validate_dataset_folder` reports what the server would skip or refuse (rules in
  :mod:`airflow_provider_xtreme1.archives.rules`), before anything is uploaded.
* :func:`plan_zip` describes a stored (uncompressed), ZIP64-capable archive of a folder whose exact length
  is known up front, so it can be streamed straight into a presigned PUT with a ``Content-Length``.
* :func:`pack_dataset` writes that archive to disk atomically.
* :func:`check_archive` inspects an archive the user made, reading only its directory.
* :func:`safe_extract` (from :mod:`airflow_provider_xtreme1.archives.extract`) unpacks an export safely.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from zipstream import ZIP_STORED, ZipStream

from airflow_provider_xtreme1.archives.checker import LayoutChecker
from airflow_provider_xtreme1.archives.content import examples
from airflow_provider_xtreme1.archives.extract import safe_extract
from airflow_provider_xtreme1.archives.rules import (
    DirNode,
    FileNode,
    LayoutReport,
    Problems,
    natural_key,
    normalize_dataset_type,
)
from airflow_provider_xtreme1.exceptions import Xtreme1DestinationExistsError, Xtreme1ValidationError
from airflow_provider_xtreme1.locations import publish

__all__ = [
    "LayoutReport",
    "PackResult",
    "ZipPlan",
    "pack_dataset",
    "plan_zip",
    "safe_extract",
    "validate_dataset_folder",
]

_ZIP_FILECOUNT_LIMIT = 0xFFFF


# -------------------------------------------------------------------------------------------- validate


def validate_dataset_folder(
    folder: str | os.PathLike,
    dataset_type: str,
    *,
    with_results: bool = False,
    allow_unread_files: bool = False,
    results_ignored: bool = False,
) -> LayoutReport:
    """Check a folder against the layout Xtreme1 imports for ``dataset_type``, as the server would see it.

    The folder is judged as the top folder of its future archive (:func:`plan_zip` packs it under its own
    name), so a folder named ``scene_01`` is itself a scene. Hidden files (``.DS_Store``) and ``__MACOSX``
    are skipped and reported as warnings.

    Every other file the server would not read (a misnamed folder such as ``lidar_point_cloud/``, files
    next to the sensor folders, a camera image without its point cloud, a duplicate name) and every folder
    name the import reads but the export loses (``Camera_Image_0/``) is an **error** naming the folder and
    the name it should have, unless ``allow_unread_files`` makes these warnings.

    Symbolic links to files are followed; links that lead outside
    the folder are refused.

    :param folder: the dataset folder.
    :param dataset_type: ``IMAGE``, ``LIDAR_FUSION``, ``LIDAR_BASIC`` or ``TEXT``.
    :param with_results: Optional. ``True`` when the import will set ``resultType``, so problems in
        ``result/`` files are errors; by default they are warnings, since the server ignores ``result/``
        without ``resultType``.
    :param allow_unread_files: Optional. Report files the server would not read as warnings, not errors.
    :param results_ignored: Optional. The import will not set ``resultType``: ``result/`` files are then
        files the server does not read.
    :return: a :class:`~.rules.LayoutReport`; call ``raise_for_errors()`` on it.
    :raises ValueError: for an unknown dataset type.
    """
    dtype = normalize_dataset_type(dataset_type)
    path = Path(folder).expanduser().absolute()
    problems = Problems()
    report = LayoutReport(dataset_type=dtype, folder=str(path))
    if not path.exists():
        problems.error("missing", f"{path} does not exist")
    elif not path.is_dir():
        problems.error("not a folder", f"{path} is not a folder")
    else:
        root, report.entries = _scan_folder(path, problems)
        top = root.dirs[0]
        report.files = sum(len(n.files) for n in top.walk())
        report.bytes = sum(f.size for n in top.walk() for f in n.files)
        checker = LayoutChecker(
            root,
            dtype,
            problems,
            where=str(path),
            with_results=with_results,
            read_content=True,
            strict_names=True,
            allow_unread=allow_unread_files,
            results_ignored=results_ignored,
        )
        report.items, report.scenes = checker.run()
    problems.finish()
    report.errors, report.warnings = problems.errors, problems.warnings
    return report


def _scan_folder(folder: Path, problems: Problems) -> tuple[DirNode, list[tuple[str, str, int]]]:
    """Build the name tree of ``folder`` (as top folder of an archive) and the list of archive entries."""
    real_root = os.path.realpath(folder)
    root = DirNode("", "")
    top = DirNode(folder.name, folder.name)
    root.dirs.append(top)
    skipped: list[str] = []
    st_top = os.stat(folder)
    visited = {(st_top.st_dev, st_top.st_ino)}
    # Depth-first, children in natural order, so archive entries come out sorted like the server sorts.
    stack: list[tuple[str, DirNode]] = [(str(folder), top)]
    while stack:
        dir_path, node = stack.pop()
        try:
            with os.scandir(dir_path) as it:
                listing = sorted(it, key=lambda e: natural_key(e.name))
        except OSError as exc:
            problems.error("unreadable", f"{node.rel}/: cannot be listed ({exc.strerror or exc})")
            continue
        subdirs: list[tuple[str, DirNode]] = []
        for entry in listing:
            rel = f"{node.rel}/{entry.name}"
            # The server skips every entry whose path contains __MACOSX (DecompressionFileUtils).
            if entry.name.startswith(".") or "__MACOSX" in entry.name:
                skipped.append(rel)
                continue
            try:
                if entry.is_symlink():
                    target = os.path.realpath(entry.path)
                    if target != real_root and not target.startswith(real_root + os.sep):
                        problems.error(
                            "symlink",
                            f"{rel}: symbolic link to {target}, outside {folder}; "
                            "refused (copy the file into the folder instead)",
                        )
                        continue
                    st = os.stat(entry.path)
                else:
                    st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                problems.error("unreadable", f"{rel}: cannot be read ({exc.strerror or exc})")
                continue
            if stat.S_ISDIR(st.st_mode):
                key = (st.st_dev, st.st_ino)
                if key in visited:
                    problems.error(
                        "symlink", f"{rel}: symbolic link loop (points to a folder already packed)"
                    )
                    continue
                visited.add(key)
                child = DirNode(entry.name, rel)
                node.dirs.append(child)
                subdirs.append((entry.path, child))
            elif stat.S_ISREG(st.st_mode):
                node.files.append(FileNode(entry.name, rel, st.st_size, entry.path))
            else:
                problems.error("special file", f"{rel}: not a regular file or folder")
        stack.extend(reversed(subdirs))
    if skipped:
        problems.warning(
            "hidden",
            f"{len(skipped)} hidden file(s)/folder(s) are skipped and not packed: {examples(skipped)}",
        )
    return root, _archive_order(top, folder)


def _archive_order(top: DirNode, folder: Path) -> list[tuple[str, str, int]]:
    """Archive entries in pre-order: a folder entry, its files, then its sub-folders."""
    out: list[tuple[str, str, int]] = []
    stack: list[tuple[DirNode, str]] = [(top, str(folder))]
    while stack:
        node, path = stack.pop()
        out.append((node.rel + "/", path, 0))
        out.extend((f.rel, f.path, f.size) for f in node.files)
        stack.extend((d, os.path.join(path, d.name)) for d in reversed(node.dirs))
    return out


# ---------------------------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class ZipPlan:
    """A stored ZIP of a dataset folder, described before any byte is produced.

    ``size`` is the exact length of the archive. :meth:`iter_bytes` streams it without building it in
    memory; each call starts a new pass, so a failed upload can be retried from the first byte. The plan
    can be handed to ``requests``/``httpx`` directly: ``len(plan)`` and ``iter(plan)`` are provided.
    """

    folder: str
    top_folder: str
    size: int
    report: LayoutReport = field(repr=False)
    entries: tuple[tuple[str, str, int], ...] = field(repr=False)

    @property
    def files(self) -> int:
        return sum(1 for arcname, _, _ in self.entries if not arcname.endswith("/"))

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[bytes]:
        return self.iter_bytes()

    def iter_bytes(self, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        """A new iterator over the archive's bytes, in pieces of about ``chunk_size`` bytes.

        :raises Xtreme1ValidationError: (while iterating) when a file changed after the plan was made,
            so the archive would not match ``size``.
        """
        if chunk_size <= 0:
            raise ValueError("chunk_size must be positive")
        return self._generate(chunk_size)

    def _generate(self, chunk_size: int) -> Iterator[bytes]:
        try:
            stream = _build_stream(self.entries)
        except OSError as exc:
            raise self._changed(f"{exc.filename}: {exc.strerror}") from exc
        if len(stream) != self.size:
            raise self._changed(f"the archive would now be {len(stream)} bytes, not {self.size}")
        pieces: list[bytes] = []
        pending = 0
        produced = 0
        try:
            for piece in stream:
                if not pending and len(piece) >= chunk_size:
                    produced += len(piece)
                    yield piece
                    continue
                pieces.append(piece)
                pending += len(piece)
                if pending >= chunk_size:
                    chunk = b"".join(pieces)
                    pieces.clear()
                    pending = 0
                    produced += len(chunk)
                    yield chunk
        except (OSError, RuntimeError) as exc:  # zipstream raises RuntimeError on a size mismatch
            raise self._changed(str(exc)) from exc
        if pieces:
            chunk = b"".join(pieces)
            produced += len(chunk)
            yield chunk
        if produced != self.size:
            raise self._changed(f"{produced} bytes were produced instead of {self.size}")

    def _changed(self, detail: str) -> Xtreme1ValidationError:
        return Xtreme1ValidationError(
            f"{self.folder} changed after its archive was planned; plan it again", [detail]
        )


def _build_stream(entries: tuple[tuple[str, str, int], ...]) -> ZipStream:
    stream = ZipStream(compress_type=ZIP_STORED, sized=True)
    for arcname, path, _ in entries:
        stream.add_path(path, arcname, recurse=False)
    return stream


def plan_zip(
    folder: str | os.PathLike,
    dataset_type: str,
    *,
    report: LayoutReport | None = None,
    with_results: bool = False,
    allow_unread_files: bool = False,
    results_ignored: bool = False,
) -> ZipPlan:
    """Validate ``folder`` and plan a stored ZIP64-capable archive of it, under a top folder of its name.

    :param folder: the dataset folder.
    :param dataset_type: ``IMAGE``, ``LIDAR_FUSION``, ``LIDAR_BASIC`` or ``TEXT``.
    :param report: Optional. A report from :func:`validate_dataset_folder` for this folder, to skip a
        second scan (``with_results`` and ``allow_unread_files`` are then those of the report).
    :param with_results: Optional. The import will set ``resultType`` (see :func:`validate_dataset_folder`).
    :param allow_unread_files: Optional. Files the server would not read are warnings, not errors.
    :param results_ignored: Optional. The import will not set ``resultType`` (``result/`` is not read).
    :return: a :class:`ZipPlan` whose ``size`` is the exact archive length.
    :raises Xtreme1ValidationError: when the folder breaks the layout rules.
    """
    path = Path(folder).expanduser().absolute()
    if report is None:
        report = validate_dataset_folder(
            path,
            dataset_type,
            with_results=with_results,
            allow_unread_files=allow_unread_files,
            results_ignored=results_ignored,
        )
    elif report.folder != str(path) or report.dataset_type != normalize_dataset_type(dataset_type):
        raise ValueError(
            f"the report is for {report.dataset_type} {report.folder}, not {dataset_type} {path}"
        )
    report.raise_for_errors()
    entries = list(report.entries)
    if len(entries) == _ZIP_FILECOUNT_LIMIT:
        # zipstream-ng 1.9 writes ZIP64 end records from 65,535 entries on but only counts them in len()
        # above 65,535: leave out the (optional) top folder entry so the promised size stays exact.
        entries = entries[1:]
    stream = _build_stream(tuple(entries))
    return ZipPlan(
        folder=str(path), top_folder=path.name, size=len(stream), report=report, entries=tuple(entries)
    )


# ---------------------------------------------------------------------------------------------- pack


@dataclass
class PackResult:
    """A written dataset archive: ``bytes`` is the archive's size; counts are from the validation."""

    path: Path
    items: int
    scenes: int
    files: int
    bytes: int
    warnings: list[str]


def pack_dataset(
    folder: str | os.PathLike,
    dataset_type: str,
    output_path: str | os.PathLike,
    *,
    overwrite: bool = False,
    with_results: bool = False,
    allow_unread_files: bool = False,
    rewrite: Callable[[ZipPlan], ZipPlan] | None = None,
) -> PackResult:
    """Validate ``folder`` and write it as a stored ZIP to ``output_path``, atomically.

    The archive is streamed into ``<output>.partial-<random>`` next to the output, synced to disk, then
    renamed; on any failure the partial file is removed, and an existing output is never touched unless
    ``overwrite`` is set.

    :param folder: the dataset folder (never written to).
    :param dataset_type: ``IMAGE``, ``LIDAR_FUSION``, ``LIDAR_BASIC`` or ``TEXT``.
    :param output_path: where to write the archive; must end with ``.zip`` and lie outside ``folder``.
    :param overwrite: Optional. Replace an existing output file (default ``False``).
    :param with_results: Optional. Treat ``result/`` problems as errors (the import will set
        ``resultType``).
    :param allow_unread_files: Optional. Pack even when the server would not read some files (they are
        then listed in ``warnings``); by default they are errors.
    :param rewrite: Optional. Turns the planned archive into the one to write (e.g. binding result
        files to classes, :mod:`~airflow_provider_xtreme1.archives.binding`).
    :return: a :class:`PackResult`.
    :raises Xtreme1ValidationError: when the folder breaks the layout rules.
    :raises Xtreme1DestinationExistsError: when the output exists and ``overwrite`` is false.
    :raises ValueError: when the output is not a ``.zip`` path or lies inside the folder.
    """
    src = Path(folder).expanduser().absolute()
    out = Path(output_path).expanduser().absolute()
    if out.suffix.lower() != ".zip":
        raise ValueError(
            f"{out}: the output must end with .zip (the server picks the decompressor by suffix)"
        )
    real_src = os.path.realpath(src)
    real_out = os.path.join(os.path.realpath(out.parent), out.name)
    if real_out == real_src or real_out.startswith(real_src + os.sep):
        raise ValueError(f"{out} lies inside the dataset folder {src}; write the archive somewhere else")
    if out.is_dir():
        raise IsADirectoryError(errno.EISDIR, "the output path is a folder", str(out))
    if out.exists() and not overwrite:
        raise Xtreme1DestinationExistsError(
            f"{out}: output archive already exists (pass overwrite=True to replace it)", out
        )
    report = validate_dataset_folder(
        src, dataset_type, with_results=with_results, allow_unread_files=allow_unread_files
    )
    plan = plan_zip(src, dataset_type, report=report)
    if rewrite is not None:
        plan = rewrite(plan)
    out.parent.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(out.parent).free
    if free < plan.size:
        raise OSError(
            errno.ENOSPC, f"the archive needs {plan.size} bytes but only {free} are free", str(out.parent)
        )

    tmp = out.parent / f"{out.name}.partial-{secrets.token_hex(6)}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "wb") as fh:
            for chunk in plan.iter_bytes():
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        written = os.path.getsize(tmp)
        if written != plan.size:
            raise OSError(errno.EIO, f"wrote {written} bytes instead of {plan.size}", str(tmp))
        publish(tmp, out, overwrite=overwrite)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(out.parent)
    return PackResult(
        path=out,
        items=report.items,
        scenes=report.scenes,
        files=report.files,
        bytes=plan.size,
        warnings=list(report.warnings),
    )


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
