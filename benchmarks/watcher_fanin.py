"""The triggerer side of benchmark 10: N asset-event watchers on one event loop, as a child process.

``python -m benchmarks.watcher_fanin DATASET_IDS_JSON POLL_INTERVAL SECONDS MODE`` (connection from
``AIRFLOW_CONN_XTREME1_DEFAULT``). ``MODE`` is ``shared`` (Airflow 3.3's ``SharedStreamManager``, as the
triggerer drives event triggers that declare a ``shared_stream_key``) or ``alone`` (each watcher's own
``run()``, as without shared streams). Prints one JSON line: events fired, listings made (each one or
more page requests), CPU seconds, RSS before/peak.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time

from benchmarks.common import proc_status_mib


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _drain(events, fired: list) -> None:
    async for event in events:
        fired.append(event.payload)


async def main_async(dataset_ids: list[int], poll: float, seconds: float, mode: str) -> dict:
    from airflow.triggers.shared_stream import SharedStreamManager

    from airflow_provider_xtreme1.triggers.annotation import Xtreme1AnnotationEventTrigger

    triggers = [
        Xtreme1AnnotationEventTrigger("xtreme1_default", ds, threshold_ratio=1, poll_interval=poll)
        for ds in dataset_ids
    ]
    manager = SharedStreamManager()
    fired: list = []
    cpu0, t0 = _cpu(), time.time()
    if mode == "shared":
        streams = [
            t.filter_shared_stream(manager.subscribe(trigger_id=i, trigger=t, key=t.shared_stream_key()))
            for i, t in enumerate(triggers)
        ]
    else:
        streams = [t.run() for t in triggers]
    tasks = [asyncio.create_task(_drain(s, fired)) for s in streams]
    await asyncio.sleep(seconds)
    cpu1, t1 = _cpu(), time.time()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await manager.stop_all()
    return {"cpu": cpu1 - cpu0, "wall": t1 - t0, "events": len(fired)}


def _count_polls(counter: list[int]) -> None:
    """Count listing rounds (benchmark-side wrapper, no behaviour change)."""
    from airflow_provider_xtreme1.triggers import annotation

    original = annotation.poll_dataset_counts

    async def poll_dataset_counts(hook, page_size):
        counter[0] += 1
        return await original(hook, page_size)

    annotation.poll_dataset_counts = poll_dataset_counts


def main(argv: list[str]) -> int:
    with open(argv[0]) as fh:
        dataset_ids = json.load(fh)
    poll, seconds, mode = float(argv[1]), float(argv[2]), argv[3]
    import airflow.sdk  # noqa: F401

    import airflow_provider_xtreme1.hooks.xtreme1
    import airflow_provider_xtreme1.triggers.annotation  # noqa: F401

    rounds = [0]
    _count_polls(rounds)
    baseline = proc_status_mib("VmRSS")
    result = asyncio.run(main_async(dataset_ids, poll, seconds, mode))
    result.update(baseline_mib=baseline, peak_mib=proc_status_mib("VmHWM"), listing_calls=rounds[0])
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
