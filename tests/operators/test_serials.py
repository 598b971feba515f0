"""Serial numbers are 19-digit Snowflake ids: text everywhere, even when a server sends a JSON number.

The DTOs declare them ``Long`` and print them as strings (``@JsonSerialize(using = ToStringSerializer)``
on J:adapter/dto/UploadRecordDTO.java, ExportRecordDTO.java, ModelRunRecordDTO.java ``modelSerialNo``);
a server without that annotation, or a proxy that re-encodes JSON, sends numbers. A number of 19 digits
is past what a JavaScript double holds (the Airflow UI shows 2127064340229001216 as ...1200).
"""

from __future__ import annotations

import asyncio
import json

from operator_helpers import run_task
from xtreme1_testing import numeric_serials

from airflow_provider_xtreme1.emulator.faults import Fault
from airflow_provider_xtreme1.operators.upload import Xtreme1ImportDatasetOperator
from airflow_provider_xtreme1.sensors.xtreme1 import Xtreme1ImportSensor
from airflow_provider_xtreme1.triggers.xtreme1 import Xtreme1JobTrigger

SERIAL = 2127064340229001216
RECORD = {
    "id": 7,
    "serialNumber": SERIAL,
    "status": "PARSE_COMPLETED",
    "errorMessage": "",
    "totalDataNum": 2,
    "parsedDataNum": 2,
    "totalFileSize": 1234,
    "downloadedFileSize": 1234,
}


def answer(emu, path: str, method: str, data: object) -> None:
    body = json.dumps({"code": "OK", "message": "", "data": data})  # the number stays a JSON number
    assert str(SERIAL) in body and f'"{SERIAL}"' not in body
    emu.inject(
        Fault(path=path, method=method, status=200, body=body, content_type="application/json", times=None)
    )


def test_import_started_with_a_numeric_serial(emu, lidar_dataset):
    answer(emu, r"^/api/data/upload$", "POST", SERIAL)
    result, ti = run_task(
        Xtreme1ImportDatasetOperator(
            task_id="import",
            dataset_id=lidar_dataset["id"],
            file_url="http://minio:9000/xtreme1/any.zip",
            wait_for_completion=False,
        )
    )
    assert result["serial_number"] == str(SERIAL)
    assert ti.xcom["serial_numbers"] == [str(SERIAL)]
    assert numeric_serials(result) == [] and numeric_serials(ti.xcom) == []


def test_records_with_numeric_serials_come_out_as_text(emu):
    answer(emu, r"^/api/data/findUploadRecordBySerialNumbers$", "GET", [RECORD])
    records, _ = run_task(
        Xtreme1ImportSensor(task_id="wait", serial_numbers=str(SERIAL), poke_interval=0.05, timeout=10)
    )
    assert records[0]["serial_number"] == str(SERIAL)
    assert records[0]["status"] == RECORD["status"] and "serialNumber" not in records[0]
    assert numeric_serials(records) == []

    async def first_event():
        async for event in Xtreme1JobTrigger(
            "xtreme1_default", "import", [str(SERIAL)], poll_interval=0.05
        ).run():
            return event.payload

    payload = asyncio.run(first_event())
    assert payload["outcome"] == "succeeded" and payload["ids"] == [str(SERIAL)]
    assert numeric_serials(payload) == []


def test_numeric_serials_finds_them():
    assert numeric_serials({"a": [{"serialNumber": SERIAL}], "ids": [SERIAL], "n": 12}) == [
        ".a[0].serialNumber",
        ".a[0].serialNumber",
        ".ids[0]",
    ]
