"""The annotation triggers: the deferred sensor's trigger, and the asset-event trigger alone and sharing
one poll through Airflow 3.3's shared-stream manager."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from annotation_kit import fresh_dataset

from airflow_provider_xtreme1.exceptions import Xtreme1NotFoundError
from airflow_provider_xtreme1.triggers.annotation import (
    Xtreme1AnnotationEventTrigger,
    Xtreme1AnnotationTrigger,
)

TRIGGERS = [
    (
        Xtreme1AnnotationTrigger,
        {"conn_id": "c", "dataset_id": 3, "threshold_ratio": 0.9, "require_unlocked": True, "end_time": 5.5},
    ),
    (
        Xtreme1AnnotationTrigger,
        {"conn_id": "c", "dataset_id": 3, "threshold_count": 7, "stall_timeout": 60.0},
    ),
    (Xtreme1AnnotationEventTrigger, {"conn_id": "c", "dataset_id": 4, "threshold_count": 10}),
    (Xtreme1AnnotationEventTrigger, {"conn_id": "c", "dataset_id": 4, "invalid_items": "done"}),
]


@pytest.mark.parametrize(("cls", "kwargs"), TRIGGERS)
def test_serialize_round_trip(cls, kwargs):
    from airflow.sdk.serde import deserialize, serialize

    path, stored = cls(**kwargs).serialize()
    assert path == f"airflow_provider_xtreme1.triggers.annotation.{cls.__name__}"
    stored = deserialize(serialize(json.loads(json.dumps(stored))))
    assert cls(**stored).serialize() == (path, stored)


def test_event_trigger_refuses_bad_thresholds():
    with pytest.raises(ValueError, match="threshold_ratio must be a fraction"):
        Xtreme1AnnotationEventTrigger("c", 1, threshold_ratio=2)
    with pytest.raises(ValueError, match="page_size must be at least 1"):
        Xtreme1AnnotationEventTrigger("c", 1, page_size=0)


async def collect(events: object, seconds: float) -> list[dict]:
    """Payloads fired within ``seconds`` (the iterator is closed afterwards)."""
    out: list[dict] = []

    async def pull() -> None:
        async for event in events:  # type: ignore[attr-defined]
            out.append(event.payload)

    task = asyncio.create_task(pull())
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    else:
        task.result()
    return out


async def annotate_later(emu, schedule: list[tuple[float, list[int]]]) -> None:
    for delay, ids in schedule:
        await asyncio.sleep(delay)
        await asyncio.to_thread(emu.annotate, ids, objects=[{"className": "Car"}])


async def test_deferred_sensor_trigger_fires_once_met(emu, tmp_path):
    dataset = fresh_dataset(emu, tmp_path, items=2)
    trigger = Xtreme1AnnotationTrigger("xtreme1_default", dataset["id"], threshold_ratio=1, poll_interval=0.1)
    later = asyncio.create_task(annotate_later(emu, [(0.3, dataset["data_ids"])]))
    events = await collect(trigger.run(), 10)
    await later
    assert [e["outcome"] for e in events] == ["succeeded"]
    assert events[0]["progress"]["annotated"] == 2


async def test_event_trigger_fires_once_when_the_threshold_is_crossed(emu, tmp_path):
    dataset = fresh_dataset(emu, tmp_path, items=3)
    ids = dataset["data_ids"]
    trigger = Xtreme1AnnotationEventTrigger(
        "xtreme1_default", dataset["id"], threshold_count=2, poll_interval=0.1
    )
    later = asyncio.create_task(annotate_later(emu, [(0.4, ids[:1]), (0.4, ids[1:2]), (0.4, ids[2:])]))
    events = await collect(trigger.run(), 2.5)
    await later
    assert [(e["reason"], e["annotated"]) for e in events] == [("crossed threshold", 2)]


async def test_event_trigger_fires_on_every_change_without_threshold(emu, tmp_path):
    dataset = fresh_dataset(emu, tmp_path, items=3)
    ids = dataset["data_ids"]
    emu.annotate(ids[:1], objects=[{"className": "Car"}])  # before the watch: the baseline, no event
    trigger = Xtreme1AnnotationEventTrigger("xtreme1_default", dataset["id"], poll_interval=0.1)
    later = asyncio.create_task(annotate_later(emu, [(0.4, ids[1:2]), (0.4, ids[2:])]))
    events = await collect(trigger.run(), 2.0)
    await later
    assert [(e["reason"], e["done"], e["total"]) for e in events] == [
        ("annotated count changed", 2, 3),
        ("annotated count changed", 3, 3),
    ]


class MemoryStateStore:
    """What the triggerer injects as ``asset_state_store`` (the async half of its accessor)."""

    def __init__(self) -> None:
        self.values: dict[str, object] = {}

    async def aget(self, key: str, default: object = None) -> object:
        return self.values.get(key, default)

    async def aset(self, key: str, value: object) -> None:
        self.values[key] = value


async def test_a_restarted_event_trigger_does_not_fire_the_same_crossing_again(emu, tmp_path):
    dataset = fresh_dataset(emu, tmp_path, items=2)
    emu.annotate(dataset["data_ids"], objects=[{"className": "Car"}])
    store = MemoryStateStore()
    fired = []
    for _ in range(2):  # the same watcher, before and after a triggerer restart
        trigger = Xtreme1AnnotationEventTrigger(
            "xtreme1_default", dataset["id"], threshold_ratio=1, poll_interval=0.1
        )
        trigger.asset_state_store = store
        fired.append(await collect(trigger.run(), 0.6))
    assert [len(events) for events in fired] == [1, 0]
    assert fired[0][0]["reason"] == "crossed threshold"


async def test_event_trigger_fails_when_the_dataset_is_deleted(emu, tmp_path):
    from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1Hook

    dataset = fresh_dataset(emu, tmp_path, items=1)
    trigger = Xtreme1AnnotationEventTrigger("xtreme1_default", dataset["id"], poll_interval=0.1)

    async def delete_later() -> None:
        await asyncio.sleep(0.3)
        await asyncio.to_thread(Xtreme1Hook().delete_dataset, dataset["id"])

    later = asyncio.create_task(delete_later())
    with pytest.raises(Xtreme1NotFoundError, match=f"dataset {dataset['id']} does not exist"):
        await collect(trigger.run(), 5)
    await later


async def test_many_watchers_share_one_listing_per_poll(emu, tmp_path):
    """200 watched datasets, one triggerer: Airflow's shared-stream manager runs one poll loop, and each
    poll is a single ``dataset/findByPage`` request."""
    from airflow.triggers.shared_stream import SharedStreamManager

    from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1Hook

    dataset = fresh_dataset(emu, tmp_path, items=2)
    hook = Xtreme1Hook()
    others = [hook.create_dataset(f"watched-{i}", "IMAGE")["id"] for i in range(199)]
    triggers = [
        Xtreme1AnnotationEventTrigger("xtreme1_default", ds, threshold_ratio=1, poll_interval=0.2)
        for ds in [dataset["id"], *others]
    ]
    manager = SharedStreamManager()
    keys = {t.shared_stream_key() for t in triggers}
    assert len(keys) == 1
    before = len(emu.request_log)
    streams = [
        t.filter_shared_stream(manager.subscribe(trigger_id=i, trigger=t, key=t.shared_stream_key()))
        for i, t in enumerate(triggers)
    ]
    started = time.monotonic()
    later = asyncio.create_task(annotate_later(emu, [(0.5, dataset["data_ids"])]))
    results = await asyncio.gather(*(collect(s, 1.6) for s in streams))
    elapsed = time.monotonic() - started
    await later
    await manager.stop_all()
    assert [(e["dataset_id"], e["reason"]) for e in results[0]] == [(dataset["id"], "crossed threshold")]
    assert all(events == [] for events in results[1:])
    requests = emu.request_log[before:]
    listings = [r for r in requests if r["path"] == "/api/dataset/findByPage"]
    assert 2 <= len(listings) <= elapsed / 0.2 + 2, len(listings)
    assert {r["path"] for r in requests} == {"/api/dataset/findByPage"}
