"""Real exports to convert: sample packages imported into the session emulator and exported over HTTP."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from xtreme1_testing import ingest

from airflow_provider_xtreme1.sample_data import make_sample_dataset


def export_zip(dataset_id: int, destination: Path) -> Path:
    """Export the dataset's ground truth through the hook and download the zip (presigned GET)."""
    from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1Hook
    from airflow_provider_xtreme1.transfer import download

    with Xtreme1Hook() as hook:
        serial = hook.start_export(dataset_id, select_model_run_ids=[-1])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            record = hook.get_export_records([serial])[0]
            if record["status"] == "COMPLETED":
                download(record["filePath"], destination, progress_interval=-1)
                return destination
            assert record["status"] != "FAILED", record
            time.sleep(0.05)
    raise AssertionError(f"export {serial} did not finish")


def exported(tmp_path_factory: Any, emulator: Any, dataset_type: str, **sample: Any) -> dict[str, Any]:
    emulator.step_delay = 0.02
    package = make_sample_dataset(tmp_path_factory.mktemp("package") / "pkg", dataset_type, **sample)
    dataset = ingest(package, dataset_type)
    zip_path = export_zip(dataset["id"], tmp_path_factory.mktemp("export") / "export.zip")
    objects = sum(len(json.loads(p.read_text())["objects"]) for p in package.rglob("result/*.json"))
    return {"zip": zip_path, "package": package, "dataset": dataset, "objects": objects}


@pytest.fixture(scope="session")
def fusion_export(emulator, tmp_path_factory) -> dict[str, Any]:
    """LIDAR_FUSION: 3 root frames and 2 scenes of 3 frames, 2 cameras, ground truth 3D boxes."""
    return exported(tmp_path_factory, emulator, "LIDAR_FUSION", items=3, scenes=2, cameras=2, seed=7)


@pytest.fixture(scope="session")
def basic_export(emulator, tmp_path_factory) -> dict[str, Any]:
    """LIDAR_BASIC: 2 root frames, no cameras."""
    return exported(tmp_path_factory, emulator, "LIDAR_BASIC", items=2, seed=3)


@pytest.fixture(scope="session")
def image_export(emulator, tmp_path_factory) -> dict[str, Any]:
    """IMAGE: 4 root images and a scene of 4, ground truth 2D boxes."""
    return exported(tmp_path_factory, emulator, "IMAGE", items=4, scenes=1, seed=5)
