"""Fixtures of the operator tests: small datasets ingested into the session emulator (once per module)."""

from __future__ import annotations

from typing import Any

import pytest
from xtreme1_testing import ingest

from airflow_provider_xtreme1.sample_data import make_sample_dataset


def make_dataset(tmp_path_factory: Any, emulator: Any, dataset_type: str, **sample: Any) -> dict[str, Any]:
    emulator.step_delay = 0.05
    folder = make_sample_dataset(tmp_path_factory.mktemp("sample") / "set", dataset_type, **sample)
    return ingest(folder, dataset_type)


@pytest.fixture(scope="module")
def lidar_dataset(emulator, tmp_path_factory) -> dict[str, Any]:
    """A LIDAR_FUSION dataset: 2 root frames and one scene of 2 frames, all with ground truth."""
    return make_dataset(tmp_path_factory, emulator, "LIDAR_FUSION", items=2, scenes=1, cameras=1)


@pytest.fixture(scope="module")
def image_dataset(emulator, tmp_path_factory) -> dict[str, Any]:
    """An IMAGE dataset of 3 images with ground truth."""
    return make_dataset(tmp_path_factory, emulator, "IMAGE", items=3)
