"""Registration: the provider-info dict validates and everything it names imports."""

from __future__ import annotations

import importlib
import json
from importlib.metadata import entry_points
from pathlib import Path

import airflow
import jsonschema
import pytest

from airflow_provider_xtreme1 import __version__
from airflow_provider_xtreme1.get_provider_info import get_provider_info

INFO = get_provider_info()


def _schema(name: str) -> dict:
    return json.loads((Path(airflow.__file__).parent / name).read_text())


def test_entry_point_is_registered():
    found = [
        ep
        for ep in entry_points(group="apache_airflow_provider")
        if ep.value.startswith("airflow_provider_xtreme1")
    ]
    assert len(found) == 1
    assert found[0].load()() == INFO


def test_validates_against_airflows_runtime_schema():
    jsonschema.validate(INFO, _schema("provider_info.schema.json"))
    assert INFO["package-name"] == "airflow-provider-xtreme1"
    assert INFO["versions"] == [__version__]


def test_ui_field_behaviour_is_valid():
    from airflow.providers_manager import ProvidersManager

    behaviour = ProvidersManager().field_behaviours["xtreme1"]
    jsonschema.validate(behaviour, _schema("customized_form_field_behaviours.schema.json"))
    assert behaviour["hidden_fields"] == ["login", "extra"]
    assert behaviour["relabeling"]["password"] == "API token"


def _dotted(path: str):
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def test_hook_class_matches_connection_type():
    conn = INFO["connection-types"][0]
    hook = _dotted(conn["hook-class-name"])
    assert hook.conn_type == conn["connection-type"] == "xtreme1"
    assert hook.hook_name == conn["hook-name"] == "Xtreme1"
    assert hook.default_conn_name == "xtreme1_default"
    assert set(conn["conn-fields"]) == {"verify", "ca_bundle", "request_timeout", "web_url"}


@pytest.mark.parametrize("section", ["hooks", "operators", "sensors", "triggers"])
def test_listed_modules_import(section):
    for entry in INFO.get(section, []):
        for module in entry.get("python-modules", []) or [entry.get("python-module")]:
            importlib.import_module(module)


def test_extra_links_import():
    for link in INFO.get("extra-links", []):
        _dotted(link)


def test_providers_manager_sees_the_connection_type():
    from airflow.providers_manager import ProvidersManager
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    assert "airflow-provider-xtreme1" in ProvidersManager().providers
    assert ProvidersManagerTaskRuntime().hooks["xtreme1"].hook_class_name.endswith("Xtreme1Hook")
