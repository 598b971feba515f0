"""The triggerer side of benchmark 6: N import triggers on one event loop, as a child process.

``python -m benchmarks.trigger_fanin SERIALS_JSON POLL_INTERVAL EMULATOR_PORT`` (connection from
``AIRFLOW_CONN_XTREME1_DEFAULT``). Prints one JSON line: per trigger its serial, first-poll and firing
times and outcome; CPU seconds (``getrusage``) sampled every second; the open TCP connections to the
emulator sampled every second; RSS before and after.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import sys
import time

import psutil

from benchmarks.common import proc_status_mib


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _watch(trigger, record: dict) -> None:
    async for event in trigger.run():
        record["fired"] = time.time()
        record["outcome"] = event.payload.get("outcome")
        return


async def _sample(samples: list, port: int, stop: asyncio.Event) -> None:
    me = psutil.Process()
    while not stop.is_set():
        conns = sum(1 for c in me.net_connections("tcp") if c.raddr and c.raddr.port == port)
        samples.append((time.time(), _cpu(), conns))
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)


def _record_polls(polls: dict[str, list[float]]) -> None:
    """Note the start time of every status poll, per job id (benchmark-side wrapper, no behaviour change)."""
    from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1AsyncHook

    original = Xtreme1AsyncHook.get_job_records

    async def get_job_records(self, kind, ids, **kwargs):
        for i in [ids] if isinstance(ids, str) else ids:
            polls.setdefault(str(i), []).append(time.time())
        return await original(self, kind, ids, **kwargs)

    Xtreme1AsyncHook.get_job_records = get_job_records


async def main_async(serials: list[str], poll: float, port: int) -> dict:
    from airflow_provider_xtreme1.triggers.xtreme1 import Xtreme1JobTrigger

    triggers = [Xtreme1JobTrigger("xtreme1_default", "import", [s], poll_interval=poll) for s in serials]
    records = [{"serial": s, "started": time.time()} for s in serials]
    samples: list = []
    stop = asyncio.Event()
    sampler = asyncio.create_task(_sample(samples, port, stop))
    cpu0, t0 = _cpu(), time.time()
    await asyncio.gather(*(_watch(t, r) for t, r in zip(triggers, records, strict=True)))
    cpu1, t1 = _cpu(), time.time()
    stop.set()
    await sampler
    return {"triggers": records, "cpu": cpu1 - cpu0, "wall": t1 - t0, "t0": t0, "samples": samples}


def _client_cost(n: int = 20) -> dict:
    """Milliseconds to build one ``httpx.AsyncClient``: as the hook does (the per-process SSL context of
    ``_tls.ssl_context``), and with ``verify=True`` (a CA bundle loaded per client, as before)."""
    import httpx

    from airflow_provider_xtreme1._tls import ssl_context

    cost = {}
    for key, verify in (("client_build_ms", ssl_context(True)), ("client_build_fresh_ms", True)):
        started = time.perf_counter()
        clients = [httpx.AsyncClient(verify=verify) for _ in range(n)]
        cost[key] = (time.perf_counter() - started) / n * 1000
        del clients
    return cost


def main(argv: list[str]) -> int:
    with open(argv[0]) as fh:
        serials = json.load(fh)
    poll, port = float(argv[1]), int(argv[2])
    import airflow.sdk  # noqa: F401

    import airflow_provider_xtreme1.hooks.xtreme1
    import airflow_provider_xtreme1.triggers.xtreme1  # noqa: F401

    polls: dict[str, list[float]] = {}
    _record_polls(polls)
    baseline = proc_status_mib("VmRSS")
    result = asyncio.run(main_async(serials, poll, port))
    result.update(baseline_mib=baseline, peak_mib=proc_status_mib("VmHWM"), polls=polls, **_client_cost())
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
