"""Xtreme1EnsureDatasetOperator: names compare as the server's MySQL compares them (utf8mb4_general_ci)."""

from __future__ import annotations

import json
import uuid

import pytest
from operator_helpers import request_paths, run_task
from xtreme1_testing import run_dag, xcom

from airflow_provider_xtreme1.emulator import Fault
from airflow_provider_xtreme1.exceptions import Xtreme1ConfigError
from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1Hook
from airflow_provider_xtreme1.operators.datasets import Xtreme1EnsureDatasetOperator

EMPTY_PAGE = json.dumps(
    {"code": "OK", "message": "", "data": {"pageNo": 1, "pageSize": 100, "total": 0, "list": []}}
)


def ensure(name: str, dataset_type: str = "LIDAR_FUSION") -> Xtreme1EnsureDatasetOperator:
    return Xtreme1EnsureDatasetOperator(task_id="ensure", name=name, dataset_type=dataset_type)


@pytest.fixture
def create(emu):
    def make(name: str, dataset_type: str = "LIDAR_FUSION") -> dict:
        with Xtreme1Hook() as hook:
            return hook.create_dataset(name, dataset_type)

    return make


def suffix() -> str:
    return uuid.uuid4().hex[:6]


@pytest.mark.parametrize(
    ("stored", "asked"),
    [
        ("drive-{}", "Drive-{} "),  # case and a trailing space
        ("Café-{}", "cafe-{}"),  # accents fold
        ("team_1%-{}", "TEAM_1%-{}"),  # LIKE wildcards in the name itself
    ],
    ids=["case-and-space", "accent", "wildcards"],
)
def test_an_existing_dataset_in_another_spelling_is_used(emu, create, capfd, stored, asked):
    tag = suffix()
    dataset = create(stored.format(tag))
    # names the server's LIKE search also returns for wildcard names; they must not be taken for it
    create(f"teamX1abc-{tag}")
    create(f"team_1%-{tag}-2")
    dataset_id, ti = run_task(ensure(asked.format(tag)))
    assert dataset_id == dataset["id"]
    assert ti.xcom["dataset_url"].endswith(f"id={dataset['id']}")
    log = "".join(capfd.readouterr())
    assert f"Using Xtreme1 dataset {stored.format(tag)!r}" in log
    assert f"asked for {asked.format(tag)!r}" in log


def test_same_name_of_another_type_fails_clearly(emu, create):
    tag = suffix()
    create(f"drive-{tag}", "IMAGE")
    with pytest.raises(
        Xtreme1ConfigError, match=rf"'drive-{tag}' \(id \d+\) already exists with type IMAGE.*same name"
    ):
        run_task(ensure(f"DRIVE-{tag}", "LIDAR_FUSION"))
    assert not request_paths(emu, "POST", "/dataset/create")[1:]


def test_name_taken_on_create_is_looked_up_again(emu, create):
    """The lookup missed (here: one empty page), the server says the name is taken: use that dataset."""
    tag = suffix()
    dataset = create(f"raced-{tag}")
    emu.reset()
    emu.inject(
        Fault(
            path=r"^/api/dataset/findByPage$",
            kind="status",
            status=200,
            body=EMPTY_PAGE,
            content_type="application/json",
        )
    )
    dataset_id, _ = run_task(ensure(f"Raced-{tag}"))
    assert dataset_id == dataset["id"]
    creates = request_paths(emu, "POST", "/dataset/create")
    assert len(creates) == 1


def test_lost_create_answer_finds_the_created_dataset(emu):
    tag = suffix()
    emu.inject(Fault(path=r"^/api/dataset/create$", kind="drop_answer"))
    dataset_id, _ = run_task(ensure(f"lost-{tag}"))
    with Xtreme1Hook() as hook:
        page = hook.find_datasets(name=f"lost-{tag}")
    assert [d["id"] for d in page["list"]] == [dataset_id]
    assert len(request_paths(emu, "POST", "/dataset/create")) == 1


def test_blank_name_is_refused_before_any_request(emu):
    with pytest.raises(ValueError, match="name must not be empty"):
        run_task(ensure("   "))
    assert not emu.request_log


def test_connection_id_comes_from_a_param(emu, dagbag):
    dag = dagbag.get_dag("xtreme1_test_templated_connection")
    run, tis = run_dag(dag, conf={"conn": "xtreme1_default", "name": "templated-connection"})
    assert run.state == "success", {t: ti.state for t, ti in tis.items()}
    assert xcom(run, "ensure_dataset") == Xtreme1Hook().find_dataset_by_name("templated-connection")["id"]
    run, _ = run_dag(dag, conf={"conn": "x1_no_such_connection", "name": "templated-connection"})
    assert run.state == "failed"  # the rendered id is the one used
