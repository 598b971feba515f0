"""``python -m airflow_provider_xtreme1.emulator`` / ``xtreme1-emulator``: run the emulator until stopped."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from .emulator import Xtreme1Emulator


def main(argv: list[str] | None = None) -> int:
    """Start an emulator and serve until Ctrl-C or SIGTERM."""
    parser = argparse.ArgumentParser(prog="xtreme1-emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8190)
    parser.add_argument("--token", default="secret-token")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--step-delay", type=float, default=0.2)
    args = parser.parse_args(argv)
    emu = Xtreme1Emulator(
        token=args.token, host=args.host, port=args.port, data_dir=args.data_dir, step_delay=args.step_delay
    ).start()
    done = threading.Event()

    def _stop(*_: object) -> None:
        done.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(f"Xtreme1 emulator listening on {emu.url} (API {emu.url}/api, storage {emu.url}/minio)", flush=True)
    try:
        while not done.wait(0.5):
            pass
    finally:
        emu.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
