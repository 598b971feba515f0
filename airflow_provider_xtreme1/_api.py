"""The Xtreme1 API's endpoints as data, with no I/O.

The sync and async hooks only send requests and sleep; what to send and how to read the ``data`` of
the answer is decided here, once: :class:`ApiCall` is one request (method, path, query, JSON body,
whether repeating it is safe, and how to parse what it returns), built by one function per endpoint
(``create_dataset`` …); :func:`handle` unwraps an answer with :mod:`._responses` and parses it.
Connection settings live in :mod:`._connection`.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from airflow_provider_xtreme1._responses import MAY_HAVE_ACTED, MAYBE_FORWARDED, unwrap
from airflow_provider_xtreme1.archives import SAFE_NAME_RE
from airflow_provider_xtreme1.archives import rules as layout
from airflow_provider_xtreme1.collation import same_name
from airflow_provider_xtreme1.exceptions import (
    Xtreme1AnswerLostError,
    Xtreme1TransportError,
)
from airflow_provider_xtreme1.statuses import JobKind, job_id

T = TypeVar("T")


DATASET_TYPES = frozenset(layout.DATASET_TYPES)
MODEL_DATASET_TYPES = DATASET_TYPES | {"LIDAR"}
IMPORT_SOURCES = frozenset({"LOCAL", "URL"})
RESULT_TYPES = frozenset({"GROUND_TRUTH", "MODEL_RUN"})
DATA_FORMATS = frozenset({"XTREME1", "COCO"})
ANNOTATION_STATUSES = frozenset({"ANNOTATED", "NOT_ANNOTATED", "INVALID"})
SPLIT_TYPES = frozenset({"TRAINING", "VALIDATION", "TEST", "NOT_SPLIT"})
RUN_STATUSES = frozenset({"STARTED", "RUNNING", "SUCCESS", "SUCCESS_WITH_ERROR", "FAILURE"})


_SERIAL_FIELDS = ("serialNumber", "modelSerialNo")


# --------------------------------------------------------------------------------------------------
# Calls and responses
# --------------------------------------------------------------------------------------------------


class _BadData(ValueError):
    """The envelope said OK but ``data`` is not what the endpoint returns."""


def _identity(data: Any) -> Any:
    return data


@dataclass(frozen=True)
class ApiCall(Generic[T]):
    """One API request, as data.

    :param method: HTTP method.
    :param path: path below the API prefix, e.g. ``/dataset/info/1``.
    :param params: query parameters (already strings; lists comma-joined).
    :param json: JSON body, if any.
    :param idempotent: ``False`` when repeating the request could act twice (start an import, export or
        model run, create or delete a dataset); such calls are not retried once they may have reached
        the server.
    :param parse: turns the envelope's ``data`` into the method's result.
    """

    method: str
    path: str
    params: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    idempotent: bool = True
    parse: Callable[[Any], T] = field(default=_identity, repr=False, compare=False)

    @property
    def endpoint(self) -> str:
        """``"METHOD /path"``, for messages and logs."""
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class RawResponse:
    """What a hook's send step hands back: enough to unwrap, nothing library-specific."""

    status: int
    content_type: str
    body: bytes
    retry_after: float | None = None


def handle(call: ApiCall[T], response: RawResponse) -> T:
    """Unwrap a response to ``call`` and parse its ``data``.

    A 502 or 504 from the proxy may come after the backend received the request, so for calls that
    start something it is treated like a read timeout: reported, not repeated.
    """
    try:
        data = unwrap(
            call.endpoint,
            response.status,
            response.content_type,
            response.body,
            retry_after=response.retry_after,
        )
    except Xtreme1TransportError as err:
        if call.idempotent or err.status not in MAYBE_FORWARDED:
            raise
        error = Xtreme1AnswerLostError(
            f"{err}{MAY_HAVE_ACTED}", status=err.status, retry_after=err.retry_after
        )
        error.retryable = False  # type: ignore[attr-defined]
        raise error from None
    try:
        return call.parse(data)
    except _BadData as err:
        raise Xtreme1TransportError(
            f"Xtreme1 {call.endpoint} answered OK with unexpected data: {err}", status=response.status
        ) from None


# --------------------------------------------------------------------------------------------------
# Argument helpers
# --------------------------------------------------------------------------------------------------


def parse_id(value: Any, name: str) -> int:
    """An integer id given as an int or as digits (e.g. rendered by a template); else ``ValueError``."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer id, got {value!r}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        number = int(value.strip())
    else:
        raise ValueError(f"{name} must be an integer id, got {value!r}")
    return number


def _many(values: Any, name: str, convert: Callable[[Any, str], Any]) -> list[Any]:
    if isinstance(values, (str, int)):
        values = [values]
    items = [convert(v, name) for v in (values or ())]
    if not items:
        raise ValueError(f"{name} must not be empty")
    return items


def _serial(value: Any, name: str) -> str:
    text = str(value).strip()
    if not text or isinstance(value, bool):
        raise ValueError(f"{name} must hold serial numbers, got {value!r}")
    return text


def _choice(value: Any, allowed: frozenset[str], name: str) -> str:
    text = str(getattr(value, "value", value))
    if text not in allowed:
        raise ValueError(f"{name} must be one of {sorted(allowed)}, got {value!r}")
    return text


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, set, frozenset)):
        return ",".join(_param(v) for v in value)
    return str(getattr(value, "value", value))


def _params(**values: Any) -> dict[str, str]:
    return {k: _param(v) for k, v in values.items() if v is not None}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


_FILTER_CHOICES = {
    "annotationStatus": ANNOTATION_STATUSES,
    "splitType": SPLIT_TYPES,
    "sortField": frozenset({"NAME", "CREATED_AT", "DATA_CONFIDENCE"}),
    "ascOrDesc": frozenset({"ASC", "DESC"}),
}


def _data_filters(filters: Mapping[str, Any]) -> dict[str, str]:
    """Query filters of ``/data/findByPage`` and ``/data/export`` (``DataInfoQueryDTO``).

    Keys may be snake_case or the server's camelCase; lists are comma-joined.
    """
    out: dict[str, str] = {}
    for key, value in filters.items():
        if value is None:
            continue
        name = _camel(key)
        if name == "dataIds":
            raise ValueError("the data filter is called 'ids' (the server has no 'dataIds' field)")
        if name in _FILTER_CHOICES:
            value = _choice(value, _FILTER_CHOICES[name], key)
        out[name] = _param(value)
    if ("sortField" in out) != ("ascOrDesc" in out):
        # The server pastes sortField raw into "order by"; without a direction: SQL error, HTTP 500.
        raise ValueError("sort_field and asc_or_desc must be given together")
    return out


# --------------------------------------------------------------------------------------------------
# Parsers of ``data``
# --------------------------------------------------------------------------------------------------


def _record(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise _BadData(f"expected an object, got {type(data).__name__}")
    for key in _SERIAL_FIELDS:
        if data.get(key) is not None:
            data[key] = str(data[key])
    return data


def _records(data: Any) -> list[dict[str, Any]]:
    if data is None:
        return []
    if not isinstance(data, list):
        raise _BadData(f"expected a list, got {type(data).__name__}")
    return [_record(item) for item in data]


def _page(data: Any) -> dict[str, Any]:
    page = _record(data)
    page["list"] = _records(page.get("list"))
    return page


def _optional_record(data: Any) -> dict[str, Any] | None:
    return None if data is None else _record(data)


def _serial_number(data: Any) -> str:
    if isinstance(data, bool) or not isinstance(data, (str, int)) or not str(data).strip():
        raise _BadData(f"expected a serial number, got {data!r}")
    return str(data).strip()


def _count(data: Any) -> int:
    if isinstance(data, bool) or not isinstance(data, (int, float, str)):
        raise _BadData(f"expected a number, got {data!r}")
    try:
        return int(data)
    except ValueError:
        raise _BadData(f"expected a number, got {data!r}") from None


def _nothing(data: Any) -> None:
    return None


def _presigned(data: Any) -> dict[str, Any]:
    record = _record(data)
    if not record.get("presignedUrl") or not record.get("accessUrl"):
        raise _BadData("presignedUrl or accessUrl is missing")
    return record


# --------------------------------------------------------------------------------------------------
# One builder per endpoint (paths below the /api prefix; see the endpoint table of the API spec)
# --------------------------------------------------------------------------------------------------


def current_user() -> ApiCall[dict[str, Any]]:
    return ApiCall("GET", "/user/logged", parse=_record)


def check_dataset_name(name: Any, argument: str = "name") -> str:
    """A dataset name the server can store and export: 1 to 255 characters (``dataset.name`` is a
    ``varchar(255)``), no control characters, no ``/`` or ``\\`` (the export's file and top folder are
    named after the dataset)."""
    text = "" if name is None else str(name)
    if not text.strip():
        raise ValueError(f"{argument} must not be empty.")
    if len(text) > 255:
        raise ValueError(
            f"{argument} is {len(text)} characters long; Xtreme1 stores dataset names in a varchar(255) "
            "column, so at most 255 are allowed."
        )
    bad = next((ch for ch in text if ord(ch) < 32 or ord(ch) == 127 or ch in "/\\"), None)
    if bad is not None:
        raise ValueError(
            f"{argument} {text!r} contains {bad!r}: dataset names may hold no control characters, '/' or "
            "'\\' (exports are files named after the dataset)."
        )
    return text


def create_dataset(name: str, dataset_type: str, description: str | None = None) -> ApiCall[dict[str, Any]]:
    body = {"name": check_dataset_name(name), "type": _choice(dataset_type, DATASET_TYPES, "dataset_type")}
    if description is not None:
        body["description"] = description
    return ApiCall("POST", "/dataset/create", json=body, idempotent=False, parse=_record)


def get_dataset(dataset_id: int | str) -> ApiCall[dict[str, Any]]:
    return ApiCall("GET", f"/dataset/info/{parse_id(dataset_id, 'dataset_id')}", parse=_record)


def find_datasets(
    name: str | None = None, dataset_type: str | None = None, page_no: int = 1, page_size: int = 10
) -> ApiCall[dict[str, Any]]:
    kind = None if dataset_type is None else _choice(dataset_type, DATASET_TYPES, "dataset_type")
    params = _params(
        pageNo=_page_number(page_no), pageSize=_page_size(page_size), name=name or None, type=kind
    )
    return ApiCall("GET", "/dataset/findByPage", params=params, parse=_page)


def delete_dataset(dataset_id: int | str) -> ApiCall[None]:
    path = f"/dataset/delete/{parse_id(dataset_id, 'dataset_id')}"
    return ApiCall("POST", path, idempotent=False, parse=_nothing)


def get_dataset_classes(dataset_id: int | str) -> ApiCall[list[dict[str, Any]]]:
    return ApiCall("GET", f"/datasetClass/findAll/{parse_id(dataset_id, 'dataset_id')}", parse=_records)


def get_presigned_upload_url(dataset_id: int | str, file_name: str) -> ApiCall[dict[str, Any]]:
    # The server URL-decodes the object URL before downloading it, so '%', '+' or spaces break imports.
    if not isinstance(file_name, str) or not SAFE_NAME_RE.fullmatch(file_name):
        raise ValueError(
            "file_name must be a plain file name of letters, digits, '.', '_' and '-' "
            f"(e.g. 'batch-01.zip'), got {file_name!r}"
        )
    params = _params(fileName=file_name, datasetId=parse_id(dataset_id, "dataset_id"))
    return ApiCall("GET", "/data/generatePresignedUrl", params=params, parse=_presigned)


def start_import(
    dataset_id: int | str,
    file_url: str,
    *,
    source: str = "LOCAL",
    result_type: str | None = None,
    model_id: int | str | None = None,
    data_format: str | None = None,
) -> ApiCall[str]:
    if not file_url:
        raise ValueError("file_url must not be empty")
    body: dict[str, Any] = {
        "fileUrl": file_url,
        "datasetId": parse_id(dataset_id, "dataset_id"),
        "source": _choice(source, IMPORT_SOURCES, "source"),
    }
    if result_type is not None:
        body["resultType"] = _choice(result_type, RESULT_TYPES, "result_type")
    if body.get("resultType") == "MODEL_RUN" and model_id is None:
        # Without a model the server's worker fails after the download and the import never finishes.
        raise ValueError("result_type='MODEL_RUN' needs model_id")
    if model_id is not None:
        body["modelId"] = parse_id(model_id, "model_id")
    if data_format is not None:
        body["dataFormat"] = _choice(data_format, DATA_FORMATS, "data_format")
    return ApiCall("POST", "/data/upload", json=body, idempotent=False, parse=_serial_number)


def get_upload_records(serial_numbers: Iterable[str] | str) -> ApiCall[list[dict[str, Any]]]:
    params = {"serialNumbers": ",".join(_many(serial_numbers, "serial_numbers", _serial))}
    return ApiCall("GET", "/data/findUploadRecordBySerialNumbers", params=params, parse=_records)


def find_data(
    dataset_id: int | str, *, page_no: int = 1, page_size: int = 10, **filters: Any
) -> ApiCall[dict[str, Any]]:
    params = {
        **_data_filters(filters),
        **_params(
            datasetId=parse_id(dataset_id, "dataset_id"),
            pageNo=_page_number(page_no),
            pageSize=_page_size(page_size),
        ),
    }
    return ApiCall("GET", "/data/findByPage", params=params, parse=_page)


def start_export(
    dataset_id: int | str,
    *,
    select_model_run_ids: Iterable[int | str] = (-1,),
    data_format: str = "XTREME1",
    **filters: Any,
) -> ApiCall[str]:
    run_ids = [parse_id(v, "select_model_run_ids") for v in _as_list(select_model_run_ids)]
    if not run_ids:
        warnings.warn(
            "select_model_run_ids is empty: the export will contain data but no annotations "
            "(-1 selects ground truth, other values model run ids).",
            UserWarning,
            stacklevel=3,
        )
    params = {
        **_data_filters(filters),
        **_params(
            datasetId=parse_id(dataset_id, "dataset_id"),
            selectModelRunIds=run_ids or None,
            dataFormat=_choice(data_format, DATA_FORMATS, "data_format"),
        ),
    }
    # A GET that starts a job: repeating it would start a second export.
    return ApiCall("GET", "/data/export", params=params, idempotent=False, parse=_serial_number)


def get_export_records(serial_numbers: Iterable[str] | str) -> ApiCall[list[dict[str, Any]]]:
    params = {"serialNumbers": ",".join(_many(serial_numbers, "serial_numbers", _serial))}
    return ApiCall("GET", "/data/findExportRecordBySerialNumbers", params=params, parse=_records)


def list_models(dataset_type: str | None = None) -> ApiCall[list[dict[str, Any]]]:
    kind = None if dataset_type is None else _choice(dataset_type, MODEL_DATASET_TYPES, "dataset_type")
    return ApiCall("GET", "/model/list", params=_params(datasetType=kind), parse=_records)


def get_model(model_id: int | str) -> ApiCall[dict[str, Any] | None]:
    return ApiCall("GET", f"/model/info/{parse_id(model_id, 'model_id')}", parse=_optional_record)


def _data_filter_param(
    data_count_ratio: int, exclude_model_data: bool, split_type: str | None, annotation_status: str | None
) -> dict[str, Any]:
    if (
        isinstance(data_count_ratio, bool)
        or not isinstance(data_count_ratio, int)
        or not 1 <= data_count_ratio <= 100
    ):
        raise ValueError(
            f"data_count_ratio must be a whole percentage from 1 to 100, got {data_count_ratio!r}"
        )
    param: dict[str, Any] = {
        "dataCountRatio": data_count_ratio,
        "isExcludeModelData": bool(exclude_model_data),
    }
    if split_type is not None:
        param["splitType"] = _choice(split_type, SPLIT_TYPES, "split_type")
    if annotation_status is not None:
        param["annotationStatus"] = _choice(annotation_status, ANNOTATION_STATUSES, "annotation_status")
    return param


def count_model_run_data(
    dataset_id: int | str,
    model_id: int | str,
    *,
    data_count_ratio: int = 100,
    exclude_model_data: bool = False,
    split_type: str | None = None,
    annotation_status: str | None = None,
) -> ApiCall[int]:
    f = _data_filter_param(data_count_ratio, exclude_model_data, split_type, annotation_status)
    params = _params(
        datasetId=parse_id(dataset_id, "dataset_id"),
        modelId=parse_id(model_id, "model_id"),
        isExcludeModelData=f["isExcludeModelData"],
        dataCountRatio=f["dataCountRatio"],
        splitType=f.get("splitType"),
        annotationStatus=f.get("annotationStatus"),
    )
    return ApiCall("GET", "/model/modelRun/dataCount", params=params, parse=_count)


def start_model_run(
    dataset_id: int | str,
    model_id: int | str,
    *,
    classes: Iterable[str],
    min_confidence: float | None = None,
    max_confidence: float | None = None,
    data_count_ratio: int = 100,
    exclude_model_data: bool = False,
    split_type: str | None = None,
    annotation_status: str | None = None,
) -> ApiCall[None]:
    # Without classes the server's result handler fails and the run never ends, so they are required.
    codes = list(dict.fromkeys(str(c).strip() for c in _as_list(classes) if str(c).strip()))
    if not codes:
        raise ValueError("classes must name at least one model class code (e.g. ['CAR', 'PEDESTRIAN'])")
    result_filter: dict[str, Any] = {"classes": codes}
    for name, value in (("minConfidence", min_confidence), ("maxConfidence", max_confidence)):
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise ValueError(f"{name} must be a number from 0 to 1, got {value!r}")
            result_filter[name] = value
    if min_confidence is not None and max_confidence is not None and min_confidence > max_confidence:
        raise ValueError("min_confidence must not exceed max_confidence")
    body = {
        "datasetId": parse_id(dataset_id, "dataset_id"),
        "modelId": parse_id(model_id, "model_id"),
        "resultFilterParam": result_filter,
        "dataFilterParam": _data_filter_param(
            data_count_ratio, exclude_model_data, split_type, annotation_status
        ),
    }
    return ApiCall("POST", "/model/modelRun", json=body, idempotent=False, parse=_nothing)


def find_model_runs(
    model_id: int | str,
    *,
    dataset_ids: Iterable[int | str] | int | str | None = None,
    status: str | None = None,
    asc: bool = False,
    page_no: int = 1,
    page_size: int = 10,
) -> ApiCall[dict[str, Any]]:
    params = _params(
        modelId=parse_id(model_id, "model_id"),
        datasetIds=None if dataset_ids is None else _many(dataset_ids, "dataset_ids", parse_id),
        status=None if status is None else _choice(status, RUN_STATUSES, "status"),
        ascOrDesc="ASC" if asc else "DESC",
        pageNo=_page_number(page_no),
        pageSize=_page_size(page_size),
    )
    return ApiCall("GET", "/modelRun/findModelRunRecordByPage", params=params, parse=_page)


def get_model_runs_of_dataset(dataset_id: int | str) -> ApiCall[list[dict[str, Any]]]:
    path = f"/modelRun/findModelRunRecordByDatasetId/{parse_id(dataset_id, 'dataset_id')}"
    return ApiCall("GET", path, parse=_records)


def get_finished_model_runs(dataset_id: int | str) -> ApiCall[list[dict[str, Any]]]:
    path = f"/modelRun/getDatasetModelRunResult/{parse_id(dataset_id, 'dataset_id')}"
    return ApiCall("GET", path, parse=_records)


def get_raw_annotations(data_ids: Iterable[int | str] | int | str) -> ApiCall[list[dict[str, Any]]]:
    params = _params(dataIds=_many(data_ids, "data_ids", parse_id))
    return ApiCall("GET", "/annotate/data/listByDataIds", params=params, parse=_records)


def get_job_records(
    kind: JobKind | str, ids: Iterable[str | int] | str | int, *, dataset_id: int | str | None = None
) -> ApiCall[dict[str, dict[str, Any]]]:
    """One request returning the records of several jobs of one kind, keyed by ``statuses.job_id``.

    Imports and exports are looked up by serial number; model runs by run id among the runs of
    ``dataset_id`` (required for them). Ids the server does not know are simply absent.
    """
    kind = JobKind(kind)
    wanted = _many(ids, "ids", _serial)
    if kind is JobKind.IMPORT:
        base = get_upload_records(wanted)
    elif kind is JobKind.EXPORT:
        base = get_export_records(wanted)
    else:
        if dataset_id is None:
            raise ValueError("dataset_id is required to look up model runs")
        base = get_model_runs_of_dataset(dataset_id)
    wanted_set = set(wanted)

    def parse(data: Any) -> dict[str, dict[str, Any]]:
        found = {job_id(kind, record): record for record in base.parse(data)}
        return {key: record for key, record in found.items() if key in wanted_set}

    return dataclasses.replace(base, parse=parse)


def find_dataset_by_name(
    name: str, *, page_size: int = 100, max_pages: int = 1000
) -> Generator[ApiCall[Any], Any, dict[str, Any] | None]:
    """A request *flow*: pages through the server's search until the dataset whose name is ``name`` to
    Xtreme1's database (:func:`~airflow_provider_xtreme1.collation.same_name`: case, accents and
    trailing spaces ignored).

    The search is a ``LIKE '%name%'`` in which ``%`` and ``_`` are wildcards and trailing spaces count,
    so it is sent without trailing spaces and its results (a superset) are compared one by one.
    Hooks drive it: each ``yield`` hands out a call and receives its parsed result.
    """
    if not name or not str(name).strip():
        raise ValueError("name must not be empty")
    search = str(name).rstrip(" ")
    for page_no in range(1, max_pages + 1):
        page = yield find_datasets(name=search, page_no=page_no, page_size=page_size)
        items = page.get("list") or []
        for dataset in items:
            if same_name(str(dataset.get("name") or ""), name):
                return dataset
        if not items or page_no * page_size >= int(page.get("total") or 0):
            return None
    return None


def _as_list(values: Any) -> list[Any]:
    if values is None:
        return []
    if isinstance(values, (str, int)):
        return [values]
    return list(values)


def _page_number(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"page_no must be a positive integer, got {value!r}")
    return value


def _page_size(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"page_size must be a positive integer, got {value!r}")
    return value
