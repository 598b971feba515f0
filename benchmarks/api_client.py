"""Benchmark 7's client, as a child process: N status calls through the hook vs a bare requests.Session.

``python -m benchmarks.api_client N SERIAL`` (connection from ``AIRFLOW_CONN_XTREME1_DEFAULT``). Both
loops run in the same process, alternating in blocks of 100, each on its own warm keep-alive connection.
Prints JSON with the seconds of each.
"""

from __future__ import annotations

import json
import sys
import time


def main(argv: list[str]) -> int:
    count, serial = int(argv[0]), argv[1]
    import requests

    from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1Hook

    hook = Xtreme1Hook("xtreme1_default")
    settings = hook.settings
    bare = requests.Session()
    bare.headers["Authorization"] = f"Bearer {settings.token}"
    url = settings.url("/data/findUploadRecordBySerialNumbers")

    def via_hook() -> None:
        assert hook.get_upload_records([serial])[0]["serialNumber"] == serial

    def via_session() -> None:
        response = bare.get(url, params={"serialNumbers": serial}, timeout=60)
        assert response.json()["data"][0]["serialNumber"] == serial

    via_hook(), via_session()  # warm both connections
    spent = {"hook": 0.0, "session": 0.0}
    for _ in range(count // 100):
        for name, call in (("hook", via_hook), ("session", via_session)):
            started = time.perf_counter()
            for _ in range(100):
                call()
            spent[name] += time.perf_counter() - started
    print(json.dumps(spent))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
