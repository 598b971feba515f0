"""Fixtures for the emulator tests: a running emulator of their own and a small API client."""

from __future__ import annotations

import pytest
from emulator_kit import TOKEN, Api

from airflow_provider_xtreme1.emulator import Xtreme1Emulator


@pytest.fixture
def emu():
    with Xtreme1Emulator(token=TOKEN, step_delay=0.02) as emulator:
        yield emulator


@pytest.fixture
def api(emu: Xtreme1Emulator) -> Api:
    return Api(emu)


# ------------------------------------------------------------------------------------------ builders
