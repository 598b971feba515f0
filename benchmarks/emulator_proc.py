"""The emulator in its own process, instrumented for the benchmarks (nothing here changes its behaviour).

* Its presign secret is fixed (``common.EMULATOR_SECRET``), so the benchmark can sign storage URLs for
  any key (a GET of a 2 GiB object, for instance) without an export.
* Its listen backlog is nginx's default (511) instead of ``socketserver``'s 5: the real server sits behind
  nginx, and with a backlog of 5 a burst of 200 connects loses SYNs, which clients retry only after
  1, 3, 7, 15, 31 s (that measures the kernel, not the provider).
* ``--link-mbps R`` (off by default) models a network link per connection: the body of every storage PUT
  is read at no more than R MB/s, each connection on its own (as if each worker had its own link to the
  storage); the sharded-ingest benchmark uses it beside the plain loopback figures.
* The moment each import reaches a final status (``PARSE_COMPLETED`` / ``FAILED``) is recorded and
  written as JSON to ``--events`` on exit, for the trigger fan-in benchmark's firing delay.

Run: ``python -m benchmarks.emulator_proc --port P --data-dir D --step-delay S --events FILE``
(``--link-mbps R`` optional).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time

from airflow_provider_xtreme1.emulator import importer, jobs
from airflow_provider_xtreme1.emulator.emulator import Xtreme1Emulator
from airflow_provider_xtreme1.emulator.server import EmulatorHTTPServer, Handler
from benchmarks.common import EMULATOR_SECRET, EMULATOR_TOKEN

FINAL = {"PARSE_COMPLETED", "FAILED"}


class _Link:
    """A request body read at no more than ``rate`` bytes per second."""

    def __init__(self, raw, rate: float) -> None:
        self._raw = raw
        self._rate = rate
        self._started = time.monotonic()
        self._read = 0

    def read(self, n: int) -> bytes:
        chunk = self._raw.read(min(n, 256 * 1024))
        self._read += len(chunk)
        ahead = self._read / self._rate - (time.monotonic() - self._started)
        if ahead > 0:
            time.sleep(ahead)
        return chunk


def _limit_puts(rate: float) -> None:
    plain = Handler.body_reader

    def body_reader(self):
        return _Link(plain(self), rate)

    Handler.body_reader = body_reader


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--step-delay", type=float, default=0.2)
    parser.add_argument("--events", required=True)
    parser.add_argument("--link-mbps", type=float, default=None)
    args = parser.parse_args(argv)
    if args.link_mbps:
        _limit_puts(args.link_mbps * 1e6)

    finished: dict[str, list] = {}
    original = jobs.set_status

    def recording_set_status(rec, status, **fields):
        if status in FINAL and rec.get("serialNumber") not in finished:
            finished[rec["serialNumber"]] = [status, time.time()]
        return original(rec, status, **fields)

    jobs.set_status = recording_set_status
    importer.set_status = recording_set_status

    EmulatorHTTPServer.request_queue_size = 511
    emu = Xtreme1Emulator(
        token=EMULATOR_TOKEN, port=args.port, data_dir=args.data_dir, step_delay=args.step_delay
    )
    emu._signer._secret = EMULATOR_SECRET
    emu.start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    try:
        while not done.wait(0.2):
            pass
    finally:
        with open(args.events, "w") as fh:
            json.dump(finished, fh)
        emu.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
