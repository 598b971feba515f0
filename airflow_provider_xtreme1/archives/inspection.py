"""Inspect an archive a user made, reading only its directory: format, entries, layout problems."""

import os
import stat
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from airflow_provider_xtreme1.archives.checker import LayoutChecker
from airflow_provider_xtreme1.archives.extract import bomb_problems, unsafe_member
from airflow_provider_xtreme1.archives.rules import (
    DirNode,
    FileNode,
    Problems,
    normalize_dataset_type,
)
from airflow_provider_xtreme1.exceptions import Xtreme1ValidationError

_MAGIC_NAMES = {
    b"\x1f\x8b": "gzip",
    b"Rar!": "RAR",
    b"7z\xbc\xaf": "7-Zip",
    b"BZh": "bzip2",
    b"\xfd7zXZ": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"%PDF": "PDF",
}


@dataclass
class ArchiveReport:
    """What :func:`check_archive` found. ``bytes`` is the uncompressed total of the file entries."""

    path: str
    format: str | None = None
    size: int = 0
    entries: int = 0
    files: int = 0
    bytes: int = 0
    dataset_type: str | None = None
    items: int = 0
    scenes: int = 0
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def raise_for_errors(self) -> None:
        """Raise :class:`Xtreme1ValidationError` listing every error, if there are any."""
        if self.errors:
            raise Xtreme1ValidationError(
                f"{self.path} cannot be imported by Xtreme1 ({len(self.errors)} problem(s)):", self.errors
            )


def check_archive(
    path: str | os.PathLike,
    dataset_type: str | None = None,
    *,
    with_results: bool = False,
    allow_unread_files: bool = False,
    results_ignored: bool = False,
) -> ArchiveReport:
    """Inspect an archive before uploading it, reading only its directory (never the whole file).

    Checks: the file exists, is not empty, is a ``.zip`` or an uncompressed ``.tar`` (the only formats
    the server both accepts and decompresses), is not truncated, uses compression the server can read,
    and has no entry escaping its folder. With ``dataset_type``, the entry names are checked against the
    layout rules (names only; contents are not read); entries the server would not read are errors
    unless ``allow_unread_files`` is set.

    :param path: the archive.
    :param dataset_type: Optional. ``IMAGE``, ``LIDAR_FUSION``, ``LIDAR_BASIC`` or ``TEXT``.
    :param with_results: Optional. The import will set ``resultType`` (``result/`` problems are errors).
    :param allow_unread_files: Optional. Entries the server would not read are warnings, not errors.
    :param results_ignored: Optional. The import will not set ``resultType`` (``result/`` is not read).
    :return: an :class:`ArchiveReport`; call ``raise_for_errors()`` on it.
    """
    archive = Path(path).expanduser().absolute()
    dtype = normalize_dataset_type(dataset_type) if dataset_type is not None else None
    report = ArchiveReport(path=str(archive), dataset_type=dtype)
    problems = Problems()
    names = _archive_names(archive, report, problems)
    if names is not None:
        bad = [n for n in names if unsafe_member(n)]
        for name in bad:
            problems.error(
                "escaping entry",
                f"{archive.name}: entry {name!r} would land outside the "
                "extraction folder (absolute path, drive letter or '..')",
            )
        if dtype is not None and not bad:
            root = DirNode("", "")
            for name, size in names.items():
                parts = [p for p in name.split("/") if p not in ("", ".")]
                if not parts or "__MACOSX" in name:  # skipped by the server's decompressor
                    continue
                node = root
                for part in parts[:-1]:
                    node = node.child(part)
                if name.endswith("/"):
                    node.child(parts[-1])
                else:
                    node.files.append(FileNode(parts[-1], "/".join(parts), size))
            checker = LayoutChecker(
                root,
                dtype,
                problems,
                where=archive.name,
                with_results=with_results,
                read_content=False,
                strict_names=False,
                allow_unread=allow_unread_files,
                results_ignored=results_ignored,
            )
            report.items, report.scenes = checker.run()
    problems.finish()
    report.errors, report.warnings = problems.errors, problems.warnings
    return report


def _archive_names(archive: Path, report: ArchiveReport, problems: Problems) -> dict[str, int] | None:
    """Entry names (folders end with '/') and sizes, or ``None`` after recording why they are unreadable."""
    if not archive.exists():
        problems.error("missing", f"{archive} does not exist")
        return None
    if archive.is_dir():
        problems.error("folder", f"{archive} is a folder, not an archive; pack it with pack_dataset first")
        return None
    report.size = archive.stat().st_size
    lower = archive.name.lower()
    if lower.endswith((".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".gz", ".bz2", ".rar", ".7z", ".xz")):
        problems.error(
            "format",
            f"{archive.name}: the server only imports .zip and .tar archives "
            f"({archive.suffix} is refused or never decompressed); repack it as .zip",
        )
        return None
    if not lower.endswith((".zip", ".tar")):
        problems.error(
            "format",
            f"{archive.name}: unsupported suffix {archive.suffix or '(none)'!r}; the server "
            "only imports .zip and .tar archives; use .zip",
        )
        return None
    if report.size == 0:
        problems.error("empty", f"{archive} is empty (0 bytes)")
        return None
    with open(archive, "rb") as fh:
        head = fh.read(512)
    if lower.endswith(".tar"):
        report.format = "tar"
        return _tar_names(archive, head, report, problems)
    report.format = "zip"
    return _zip_names(archive, head, report, problems)


def _zip_names(
    archive: Path, head: bytes, report: ArchiveReport, problems: Problems
) -> dict[str, int] | None:
    if head[:4] == b"PK\x05\x06":
        problems.error("empty", f"{archive.name}: the ZIP archive has no entries")
        return None
    if head[:4] != b"PK\x03\x04":
        kind = next((n for magic, n in _MAGIC_NAMES.items() if head.startswith(magic)), None)
        if kind is None and len(head) >= 262 and head[257:262] == b"ustar":
            kind = "tar"
        looks = f" (it looks like {kind} data)" if kind else ""
        problems.error(
            "not a zip",
            f"{archive.name}: not a ZIP archive{looks}; the file does not start with a ZIP local header",
        )
        return None
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        problems.error(
            "truncated",
            f"{archive.name}: the ZIP central directory is missing or damaged ({exc}); "
            f"the file ({report.size} bytes) is probably truncated or not fully uploaded",
        )
        return None
    names: dict[str, int] = {}
    with zf, open(archive, "rb") as raw:
        infos = zf.infolist()
        start_dir = getattr(zf, "start_dir", None)
        limit = start_dir if isinstance(start_dir, int) else report.size
        for info in infos:
            data_end = info.header_offset + 30 + len(info.orig_filename.encode("utf-8")) + info.compress_size
            if data_end > limit:
                problems.error(
                    "truncated",
                    f"{archive.name}: entry {info.filename!r} extends past the start of "
                    "the central directory; the archive is inconsistent or truncated",
                )
                return None
            if info.flag_bits & 0x1:
                problems.error(
                    "encrypted",
                    f"{archive.name}: entry {info.filename!r} is encrypted; the server "
                    "cannot read encrypted entries",
                )
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) and not info.is_dir():
                problems.error(
                    "compression",
                    f"{archive.name}: entry {info.filename!r} uses compression method "
                    f"{info.compress_type}; the server reads only stored or deflated entries",
                )
            if stat.S_ISLNK(info.external_attr >> 16):
                problems.warning(
                    "link",
                    f"{archive.name}: entry {info.filename!r} is a symbolic link; the "
                    "server extracts it as a small file holding the link target",
                )
            names[info.filename] = 0 if info.is_dir() else info.file_size
        for info in (infos[:1] + infos[-1:]) if infos else []:
            raw.seek(info.header_offset)
            if raw.read(4) != b"PK\x03\x04":
                problems.error(
                    "truncated",
                    f"{archive.name}: the local header of {info.filename!r} is missing; "
                    "the archive is damaged",
                )
                return None
    for problem in bomb_problems(infos, max_bytes=None, max_entries=None):
        problems.error("zip bomb", f"{archive.name}: looks like a zip bomb: {problem}")
    report.entries = len(infos)
    report.files = sum(1 for i in infos if not i.is_dir())
    report.bytes = sum(i.file_size for i in infos if not i.is_dir())
    if not infos:
        problems.error("empty", f"{archive.name}: the ZIP archive has no entries")
        return None
    return names


def _tar_names(
    archive: Path, head: bytes, report: ArchiveReport, problems: Problems
) -> dict[str, int] | None:
    if head.startswith(b"\x1f\x8b") or head.startswith(b"BZh"):
        problems.error(
            "format",
            f"{archive.name}: a compressed tar named .tar; the server only reads "
            "uncompressed .tar or .zip archives; use .zip",
        )
        return None
    names: dict[str, int] = {}
    end = 0
    try:
        with tarfile.open(archive, "r:") as tf:
            for member in tf:
                name = member.name + ("/" if member.isdir() else "")
                if member.issym() or member.islnk():
                    problems.warning(
                        "link", f"{archive.name}: entry {member.name!r} is a link; it is not imported as data"
                    )
                    continue
                if not (member.isfile() or member.isdir()):
                    problems.warning(
                        "special", f"{archive.name}: entry {member.name!r} is not a file or folder"
                    )
                    continue
                names[name] = member.size if member.isfile() else 0
                end = max(end, member.offset_data + member.size)
    except (tarfile.TarError, OSError, EOFError) as exc:
        problems.error("truncated", f"{archive.name}: the tar archive is truncated or damaged ({exc})")
        return None
    if end > report.size:
        problems.error(
            "truncated",
            f"{archive.name}: the last entry ends at byte {end} but the file has only "
            f"{report.size} bytes; the archive is truncated",
        )
        return None
    if not names:
        problems.error("empty", f"{archive.name}: the tar archive has no entries")
        return None
    report.entries = len(names)
    report.files = sum(1 for n in names if not n.endswith("/"))
    report.bytes = sum(names.values())
    return names
