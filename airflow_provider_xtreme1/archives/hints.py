"""Near misses of the Xtreme1 folder names: what a misnamed folder should be called, and which names the
import reads but later steps of the server lose.

The import matches folder names leniently (J:usecase/UploadDataUseCase.java ``validateFilenameByType``
lower-cases and compares prefixes: ``camera_image*``, ``lidar_point_cloud*``, ``image_*``, and
``camera_config``, ``result``, ``text`` ignoring case), but the stored item keeps the folder's own name,
and the export matches it strictly (J:usecase/DataInfoUseCase.java ``assembleExportDataContent``:
``startsWith("lidar_point_cloud")``, ``equals("camera_config")``, ``contains("image_")``,
``startsWith("text")``, all case-sensitive). The annotation tool finds a camera's index in the trailing
digits of its folder name (frontend pc-tool ``createViewConfig``). So ``Camera_Image_0/`` or
``camera_images_1/`` import, then vanish from every export.
"""

from __future__ import annotations

import re

from airflow_provider_xtreme1.vocabulary import LIDAR_TYPES

_NORMALISE = re.compile(r"[^a-z0-9]+")
_TRAILING_NUMBER = re.compile(r"^(.*?)_?([0-9]+)$")

# Folder stems users write for each folder the server reads (after lower-casing, separators -> "_",
# trailing number removed). Plurals and small typos of the canonical stems are found by edit distance.
_ALIASES = {
    "lidar_point_cloud": {
        "lidar_point_cloud",
        "lidar_pointcloud",
        "lidarpointcloud",
        "point_cloud",
        "pointcloud",
        "pcd",
        "pcds",
        "lidar",
        "lidars",
        "velodyne",
        "lidar_point",
        "lidar_pc",
    },
    "camera_image": {
        "camera_image",
        "cameraimage",
        "camera",
        "cameras",
        "cam",
        "cams",
        "camera_img",
        "cam_image",
    },
    "image": {"image", "images", "img", "imgs", "picture", "pictures", "photo", "photos"},
    "camera_config": {
        "camera_config",
        "cameraconfig",
        "camera_configs",
        "config",
        "configs",
        "calib",
        "calibration",
    },
    "result": {"result", "results", "label", "labels", "annotation", "annotations", "gt", "ground_truth"},
    "text": {"text", "texts", "dialog", "dialogs", "dialogue", "dialogues", "conversation", "conversations"},
}
_STEMS = {
    "LIDAR_FUSION": ("lidar_point_cloud", "camera_image", "camera_config", "result"),
    "LIDAR_BASIC": ("lidar_point_cloud", "result"),
    "IMAGE": ("image", "result"),
    "TEXT": ("text",),
}
#: Names of files operating systems leave in folders; never data.
_OS_FILES = frozenset({".ds_store", "thumbs.db", "desktop.ini"})


def is_os_metadata(name: str) -> bool:
    """``.DS_Store``, ``Thumbs.db``, ``desktop.ini`` and macOS ``._*`` resource forks."""
    return name.lower() in _OS_FILES or name.startswith("._")


def _distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _canonical(stem: str, number: str | None) -> str:
    index = int(number) if number else 0
    if stem in ("lidar_point_cloud", "image"):  # the server's pattern allows exactly one digit here
        return f"{stem}_{index if index < 10 else 0}"
    if stem == "camera_image":
        return f"camera_image_{index}"
    return stem


def suggest_folder(name: str, dataset_type: str) -> str | None:
    """The folder name the server reads that ``name`` was most likely meant to be, or ``None``.

    ``lidar_point_cloud`` -> ``lidar_point_cloud_0``, ``camera_images_1`` -> ``camera_image_1``,
    ``Lidar-Point-Cloud-0`` -> ``lidar_point_cloud_0``, ``images`` -> ``image_0`` (IMAGE) or
    ``camera_image_0`` (LiDAR), ``results`` -> ``result``, ``dialogs`` -> ``text``.
    """
    norm = _NORMALISE.sub("_", name.lower()).strip("_")
    match = _TRAILING_NUMBER.match(norm)
    stem, number = (match.group(1).rstrip("_"), match.group(2)) if match else (norm, None)
    allowed = _STEMS[dataset_type]
    for canonical in allowed:
        aliases = _ALIASES[canonical]
        if stem in aliases or stem.rstrip("s") in aliases:
            return _canonical(canonical, number)
    if dataset_type in LIDAR_TYPES and (stem in _ALIASES["image"] or stem.rstrip("s") in _ALIASES["image"]):
        return _canonical("camera_image", number)
    if dataset_type == "IMAGE" and stem.rstrip("s") in _ALIASES["camera_image"]:
        return _canonical("image", number)
    best = min(allowed, key=lambda c: _distance(stem, c))
    if len(stem) >= 4 and _distance(stem, best) <= max(2, len(best) // 5):
        return _canonical(best, number)
    return None


def export_problem(name: str, kind: str) -> str | None:
    """Why files of a folder the import reads are lost later, or ``None`` for a name that is safe.

    :param name: the folder's name as written.
    :param kind: ``pcd`` (``lidar_point_cloud*``), ``camera`` (``camera_image*``), ``config``, ``image``
        (IMAGE datasets' ``image_*``) or ``text``.
    """
    number = _number(name)
    if kind == "pcd" and not name.startswith("lidar_point_cloud"):
        return _EXPORT_DROPS.format(
            what="point clouds",
            rule="named `lidar_point_cloud...`",
            good=_canonical("lidar_point_cloud", number),
        )
    if kind == "camera" and "image_" not in name:
        return _EXPORT_DROPS.format(
            what="camera images", rule="whose name contains `image_`", good=_canonical("camera_image", number)
        )
    if kind == "camera" and not re.search(r"[0-9]$", name):
        return (
            "the annotation tool takes the camera's index from the digits ending the folder name; "
            f"rename it to {_canonical('camera_image', number)}/"
        )
    if kind == "config" and name != "camera_config":
        return (
            "the server's export and model runs find camera parameters only in a folder named exactly "
            "`camera_config`; rename it to camera_config/"
        )
    if kind == "image" and "image_" not in name:
        return _EXPORT_DROPS.format(
            what="images", rule="whose name contains `image_`", good=_canonical("image", number)
        )
    if kind == "text" and not name.startswith("text"):
        return _EXPORT_DROPS.format(what="dialogues", rule="named `text`", good="text")
    return None


_EXPORT_DROPS = (
    "the server's export keeps {what} only from folders {rule} in lower case; rename it to {good}/"
)


def _number(name: str) -> str | None:
    match = _TRAILING_NUMBER.match(_NORMALISE.sub("_", name.lower()).strip("_"))
    return match.group(2) if match else None


def file_home(name: str, dataset_type: str) -> str | None:
    """The folder a loose file of this suffix belongs in (``0001.pcd`` -> ``lidar_point_cloud_0/``)."""
    ext = name.rsplit(".", 1)[-1].lower() if "." in name.lstrip(".") else ""
    images = {"jpg", "jpeg", "png", "bmp", "tif", "tiff"}
    if dataset_type == "TEXT":
        return "text/" if ext == "json" else None
    if dataset_type == "IMAGE":
        return "image_0/" if ext in images else ("result/" if ext == "json" else None)
    if ext == "pcd":
        return "lidar_point_cloud_0/"
    if ext in images and dataset_type == "LIDAR_FUSION":
        return "camera_image_<n>/"
    if ext == "json":
        return "camera_config/ or result/" if dataset_type == "LIDAR_FUSION" else "result/"
    return None
