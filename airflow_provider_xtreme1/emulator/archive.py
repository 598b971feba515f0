"""Reading uploaded packages by the real server's rules (folder layout, file checks, image decoding)."""

from __future__ import annotations

import json
import os
import re
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

IMAGE_EXTS = {"jpg", "jpeg", "png", "bmp", "webp", "tif", "tiff"}
ARCHIVE_EXTS = {"zip", "tar"}
RESULT_TYPES = {"3D_BOX", "2D_BOX", "2D_RECT", "BOUNDING_BOX", "POLYLINE", "POLYGON", "3D_SEGMENT_POINTS"}
LIDAR_PARENT = re.compile(r"lidar_point_cloud_\d", re.IGNORECASE)
IMAGE_PARENT = re.compile(r"image_\d", re.IGNORECASE)


class ArchiveError(Exception):
    """The package cannot be decompressed; the message is what the server records."""


def ext_of(name: str) -> str:
    base = name.rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[-1].lower() if "." in base else ""


def base_name(name: str) -> str:
    """File name without the text after the last dot (the real ``getFilename``)."""
    base = os.path.basename(name)
    return base[: base.rfind(".")] if "." in base else base


def natural_key(text: str) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", text)]


def upload_format_ok(url_path: str, dataset_type: str, source: str) -> bool:
    """The MIME gate of ``data/upload``: zip/tar, plus images for IMAGE datasets from LOCAL."""
    ext = ext_of(url_path)
    if ext in ARCHIVE_EXTS:
        return True
    return dataset_type == "IMAGE" and source == "LOCAL" and ext in IMAGE_EXTS


def extract(archive: str, dest: str, written: Callable[[int], None] | None = None) -> None:
    """Decompress by upper-cased suffix like the server: ``.zip``, ``.tar``, ``.tar.gz``, ``.tar.bz2``.

    ``written`` is told the size of each chunk written (scratch-disk accounting).
    """
    written = written or (lambda n: None)
    upper = archive.upper()
    if upper.endswith(".ZIP"):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                target = _safe_target(dest, info.filename)
                if target is None:
                    continue
                if info.is_dir():
                    os.makedirs(target, exist_ok=True)
                    continue
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with zf.open(info) as src, open(target, "wb") as out:
                    while chunk := src.read(1024 * 1024):
                        out.write(chunk)
                        written(len(chunk))
        return
    modes = {".TAR": "r:", ".TAR.GZ": "r:gz", ".TAR.BZ2": "r:bz2"}
    mode = next((m for suffix, m in modes.items() if upper.endswith(suffix)), None)
    if mode is None:
        raise ArchiveError("The decompression of files in this format is not currently supported")
    # tarDecompress catches and logs an IOException: whatever was read so far stays, parsing goes on
    # (zip bytes named .tar then fail as "The format of the compressed package is incorrect"); but a bad
    # gzip/bzip2 header throws in decompress, before tarDecompress: the job stops there
    # (J:util/DecompressionFileUtils.java).
    magic = {"r:gz": b"\x1f\x8b", "r:bz2": b"BZh"}.get(mode)
    if magic is not None:
        with open(archive, "rb") as fh:
            if fh.read(len(magic)) != magic:
                raise ArchiveError("bad compressed stream header")
    try:
        _untar(archive, mode, dest, written)
    except (tarfile.TarError, OSError, EOFError, zlib.error):
        return


def _untar(archive: str, mode: str, dest: str, written: Callable[[int], None]) -> None:
    with tarfile.open(archive, mode) as tf:
        for member in tf:
            target = _safe_target(dest, member.name)
            if target is None:
                continue
            if member.isdir():
                os.makedirs(target, exist_ok=True)
            elif member.isfile():
                os.makedirs(os.path.dirname(target), exist_ok=True)
                src = tf.extractfile(member)
                if src is None:
                    continue
                with src, open(target, "wb") as out:
                    while chunk := src.read(1024 * 1024):
                        out.write(chunk)
                        written(len(chunk))


def _safe_target(dest: str, name: str) -> str | None:
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or ".." in parts or any("__MACOSX" in p for p in parts):
        return None
    return os.path.join(dest, *parts)


def count_files(root: str) -> int:
    return sum(len(files) for _, _, files in os.walk(root))


# ---------------------------------------------------------------------------------------------- layout


@dataclass
class DataParent:
    """A folder holding sensor folders; ``scene_*`` folders become SCENE items."""

    path: str
    name: str

    @property
    def is_scene(self) -> bool:
        return self.name.lower().startswith("scene_")


def _listdir(path: str) -> list[str]:
    try:
        return sorted(os.listdir(path), key=natural_key)
    except OSError:
        return []


def find_data_parents(root: str, dataset_type: str) -> list[DataParent]:
    pattern = IMAGE_PARENT if dataset_type == "IMAGE" else LIDAR_PARENT
    parents = []
    for dirpath, dirnames, _ in os.walk(root):
        dirnames.sort(key=natural_key)
        if any(pattern.fullmatch(d) for d in dirnames):
            parents.append(DataParent(dirpath, os.path.basename(dirpath)))
    return parents


def is_sensor_folder(name: str, dataset_type: str) -> bool:
    low = name.lower().strip()
    if dataset_type == "IMAGE":
        return low.startswith("image")
    return low.startswith("camera_image") or low.startswith("lidar_point_cloud") or low == "camera_config"


def file_format_ok(name: str, dataset_type: str) -> bool:
    ext = ext_of(name)
    if dataset_type == "IMAGE":
        return ext in IMAGE_EXTS
    return ext in IMAGE_EXTS or ext in ("pcd", "json")


def data_names(parent: str, dataset_type: str) -> list[str]:
    """Names of the primary files (images in ``image_<d>``; ``.pcd`` in ``lidar_point_cloud_<d>``)."""
    pattern = IMAGE_PARENT if dataset_type == "IMAGE" else LIDAR_PARENT
    names: list[str] = []
    for folder in _listdir(parent):
        full = os.path.join(parent, folder)
        if not (os.path.isdir(full) and pattern.fullmatch(folder)):
            continue
        for fname in _listdir(full):
            if not os.path.isfile(os.path.join(full, fname)):
                continue
            ok = ext_of(fname) in IMAGE_EXTS if dataset_type == "IMAGE" else ext_of(fname) == "pcd"
            if ok and base_name(fname) not in names:
                names.append(base_name(fname))
    return sorted(names, key=natural_key)


def single_data_files(parent: str, name: str, dataset_type: str, errors: list[str]) -> list[str]:
    """All files named ``name.*`` in the sensor folders; a folder with two such files voids the item."""
    found: list[str] = []
    broken = False
    for folder, by_name in _sensor_index(parent, dataset_type):
        matches = by_name.get(name, [])
        if len(matches) == 1:
            found += matches
        elif len(matches) > 1:
            errors.append(f"There are duplicate files in {folder} folder,file name is {name}")
            broken = True
    return [] if broken else found


@lru_cache(maxsize=64)
def _sensor_index(parent: str, dataset_type: str) -> tuple[tuple[str, dict[str, list[str]]], ...]:
    """Per sensor folder of ``parent``: base name → files (listed once per import, not once per item).

    Import folders are fresh per job, so a cached listing never goes stale.
    """
    out = []
    for folder in _listdir(parent):
        full = os.path.join(parent, folder)
        if not (os.path.isdir(full) and is_sensor_folder(folder, dataset_type)):
            continue
        by_name: dict[str, list[str]] = {}
        for f in _listdir(full):
            if file_format_ok(f, dataset_type) and os.path.isfile(os.path.join(full, f)):
                by_name.setdefault(base_name(f), []).append(os.path.join(full, f))
        out.append((folder, by_name))
    return tuple(out)


def find_result_file(parent: str, name: str) -> str | None:
    """``<name>.json`` in a folder named ``result``, at most two levels below the data parent.

    ``FileUtil.loopFiles(dataParent, 2, null)`` visits files down to depth 2 only, so a root item's
    result comes from ``<parent>/result/`` and never from ``<parent>/scene_01/result/`` (depth 3)
    (J:usecase/UploadDataUseCase.java ``handleDataResult``).
    """
    return _result_index(parent).get(name)


@lru_cache(maxsize=64)
def _result_index(parent: str) -> dict[str, str]:
    found: dict[str, list[str]] = {}
    for dirpath, dirnames, filenames in os.walk(parent):
        depth = 0 if dirpath == parent else os.path.relpath(dirpath, parent).count(os.sep) + 1
        if depth >= 1:
            dirnames[:] = []  # files of depth-1 folders are at depth 2: nothing deeper is visited
        if os.path.basename(dirpath).lower() != "result":
            continue
        for f in filenames:
            if f.upper().endswith(".JSON"):
                found.setdefault(base_name(f), []).append(os.path.join(dirpath, f))
    return {name: min(paths) for name, paths in found.items()}


def read_result_objects(path: str, name: str, errors: list[str]) -> list[dict]:
    """Objects of one result file after the server's validation (bad ones dropped with a message).

    Raises ``ValueError`` where the server's JSON-to-bean conversion throws (``objects`` not a list,
    an object that is not a JSON object, a top level that is neither object nor array): the server
    only logs that, so the file's objects are lost with nothing in ``errorMessage``
    (J:usecase/UploadDataUseCase.java ``handleDataResult``, ``verifyDataResult``).
    """
    with open(path, encoding="utf-8") as fh:
        raw = json.load(fh)
    parts = raw if isinstance(raw, list) else [raw]
    objects: list = []
    for part in parts:
        if not isinstance(part, dict):
            raise ValueError("result part is not a JSON object")
        found = part.get("objects")
        if found is not None and not isinstance(found, list):
            raise ValueError("objects is not a list")
        objects += found or []
    if not objects:
        errors.append(f"{name}.json the objects in the result file cannot be empty;")
        return []
    if not all(isinstance(obj, dict) for obj in objects):
        raise ValueError("an object is not a JSON object")
    kept = []
    for obj in objects:
        if obj.get("type") not in RESULT_TYPES:
            errors.append(f"{name}.json the objects exist object type error;")
        elif obj.get("contour") is None:
            errors.append(f"{name}.json the objects exist object contour miss;")
        else:
            kept.append(obj)
    return kept


def text_files(root: str) -> list[str]:
    """``*.json`` files whose parent folder is named ``text`` (case-insensitive), depth <= 10."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        if rel != "." and rel.count(os.sep) >= 9:
            dirnames[:] = []
        dirnames.sort(key=natural_key)
        if os.path.basename(dirpath).lower() == "text" and dirpath != root:
            found += [
                os.path.join(dirpath, f)
                for f in sorted(filenames, key=natural_key)
                if f.upper().endswith(".JSON")
            ]
    return found


def text_paths(path: str) -> list[list[dict]]:
    """Root-to-leaf paths of the dialogue tree in one TEXT file."""
    with open(path, encoding="utf-8") as fh:
        raw = json.load(fh)
    if not isinstance(raw, list):
        raise ValueError("text file must hold a JSON array")
    nodes = [
        n
        for n in raw
        if isinstance(n, dict)
        and n.get("id") not in (None, "")
        and n.get("role") not in (None, "")
        and n.get("text") not in (None, "")
    ]
    children: dict[str | None, list[dict]] = {}
    for n in nodes:
        parent = n.get("parentId")
        key = str(parent) if parent not in (None, "") else None
        children.setdefault(key, []).append(n)
    paths: list[list[dict]] = []

    def walk(node: dict, trail: list[dict]) -> None:
        entry = {
            "id": str(node["id"]),
            "parentId": node.get("parentId"),
            "text": node["text"],
            "role": node["role"],
        }
        kids = children.get(str(node["id"]), [])
        if not kids:
            paths.append([*trail, entry])
        for kid in kids:
            walk(kid, [*trail, entry])

    for root_node in children.get(None, []):
        walk(root_node, [])
    return paths


# ------------------------------------------------------------------------------------------- decoding


def image_size(path: str) -> tuple[int, int]:
    """Width and height of a decodable PNG/JPEG/BMP/TIFF; raise ``ValueError`` otherwise (WebP too)."""
    with open(path, "rb") as fh:
        data = fh.read()
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return _png_size(data)
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    if data.startswith(b"BM") and len(data) >= 26:
        header = struct.unpack_from("<I", data, 14)[0]
        if header == 12:
            w, h = struct.unpack_from("<HH", data, 18)
        elif header >= 40:
            w, h = struct.unpack_from("<ii", data, 18)
        else:
            raise ValueError("bad BMP header")
        if w <= 0 or h == 0:
            raise ValueError("bad BMP size")
        return w, abs(h)
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return _tiff_size(data)
    raise ValueError("unsupported or corrupt image")


def _png_size(data: bytes) -> tuple[int, int]:
    pos, idat, size = 8, [], None
    while pos + 8 <= len(data):
        length, ctype = struct.unpack_from(">I4s", data, pos)
        body = data[pos + 8 : pos + 8 + length]
        if len(body) != length:
            raise ValueError("truncated PNG")
        if ctype == b"IHDR":
            size = struct.unpack_from(">II", body, 0)
        elif ctype == b"IDAT":
            idat.append(body)
        elif ctype == b"IEND":
            break
        pos += 12 + length
    if size is None or not idat or size[0] == 0 or size[1] == 0:
        raise ValueError("PNG without IHDR/IDAT")
    zlib.decompress(b"".join(idat))
    return int(size[0]), int(size[1])


def _jpeg_size(data: bytes) -> tuple[int, int]:
    if b"\xff\xd9" not in data[-64:]:
        raise ValueError("JPEG without EOI")
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise ValueError("bad JPEG marker")
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        length = struct.unpack_from(">H", data, pos + 2)[0]
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            h, w = struct.unpack_from(">HH", data, pos + 5)
            if w == 0 or h == 0:
                raise ValueError("bad JPEG size")
            return w, h
        pos += 2 + length
    raise ValueError("JPEG without SOF")


def _tiff_size(data: bytes) -> tuple[int, int]:
    endian = "<" if data[:2] == b"II" else ">"
    offset = struct.unpack_from(endian + "I", data, 4)[0]
    count = struct.unpack_from(endian + "H", data, offset)[0]
    dims: dict[int, int] = {}
    for i in range(count):
        tag, typ, _, value = struct.unpack_from(endian + "HHI4s", data, offset + 2 + 12 * i)
        if tag in (256, 257):
            fmt = endian + ("H" if typ == 3 else "I")
            dims[tag] = struct.unpack_from(fmt, value, 0)[0]
    if 256 not in dims or 257 not in dims:
        raise ValueError("TIFF without size")
    return dims[256], dims[257]


def pcd_ok(path: str) -> bool:
    """A PCD header with VERSION/FIELDS/POINTS/DATA lines (ASCII or binary body)."""
    with open(path, "rb") as fh:
        head = fh.read(4096)
    keys = set()
    for line in head.split(b"\n"):
        line = line.strip()
        if not line or line.startswith(b"#"):
            continue
        word = line.split()[0].upper()
        keys.add(word)
        if word == b"DATA":
            break
    return {b"VERSION", b"FIELDS", b"POINTS", b"DATA"} <= keys
