"""Shared bodies and builders for the packing tests (genuine PNG/PCD bytes, tree builder, tree hash)."""

from __future__ import annotations

import hashlib
import json
import os
import random
from pathlib import Path

from airflow_provider_xtreme1 import sample_data

PNG = sample_data._png(sample_data._image_rows([], tint=1))
PCD = sample_data._pcd([], random.Random(0))
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(24)
BOX = {
    "center3D": {"x": 1, "y": 2, "z": 0.5},
    "size3D": {"x": 4, "y": 2, "z": 1.5},
    "rotation3D": {"x": 0, "y": 0, "z": 0.1},
}
RESULT_3D = json.dumps({"objects": [{"type": "3D_BOX", "className": "Car", "contour": BOX}]})
RESULT_2D = json.dumps(
    {
        "objects": [
            {
                "type": "2D_BOX",
                "className": "Car",
                "contour": {"points": [{"x": 1, "y": 1}, {"x": 9, "y": 9}]},
            }
        ]
    }
)
DIALOG = json.dumps(
    [
        {"id": "1", "parentId": None, "text": "hi", "role": "prompter"},
        {"id": "2", "parentId": "1", "text": "hello", "role": "assistant"},
    ]
)


def write_tree(root: Path, files: dict[str, bytes | str]) -> Path:
    """Create ``root`` with the given relative files (``str`` bodies are UTF-8 encoded)."""
    root.mkdir(parents=True, exist_ok=True)
    for rel, body in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body.encode() if isinstance(body, str) else body)
    return root


def tree_hash(root: Path) -> str:
    """Names, sizes, modification times and contents of everything under ``root``."""
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in sorted(os.walk(root)):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath, name)
            st = path.stat()
            digest.update(f"{path.relative_to(root)}|{st.st_size}|{st.st_mtime_ns}".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()
