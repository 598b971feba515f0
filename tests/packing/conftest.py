"""Fixtures for the packing tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from packing_helpers import PCD, PNG, RESULT_3D, write_tree


@pytest.fixture
def lidar_folder(tmp_path: Path) -> Path:
    """A small valid LIDAR_FUSION folder: two frames, one camera, config and results."""
    cam = json.dumps(
        [
            {
                "cameraInternal": {"fx": 1, "fy": 1, "cx": 1, "cy": 1},
                "cameraExternal": [0] * 16,
                "width": 64,
                "height": 48,
                "rowMajor": True,
            }
        ]
    )
    return write_tree(
        tmp_path / "ds",
        {
            "lidar_point_cloud_0/0001.pcd": PCD,
            "lidar_point_cloud_0/0002.pcd": PCD,
            "camera_image_0/0001.png": PNG,
            "camera_image_0/0002.png": PNG,
            "camera_config/0001.json": cam,
            "camera_config/0002.json": cam,
            "result/0001.json": RESULT_3D,
        },
    )
