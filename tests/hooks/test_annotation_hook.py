"""The annotation methods of both hook twins against the emulator, and their builders' argument checks."""

from __future__ import annotations

import asyncio
import inspect

import pytest
from annotation_kit import fresh_dataset

from airflow_provider_xtreme1._api import annotation as api
from airflow_provider_xtreme1.exceptions import Xtreme1ApiError, Xtreme1Error
from airflow_provider_xtreme1.hooks._annotation import AnnotationMethods, AsyncAnnotationMethods
from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1AsyncHook, Xtreme1Hook


@pytest.fixture(params=["sync", "async"])
def call(request, emu):
    """``call(name, *args)`` on the sync or the async hook."""
    if request.param == "sync":
        hook = Xtreme1Hook()
        yield lambda name, *a, **kw: getattr(hook, name)(*a, **kw)
        hook.close()
    else:
        hook = Xtreme1AsyncHook()
        loop = asyncio.new_event_loop()
        yield lambda name, *a, **kw: loop.run_until_complete(getattr(hook, name)(*a, **kw))
        loop.run_until_complete(hook.aclose())
        loop.close()


def test_twins_have_the_same_methods():
    public = {n for n in vars(AnnotationMethods) if not n.startswith("_")}
    assert public == {n for n in vars(AsyncAnnotationMethods) if not n.startswith("_")}
    for name in public:
        sync, asynchronous = getattr(AnnotationMethods, name), getattr(AsyncAnnotationMethods, name)
        assert inspect.signature(sync) == inspect.signature(asynchronous), name
        assert inspect.iscoroutinefunction(asynchronous), name


def test_statistics_locks_and_the_data_flow(call, emu, tmp_path):
    dataset = fresh_dataset(emu, tmp_path, items=3)
    ds, (a, b, c) = dataset["id"], dataset["data_ids"]
    emu.annotate([a], objects=[{"className": "Car"}])
    emu.lock([b], user="bob")
    stats = call("get_data_statistics", ds)
    assert (stats["annotatedCount"], stats["notAnnotatedCount"], stats["itemCount"]) == (1, 2, 3)
    assert call("get_lock_records", ds) == [
        {"recordId": pytest.approx(1, abs=10**9), "lockedNum": 1, "lockedBy": "bob"}
    ]
    classes = call("get_class_statistics", ds)
    assert [(u["name"], u["objectAmount"]) for u in classes["classUnits"]] == [("Car", 1)]
    call("mark_data", ds, [c], valid=False)
    assert [d["annotationStatus"] for d in call("get_data_status", [a, b, c])] == [
        "ANNOTATED",
        "NOT_ANNOTATED",
        "INVALID",
    ]
    with pytest.raises(Xtreme1Error, match=rf"data \[{b}\] .* is being annotated by someone else"):
        call("mark_data", ds, [b, c], valid=True)
    assert [r["lockedBy"] for r in call("get_lock_records", ds)] == ["bob"]
    assert call("count_split_candidates", ds) == 3
    call("split_data_by_ids", [a], "TEST")
    assert call("count_split_candidates", ds, "SPLIT") == 1


def test_deleted_dataset_reads_zero_statistics(call, emu, tmp_path):
    dataset = fresh_dataset(emu, tmp_path, items=1)
    Xtreme1Hook().delete_dataset(dataset["id"])
    assert call("get_data_statistics", dataset["id"])["itemCount"] == 0
    assert call("get_class_statistics", dataset["id"]) == {"toolTypeUnits": [], "classUnits": []}


def test_server_refusals_surface(call, emu, tmp_path):
    dataset = fresh_dataset(emu, tmp_path, items=1)
    with pytest.raises(Xtreme1ApiError, match="DATASET__DATA__DATA_HAS_BEEN_UNLOCKED"):
        # the endpoint alone, without the lock: the server refuses
        call("_request", api.mark_data(dataset["data_ids"][0], valid=False))


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: api.split_by_ratio(1, training=0, validation=50, test=50),
            "training must be a whole percentage",
        ),
        (lambda: api.split_by_ratio(1, training=60, validation=20, test=30), "must add up to 100"),
        (
            lambda: api.split_by_ratio(1, training=60, validation=20, test=20, splitting_by="SHUFFLE"),
            "splitting_by",
        ),
        (
            lambda: api.split_by_ratio(1, training=60, validation=20, test=20, sort_by="NAME"),
            "only applies to",
        ),
        (lambda: api.split_by_ids([], "TEST"), "data_ids must not be empty"),
        (lambda: api.split_by_ids([1], "HOLDOUT"), "split_type must be one of"),
        (lambda: api.lock_data(1, ["x"]), "data_ids must be an integer id"),
        (lambda: api.split_candidates(1, "ALL"), "target must be one of"),
    ],
)
def test_builders_refuse_bad_arguments(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_planned_split_rounds_like_the_server():
    assert api.planned_split(5, total=100, training=60, validation=20) == {
        "TRAINING": 3,
        "VALIDATION": 1,
        "TEST": 1,
    }
    assert api.planned_split(3, total=100, training=50, validation=40) == {
        "TRAINING": 2,
        "VALIDATION": 1,
        "TEST": 0,
    }
    assert api.planned_split(7, total=50, training=70, validation=20) == {
        "TRAINING": 3,
        "VALIDATION": 1,
        "TEST": 0,
    }
    body = api.split_by_ratio(
        4, training=70, validation=20, test=10, splitting_by="ORDER", sort_by="NAME"
    ).json
    assert body == {
        "datasetId": 4,
        "totalSizeRatio": 100,
        "trainingRatio": 70,
        "validationRatio": 20,
        "testRatio": 10,
        "splittingBy": "ORDER",
        "sortBy": "NAME",
        "ascOrDesc": "ASC",
    }
