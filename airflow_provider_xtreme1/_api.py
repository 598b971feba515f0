"""Everything about the Xtreme1 API's *shape*, with no I/O.

The sync and async hooks only send requests and sleep; what to send, how to read the answer and
whether to try again is decided here, once:

* :class:`ConnectionSettings` — an Airflow connection turned into a base URL, token, TLS and timeouts;
* :class:`ApiCall` — one request (method, path, query, JSON body, whether repeating it is safe, and how
  to parse the ``data`` it returns), built by one function per endpoint (``create_dataset`` …);
* :func:`unwrap` — the ``{"code", "message", "data"}`` envelope: ``code == "OK"`` or an exception, also
  for errors the server reports with HTTP 200 and for bodies that are not JSON at all;
* :func:`transport_failure` — a network failure of either HTTP library turned into
  :class:`~airflow_provider_xtreme1.exceptions.Xtreme1TransportError`, so that
* :class:`RetryPolicy` — one pure predicate — serves both hooks.

Facts about the server cited below are from ``docs/`` (the API specification of the project).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random
import re
import time
import urllib.parse
import warnings
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Generic, TypeVar

from airflow_provider_xtreme1 import layout
from airflow_provider_xtreme1.exceptions import (
    Xtreme1ApiError,
    Xtreme1AuthError,
    Xtreme1ConfigError,
    Xtreme1Error,
    Xtreme1NotFoundError,
    Xtreme1TransportError,
)
from airflow_provider_xtreme1.layout import SAFE_NAME_RE
from airflow_provider_xtreme1.statuses import JobKind, job_id

T = TypeVar("T")

API_PREFIX = "/api"
DEFAULT_READ_TIMEOUT = 60.0
DEFAULT_CONNECT_TIMEOUT = 10.0

DATASET_TYPES = frozenset(layout.DATASET_TYPES)
MODEL_DATASET_TYPES = DATASET_TYPES | {"LIDAR"}
IMPORT_SOURCES = frozenset({"LOCAL", "URL"})
RESULT_TYPES = frozenset({"GROUND_TRUTH", "MODEL_RUN"})
DATA_FORMATS = frozenset({"XTREME1", "COCO"})
ANNOTATION_STATUSES = frozenset({"ANNOTATED", "NOT_ANNOTATED", "INVALID"})
SPLIT_TYPES = frozenset({"TRAINING", "VALIDATION", "TEST", "NOT_SPLIT"})
RUN_STATUSES = frozenset({"STARTED", "RUNNING", "SUCCESS", "SUCCESS_WITH_ERROR", "FAILURE"})

#: Envelope codes meaning "this does not exist".
NOT_FOUND_CODES = frozenset({"NOT_FOUND", "DATASET_NOT_FOUND", "DATASET__NOT_EXIST", "MODEL_DOES_NOT_EXIST"})
#: HTTP statuses worth trying again: rate limiting and gateways (nginx in front of the backend).
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})

_SERIAL_FIELDS = ("serialNumber", "modelSerialNo")
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


# --------------------------------------------------------------------------------------------------
# Connection settings
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectionSettings:
    """What the hooks need from an Airflow connection, checked once.

    :param conn_id: the Airflow connection id (for messages).
    :param base_url: API root including the ``/api`` prefix, e.g. ``http://x1:8190/api``.
    :param token: the bearer token (never shown in ``repr``).
    :param verify: ``True``/``False`` or the path of a CA bundle.
    :param connect_timeout: seconds to establish a connection.
    :param read_timeout: seconds to wait for an answer.
    :param web_url: root of the web app, for links.
    """

    conn_id: str
    base_url: str
    token: str = field(repr=False)
    verify: bool | str = True
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    read_timeout: float = DEFAULT_READ_TIMEOUT
    web_url: str = ""

    @classmethod
    def from_connection(cls, conn: Any, *, timeout: float | None = None) -> ConnectionSettings:
        """Read an Airflow ``Connection`` (no I/O).

        ``host`` may be a full URL (``http://x1:8190``, optionally ending in ``/api``) or a bare host
        name with ``schema`` (``http``/``https``) and ``port``. The token is the password. Extras:
        ``verify`` (bool, or a CA-bundle path), ``ca_bundle`` (path), ``timeout`` (read timeout in
        seconds, default 60) and ``web_url``. ``timeout`` given here wins over the extra.
        """
        conn_id = str(getattr(conn, "conn_id", None) or "?")
        extra = _extra_of(conn, conn_id)
        root = _root_url(conn, conn_id)
        token = _token_of(conn, conn_id)
        read_timeout = _timeout_of(timeout if timeout is not None else extra.get("timeout"), conn_id)
        web_url = str(extra.get("web_url") or "").strip().rstrip("/")
        if web_url and urllib.parse.urlsplit(web_url).scheme not in ("http", "https"):
            raise Xtreme1ConfigError(
                f"Connection {conn_id!r}: extra 'web_url' must be an http(s) URL, got {web_url!r}."
            )
        return cls(
            conn_id=conn_id,
            base_url=root + API_PREFIX,
            token=token,
            verify=_verify_of(extra, conn_id),
            connect_timeout=DEFAULT_CONNECT_TIMEOUT,
            read_timeout=read_timeout,
            web_url=web_url or root,
        )

    def url(self, path: str) -> str:
        """The absolute URL of an API path such as ``/dataset/info/1``."""
        return self.base_url + path

    def dataset_url(self, dataset_id: int | str) -> str:
        """Link to a dataset's data page in the web app (``/#/datasets/data?id=<id>``).

        The path is where the web app itself goes after creating a dataset (frontend ``RouteChildEnum
        .DATASETS_DATA + '?id=' + id``); the app uses hash routing.
        """
        return f"{self.web_url}/#/datasets/data?id={parse_id(dataset_id, 'dataset_id')}"


def _extra_of(conn: Any, conn_id: str) -> Mapping[str, Any]:
    try:
        extra = getattr(conn, "extra_dejson", None) or {}
    except Exception as err:  # malformed JSON in the extra field
        raise Xtreme1ConfigError(
            f"Connection {conn_id!r}: the extra field is not valid JSON ({err})."
        ) from None
    if not isinstance(extra, Mapping):
        raise Xtreme1ConfigError(f"Connection {conn_id!r}: the extra field must be a JSON object.")
    return extra


def _root_url(conn: Any, conn_id: str) -> str:
    host = str(getattr(conn, "host", None) or "").strip()
    if not host:
        raise Xtreme1ConfigError(
            f"Connection {conn_id!r} has no host: set it to the Xtreme1 URL, e.g. http://xtreme1.example.com:8190"
        )
    if "://" not in host:
        scheme = str(getattr(conn, "schema", None) or "http").strip().lower()
        if scheme not in ("http", "https"):
            raise Xtreme1ConfigError(
                f"Connection {conn_id!r}: schema must be 'http' or 'https' (or put the scheme in the host), "
                f"got {scheme!r}."
            )
        host = f"{scheme}://{host}"
    parts = urllib.parse.urlsplit(host)
    try:
        port = parts.port
    except ValueError:
        raise Xtreme1ConfigError(f"Connection {conn_id!r}: invalid port in host {host!r}.") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise Xtreme1ConfigError(f"Connection {conn_id!r}: host {host!r} is not an http(s) URL.")
    if parts.query or parts.fragment:
        raise Xtreme1ConfigError(f"Connection {conn_id!r}: host {host!r} must not carry a query or fragment.")
    netloc = parts.netloc
    conn_port = getattr(conn, "port", None)
    if port is None and conn_port:
        netloc = f"{netloc}:{int(conn_port)}"
    path = parts.path.rstrip("/")
    if path.endswith(API_PREFIX):
        path = path[: -len(API_PREFIX)]
    return f"{parts.scheme.lower()}://{netloc}{path}"


def _token_of(conn: Any, conn_id: str) -> str:
    token = re.sub(r"(?i)^bearer(\s+|$)", "", str(getattr(conn, "password", None) or "").strip()).strip()
    if not token:
        raise Xtreme1ConfigError(
            f"Connection {conn_id!r} has no API token: put the token from the API token page of the "
            "Xtreme1 web app into the connection's password field."
        )
    return token


def _timeout_of(value: Any, conn_id: str) -> float:
    if value is None or value == "":
        return DEFAULT_READ_TIMEOUT
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1.0
    if isinstance(value, bool) or not seconds > 0:
        raise Xtreme1ConfigError(
            f"Connection {conn_id!r}: timeout must be a positive number of seconds (the hook argument "
            f"'timeout' or the extra 'timeout'), got {value!r}."
        )
    return seconds


def _verify_of(extra: Mapping[str, Any], conn_id: str) -> bool | str:
    raw = extra.get("verify", True)
    if raw is None:
        raw = True
    elif isinstance(raw, str):
        low = raw.strip().lower()
        if low in _TRUE or low == "":
            raw = True
        elif low in _FALSE:
            raw = False
        else:
            raw = raw.strip()  # a CA bundle path, as requests accepts it
    elif not isinstance(raw, bool):
        raise Xtreme1ConfigError(
            f"Connection {conn_id!r}: extra 'verify' must be true, false or a CA bundle path, got {raw!r}."
        )
    if raw is False:
        return False
    ca_bundle = str(extra.get("ca_bundle") or "").strip()
    return ca_bundle or raw


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
        if call.idempotent or err.status not in _MAYBE_FORWARDED:
            raise
        error = Xtreme1TransportError(
            f"{err}{_MAY_HAVE_ACTED}", status=err.status, retry_after=err.retry_after
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


def create_dataset(name: str, dataset_type: str, description: str | None = None) -> ApiCall[dict[str, Any]]:
    if not name or not str(name).strip():
        raise ValueError("name must not be empty")
    body = {"name": name, "type": _choice(dataset_type, DATASET_TYPES, "dataset_type")}
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
    codes = [str(c).strip() for c in _as_list(classes) if str(c).strip()]
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
    """A request *flow*: pages through the server's LIKE search until a dataset named exactly ``name``.

    Hooks drive it: each ``yield`` hands out a call and receives its parsed result.
    """
    if not name:
        raise ValueError("name must not be empty")
    for page_no in range(1, max_pages + 1):
        page = yield find_datasets(name=name, page_no=page_no, page_size=page_size)
        items = page.get("list") or []
        for dataset in items:
            if dataset.get("name") == name:
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


# --------------------------------------------------------------------------------------------------
# The envelope
# --------------------------------------------------------------------------------------------------

_REDACTIONS = (
    (re.compile(r"(?i)\bbearer\s+[^\s\"',;]+"), "Bearer ***"),
    (re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+\.?[A-Za-z0-9_-]*"), "***"),  # JWTs
    (re.compile(r"(?i)(X-Amz-(?:Signature|Credential|Security-Token)=)[^&\s\"'<]+"), r"\1***"),
    (re.compile(r"(?i)(\b(?:access_?|api_?)?token[\"']?\s*[=:]\s*[\"']?)[^&\s\"',}<]+"), r"\1***"),
    (re.compile(r"[A-Za-z0-9+/_-]{40,}={0,2}"), "***"),  # long opaque strings (keys, signatures)
)


def redact(text: str) -> str:
    """Remove anything that looks like a token or a signature from ``text``."""
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


def snippet(body: bytes | str, limit: int = 200) -> str:
    """A short, single-line, redacted excerpt of a response body for error messages."""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    if re.search(r"(?i)<(html|head|body|title|center|h1)\b", text):
        text = re.sub(r"<[^>]*>", " ", text)
    text = redact(" ".join(text.split()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def unwrap(
    endpoint: str, http_status: int, content_type: str, body: bytes, *, retry_after: float | None = None
) -> Any:
    """Return the ``data`` of an Xtreme1 envelope or raise what went wrong.

    * HTTP 429/502/503/504 → :class:`Xtreme1TransportError` (retryable; ``retry_after`` kept);
    * an empty body or one that is not JSON (a proxy's HTML page) → :class:`Xtreme1TransportError`;
    * HTTP 401 or code ``LOGIN_STATUS_TIMEOUT`` → :class:`Xtreme1AuthError`;
    * any other code than ``OK`` — also with HTTP 200 — → :class:`Xtreme1ApiError`
      (:class:`Xtreme1NotFoundError` for the "does not exist" codes);
    * ``OK`` with an HTTP error status (Spring's error page wrapped in the envelope) → an API error too.

    The body is parsed as JSON whatever the ``Content-Type`` (string results come as ``text/plain``).
    """
    where = f"Xtreme1 {endpoint}"
    if http_status in RETRYABLE_STATUSES:
        wait = f", Retry-After {retry_after:g} s" if retry_after is not None else ""
        raise Xtreme1TransportError(
            f"{where}: HTTP {http_status}{wait}: {snippet(body) or '(empty body)'}",
            status=http_status,
            retry_after=retry_after,
        )
    envelope: Any = None
    if body.strip():
        try:
            envelope = json.loads(body.decode("utf-8", errors="replace"))
        except ValueError:
            envelope = None
    if not isinstance(envelope, dict) or "code" not in envelope:
        if http_status == 401:
            raise Xtreme1AuthError("HTTP_401", snippet(body), http_status=http_status, endpoint=endpoint)
        if not body.strip():
            raise Xtreme1TransportError(
                f"{where}: empty response body (HTTP {http_status}). The server or a proxy in front of it "
                "failed before answering; check that the backend can reach its database.",
                status=http_status,
            )
        kind = "is not JSON" if envelope is None else "is JSON but not an Xtreme1 envelope"
        raise Xtreme1TransportError(
            f"{where}: the HTTP {http_status} answer ({content_type or 'no content type'}) {kind}; "
            f"is the connection's host the Xtreme1 URL (port 8190)? Body: {snippet(body)}",
            status=http_status,
        )
    code = str(envelope.get("code"))
    message = redact(str(envelope.get("message") or ""))
    if http_status == 401 or code == "LOGIN_STATUS_TIMEOUT":
        raise Xtreme1AuthError(code, message, http_status=http_status, endpoint=endpoint)
    if code != "OK":
        error = Xtreme1NotFoundError if code in NOT_FOUND_CODES else Xtreme1ApiError
        raise error(code, message, http_status=http_status, endpoint=endpoint)
    if http_status >= 400:
        data = envelope.get("data")
        detail = snippet(json.dumps(data)) if data is not None else "no details"
        error = Xtreme1NotFoundError if http_status == 404 else Xtreme1ApiError
        raise error(f"HTTP_{http_status}", detail, http_status=http_status, endpoint=endpoint)
    return envelope.get("data")


# --------------------------------------------------------------------------------------------------
# Transport failures and retries
# --------------------------------------------------------------------------------------------------

#: Gateway answers that may come after the backend got the request.
_MAYBE_FORWARDED = frozenset({502, 504})
_MAY_HAVE_ACTED = (
    ". The request was sent, so the server may have processed it; it is not repeated automatically "
    "because that could act twice (a second import, export, model run or dataset). Check Xtreme1 "
    "before retrying."
)

#: Where a request failed: before the server could have seen it, after it was sent, or in TLS.
CONNECT, SENT, READ_TIMEOUT, TLS = "connect", "sent", "read_timeout", "tls"


def transport_failure(call: ApiCall[Any], phase: str, detail: str) -> Xtreme1TransportError:
    """The error for a request that got no answer, with ``retryable`` set for :class:`RetryPolicy`.

    :param phase: ``"connect"`` (nothing reached the server), ``"sent"`` (the connection broke after the
        request went out), ``"read_timeout"`` (no answer in time) or ``"tls"`` (certificate problem).
    """
    where = f"Xtreme1 {call.endpoint}"
    detail = snippet(detail, 300)
    retryable = True
    if phase == TLS:
        message = (
            f"{where}: TLS handshake failed ({detail}). Check the connection's 'verify' / 'ca_bundle' extras."
        )
        retryable = False
    elif phase == CONNECT:
        message = f"{where}: cannot connect ({detail})"
    else:
        what = "no answer within the read timeout" if phase == READ_TIMEOUT else "the connection broke"
        message = f"{where}: {what} ({detail})"
        if not call.idempotent:
            retryable = False
            message += _MAY_HAVE_ACTED
    error = Xtreme1TransportError(message)
    error.retryable = retryable  # type: ignore[attr-defined]
    return error


def is_retryable(error: BaseException) -> bool:
    """Whether ``error`` is of a kind worth repeating the request for (ignores attempt counts)."""
    if not isinstance(error, Xtreme1TransportError) or not getattr(error, "retryable", True):
        return False
    return error.status is None or error.status in RETRYABLE_STATUSES


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before repeating a failed request.

    Retried: connection failures, 429 and 502/503/504; for idempotent calls also read timeouts and
    connections dropped mid-answer. Never retried: envelope errors (also at HTTP 500 ``UNKNOWN``), 401,
    TLS failures, and calls that start something once they may have reached the server (read timeout,
    dropped connection, 502/504 from the proxy — :func:`transport_failure` and :func:`handle` mark those).

    :param max_retries: retries after the first attempt.
    :param backoff: first backoff in seconds; doubles per retry ("full jitter": a random wait up to it).
    :param max_backoff: cap of one backoff.
    :param max_elapsed: no retry would start later than this many seconds after the first attempt.
    :param max_retry_after: longest ``Retry-After`` honoured; a longer one ends the retries.
    :param jitter: randomise backoffs (turn off for predictable waits).
    :param random: source of randomness in [0, 1), for tests.
    """

    max_retries: int = 4
    backoff: float = 1.0
    max_backoff: float = 30.0
    max_elapsed: float = 300.0
    max_retry_after: float = 120.0
    jitter: bool = True
    random: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if (
            self.max_retries < 0
            or min(self.backoff, self.max_backoff, self.max_elapsed, self.max_retry_after) < 0
        ):
            raise ValueError("RetryPolicy values must not be negative")

    def next_delay(self, attempt: int, error: BaseException, elapsed: float) -> float | None:
        """Seconds to wait before the next attempt, or ``None`` to give up and raise ``error``.

        :param attempt: how many attempts have failed so far (1 after the first failure).
        :param error: the error of the last attempt.
        :param elapsed: seconds since the first attempt started.
        """
        if attempt > self.max_retries or not is_retryable(error):
            return None
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            if retry_after > self.max_retry_after:
                return None
            delay = float(retry_after)
        else:
            cap = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
            delay = cap * self.random() if self.jitter else cap
        if elapsed + delay > self.max_elapsed:
            return None
        return delay


#: For calls that must answer quickly or not at all (``test_connection``).
NO_RETRY = RetryPolicy(max_retries=0)


class Retrier:
    """Counts the attempts of one call and turns each failure into a wait or a raise."""

    def __init__(
        self,
        policy: RetryPolicy,
        call: ApiCall[Any],
        log: logging.Logger | logging.LoggerAdapter[Any],
        clock: Callable[[], float] = time.monotonic,
    ):
        self.policy = policy
        self.call = call
        self.log = log
        self.clock = clock
        self.started = clock()
        self.failures = 0

    def delay_or_raise(self, error: Xtreme1Error) -> float:
        """The seconds to sleep before trying again; re-raises ``error`` when the policy says stop."""
        self.failures += 1
        delay = self.policy.next_delay(self.failures, error, self.clock() - self.started)
        if delay is None:
            raise error
        self.log.warning(
            "Xtreme1 %s failed (attempt %d of %d), retrying in %.1f s: %s",
            self.call.endpoint,
            self.failures,
            self.policy.max_retries + 1,
            delay,
            error,
        )
        return delay
