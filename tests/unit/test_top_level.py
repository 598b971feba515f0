"""Every public class imports from the package root, lazily: importing the package imports no Airflow."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import airflow_provider_xtreme1
from airflow_provider_xtreme1 import _EXPORTS


@pytest.mark.parametrize("name", sorted(_EXPORTS))
def test_root_name_is_the_class_of_its_module(name):
    module = importlib.import_module(_EXPORTS[name])
    assert getattr(airflow_provider_xtreme1, name) is getattr(module, name)
    assert name in airflow_provider_xtreme1.__all__ and name in dir(airflow_provider_xtreme1)


def test_all_lists_every_export():
    assert set(airflow_provider_xtreme1.__all__) == {"__version__", *_EXPORTS}


def test_unknown_name_raises_attribute_error():
    with pytest.raises(AttributeError, match="Xtreme1NoSuchOperator"):
        airflow_provider_xtreme1.Xtreme1NoSuchOperator  # noqa: B018


def test_importing_the_package_and_provider_info_imports_no_airflow():
    code = (
        "import sys, airflow_provider_xtreme1\n"
        "from airflow_provider_xtreme1.get_provider_info import get_provider_info\n"
        "get_provider_info()\n"
        "loaded = sorted(m for m in sys.modules if m == 'airflow' or m.startswith('airflow.'))\n"
        "assert not loaded, loaded\n"
        "from airflow_provider_xtreme1 import Xtreme1ImportDatasetOperator\n"
        "assert 'airflow_provider_xtreme1.operators.upload' in sys.modules\n"
        "assert 'airflow_provider_xtreme1.operators.export' not in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
