"""The snake_case shape of a job's record that operators and sensors return (one key per job id).

Import and export jobs are identified by ``serial_number`` (Xtreme1 hands out serial numbers for
them); model runs by ``run_id`` (Xtreme1 gives runs record ids, not serials). Presigned URLs a record
carries (an export's ``filePath``) are left out: they are secrets and do not belong in XCom.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from typing import Any

from airflow_provider_xtreme1.statuses import JobKind


def _metrics(value: Any) -> Any:
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return json.loads(value)
    return value


def job_summary(kind: JobKind | str, record: Mapping[str, Any]) -> dict[str, Any]:
    """One server record of ``kind`` as the snake_case dict the operators and sensors return."""
    kind = JobKind(kind)
    if kind is JobKind.MODEL_RUN:
        run_id = record.get("id")
        return {
            "run_id": None if run_id in (None, "") else int(run_id),
            "run_no": record.get("runNo"),
            "status": record.get("status"),
            "data_count": record.get("dataCount"),
            "metrics": _metrics(record.get("metrics")),
            "error_reason": record.get("errorReason"),
            "model_id": record.get("modelId"),
        }
    serial = record.get("serialNumber")
    summary: dict[str, Any] = {
        "serial_number": None if serial is None else str(serial),
        "status": record.get("status"),
    }
    if kind is JobKind.IMPORT:
        summary.update(
            total_data_num=record.get("totalDataNum"),
            parsed_data_num=record.get("parsedDataNum"),
            total_file_size=record.get("totalFileSize"),
            error_message=record.get("errorMessage"),
        )
    else:
        summary.update(file_name=record.get("fileName"), error_message=record.get("errorMessage"))
    return summary
