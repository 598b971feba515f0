"""Hooks for the Xtreme1 API: :class:`Xtreme1Hook` (requests) and :class:`Xtreme1AsyncHook` (httpx).

Both twins have the same methods with the same names and results. Each method is a thin shell —
build the call (``_api``), send it, unwrap the envelope (``_responses``) — so only sending and sleeping
differ between them.

Not built on ``apache-airflow-providers-http`` (no longer a dependency). Subclassing its ``HttpHook``, as
the dbt Cloud provider does, would delete only host/schema/port parsing and the ``verify``/``timeout``
extras (part of ``_connection.py``), and would cost behaviour this hook keeps: ``HttpHook`` is
requests-only, so the async twin (httpx, for triggers) would still need its own connection handling;
it opens a session per call (we keep one keep-alive session and reuse one TLS context); it retries
without ``Retry-After`` and re-sends unrewound bodies; it follows redirects (we refuse them, so a
request carrying the token never moves); it turns unknown extras into headers and logs whole error
bodies at ERROR (we unwrap Xtreme1's envelope and scrub the token from every error). Its
``test_connection`` POSTs to the base URL; ours asks ``/user/logged``. Nothing of ``HttpHook`` would be
used, so nothing of it is imported.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Generator, Iterable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import requests
import urllib3.exceptions
from airflow.providers.common.compat.connection import get_async_connection
from airflow.sdk import BaseHook

from airflow_provider_xtreme1 import __version__, _api
from airflow_provider_xtreme1._calls import ApiCall, RawResponse
from airflow_provider_xtreme1._connection import ConnectionSettings
from airflow_provider_xtreme1._responses import (
    CONNECT,
    READ_TIMEOUT,
    REDIRECT_STATUSES,
    SENT,
    TLS,
    handle,
    is_retryable,
    parse_retry_after,
    redact,
    redirect_refusal,
    scrub_secret,
    transport_failure,
)
from airflow_provider_xtreme1._tls import ssl_context
from airflow_provider_xtreme1.exceptions import (
    Xtreme1ApiError,
    Xtreme1AuthError,
    Xtreme1ConfigError,
    Xtreme1Error,
    Xtreme1TransportError,
)
from airflow_provider_xtreme1.hooks._annotation import AnnotationMethods, AsyncAnnotationMethods
from airflow_provider_xtreme1.hooks._ontology_center import AsyncOntologyCenterMethods, OntologyCenterMethods
from airflow_provider_xtreme1.records import (
    DataAnnotations,
    DataInfo,
    Dataset,
    DatasetClass,
    ExportRecord,
    FinishedModelRuns,
    Model,
    ModelRunRecord,
    Page,
    PresignedUrl,
    UploadRecord,
    User,
)
from airflow_provider_xtreme1.retries import NO_RETRY, RetryPolicy, acall_with_retries, call_with_retries
from airflow_provider_xtreme1.statuses import JobKind

T = TypeVar("T")

# The web UI's Accept header; string results (serial numbers) may then come back as text/plain.
_ACCEPT = "application/json, text/plain, */*"


class _Xtreme1HookBase(BaseHook):
    """What both twins share: identity, arguments and the connection settings slot."""

    conn_name_attr = "xtreme1_conn_id"
    default_conn_name = "xtreme1_default"
    conn_type = "xtreme1"
    hook_name = "Xtreme1"

    def __init__(
        self,
        xtreme1_conn_id: str = default_conn_name,
        *,
        request_timeout: float | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        super().__init__()
        if request_timeout is not None and (isinstance(request_timeout, bool) or not request_timeout > 0):
            raise ValueError(f"request_timeout must be a positive number of seconds, got {request_timeout!r}")
        self.xtreme1_conn_id = xtreme1_conn_id
        self.request_timeout = request_timeout
        self.retry_policy = retry_policy or RetryPolicy()
        # Filled once, by the sync lookup (Xtreme1Hook) or the async one (Xtreme1AsyncHook).
        self._settings: ConnectionSettings | None = None

    def _load_settings(self, conn: Any) -> ConnectionSettings:
        self._settings = ConnectionSettings.from_connection(conn, request_timeout=self.request_timeout)
        try:
            from airflow.sdk.log import mask_secret

            mask_secret(self._settings.token)  # task logs show *** wherever the token appears
        except ImportError:  # pragma: no cover - Airflow is a dependency
            pass
        return self._settings

    def _scrubbed(self, error: Xtreme1Error) -> Xtreme1Error:
        """``error`` without the exact token text (a server may echo it in its message)."""
        scrub_secret(error, self._settings.token if self._settings else None)
        return error

    @staticmethod
    def _headers(settings: ConnectionSettings, library: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {settings.token}",
            "User-Agent": f"airflow-provider-xtreme1/{__version__} (+{library})",
            "Accept": _ACCEPT,
        }

    def _log_request(self, settings: ConnectionSettings, call: ApiCall[Any]) -> None:
        self.log.debug("Xtreme1 %s %s params=%s", call.method, settings.url(call.path), dict(call.params))

    def _log_response(self, call: ApiCall[Any], status: int, started: float) -> None:
        self.log.debug("Xtreme1 %s -> HTTP %d in %.3f s", call.endpoint, status, time.monotonic() - started)


class Xtreme1Hook(AnnotationMethods, OntologyCenterMethods, _Xtreme1HookBase):
    """Talk to the Xtreme1 API from tasks (blocking; ``requests``).

    The connection (type ``xtreme1``) holds the Xtreme1 URL in *Host* (``http://x1:8190``, or a host
    name with *Schema* and *Port*; ``/api`` is appended) and an API token in *Password*. Extras:
    ``verify`` (default true, or a CA bundle path), ``ca_bundle``, ``request_timeout`` (read timeout, default
    60 s; connecting may take 10 s) and ``web_url`` (for links, if the web app lives elsewhere).

    Every answer is checked by its envelope ``code``, not its HTTP status: Xtreme1 reports most errors
    with HTTP 200. Failures raise :class:`~airflow_provider_xtreme1.exceptions.Xtreme1ApiError` and its
    subclasses, or :class:`~airflow_provider_xtreme1.exceptions.Xtreme1TransportError` when no usable
    answer arrived. Connection failures, 429 (honouring ``Retry-After``) and 502/503/504 are retried with
    exponential backoff (``retry_policy``); a request that starts something (import, export, model run,
    dataset create/delete) is never repeated once it may have reached the server.

    Why not a subclass of the HTTP provider's ``HttpHook``: its retry wrapper re-sends a file body
    without rewinding it (the second attempt uploads 0 bytes), it prefixes every endpoint with the
    connection's base URL (absolute presigned object-storage URLs become ``http://host/https://…``),
    and it attaches the connection's auth to every request, so the API token would travel to object
    storage. It also turns unknown extras into HTTP headers and opens a new session per call. This hook
    instead keeps one keep-alive session that only ever talks to the API, and reuses what
    ``HttpHook`` gets right: host/schema/port parsing, the ``verify``/``timeout`` extras, connection
    retries with backoff (plus ``Retry-After``, which ``HttpHook`` ignores).

    :param xtreme1_conn_id: the Airflow connection id.
    :param request_timeout: read timeout in seconds for API calls; overrides the ``request_timeout`` extra.
    :param retry_policy: when to retry failed requests
        (default: :class:`~airflow_provider_xtreme1.retries.RetryPolicy` ``()``).
    """

    def __init__(
        self,
        xtreme1_conn_id: str = _Xtreme1HookBase.default_conn_name,
        *,
        request_timeout: float | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        super().__init__(xtreme1_conn_id, request_timeout=request_timeout, retry_policy=retry_policy)
        self._session: requests.Session | None = None

    # -- plumbing ---------------------------------------------------------------------------------

    @property
    def settings(self) -> ConnectionSettings:
        """The connection's settings, looked up once per hook."""
        if self._settings is None:
            self._load_settings(self.get_connection(self.xtreme1_conn_id))
        assert self._settings is not None
        return self._settings

    def get_conn(self) -> requests.Session:
        """The keep-alive API session (bearer token set). Use it for API URLs only."""
        if self._session is None:
            _check_ca_bundle(self.settings)
            session = requests.Session()
            session.headers.update(self._headers(self.settings, "requests"))
            self._session = session
        return self._session

    def close(self) -> None:
        """Close the session's connections (the hook can still be used; a new session opens)."""
        if self._session is not None:
            self._session.close()
            self._session = None

    def __enter__(self) -> Xtreme1Hook:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _send(self, call: ApiCall[Any], timeout: tuple[float, float] | None = None) -> RawResponse:
        settings = self.settings
        session = self.get_conn()
        self._log_request(settings, call)
        started = time.monotonic()
        try:
            response = session.request(
                call.method,
                settings.url(call.path),
                params=dict(call.params) or None,
                json=call.json,
                timeout=timeout or (settings.connect_timeout, settings.read_timeout),
                verify=settings.verify,
                allow_redirects=False,
            )
            body = response.content
        except requests.exceptions.SSLError as err:
            raise transport_failure(call, TLS, str(err)) from None
        except requests.exceptions.ConnectTimeout as err:
            raise transport_failure(call, CONNECT, str(err)) from None
        except requests.exceptions.ReadTimeout as err:
            raise transport_failure(call, READ_TIMEOUT, str(err)) from None
        except requests.exceptions.ConnectionError as err:
            raise transport_failure(call, _requests_phase(err), str(err)) from None
        except requests.exceptions.RequestException as err:  # broken chunked body, redirect loop, …
            raise transport_failure(call, SENT, f"{type(err).__name__}: {err}") from None
        self._log_response(call, response.status_code, started)
        if response.status_code in REDIRECT_STATUSES:
            raise redirect_refusal(call, response.status_code, response.headers.get("Location"))
        return RawResponse(
            status=response.status_code,
            content_type=response.headers.get("Content-Type", ""),
            body=body,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )

    def _request(
        self,
        call: ApiCall[T],
        *,
        timeout: tuple[float, float] | None = None,
        policy: RetryPolicy | None = None,
    ) -> T:

        def attempt() -> T:
            try:
                return handle(call, self._send(call, timeout))
            except Xtreme1Error as err:
                self._scrubbed(err)  # in place: a server may echo the token
                raise

        return call_with_retries(
            attempt,
            policy=policy or self.retry_policy,
            retryable=is_retryable,
            what=f"Xtreme1 {call.endpoint}",
            log=self.log,
        )

    def _drive(self, flow: Generator[ApiCall[Any], Any, T]) -> T:
        try:
            call = next(flow)
            while True:
                call = flow.send(self._request(call))
        except StopIteration as done:
            return done.value

    # -- connection check and links ---------------------------------------------------------------

    def test_connection(self) -> tuple[bool, str]:
        """Check URL and token with ``GET /user/logged`` (short timeout, no retries). Never raises.

        The UI's *Test* button runs this on a copy of the connection under a random temporary id, so
        messages speak of "the connection", never of that id.
        """

        def plain(err: Exception) -> str:
            return str(err).replace(f"Connection {self.xtreme1_conn_id!r}", "The connection")

        try:
            settings = self.settings
        except Xtreme1ConfigError as err:
            return False, plain(err)
        except Exception as err:
            return False, f"Cannot read the connection: {redact(str(err))}"
        where = f"Xtreme1 at {settings.base_url}"
        try:
            user = self._request(
                _api.current_user(), timeout=(5.0, min(settings.read_timeout, 10.0)), policy=NO_RETRY
            )
        except Xtreme1ConfigError as err:
            return False, plain(err)
        except Xtreme1AuthError:
            return False, (
                f"{where} rejected the API token (HTTP 401). Put a valid token from the API token page of "
                "the web app into the connection's password; it may have been deleted or have expired."
            )
        except Xtreme1TransportError as err:
            if err.status is None:
                return False, f"Cannot reach {where}: {err}"
            return False, f"{where} did not answer like Xtreme1: {err}"
        except Xtreme1ApiError as err:
            return False, f"{where} refused the check: {err}"
        except Exception as err:
            return False, f"Testing {where} failed: {type(err).__name__}: {redact(str(err))}"
        name = user.get("username") or user.get("nickname") or f"user {user.get('id')}"
        return True, f"Connected to {where} as {name}."

    def dataset_url(self, dataset_id: int | str) -> str:
        """Link to the dataset in the Xtreme1 web app (``web_url`` extra, else the connection's URL)."""
        return self.settings.dataset_url(dataset_id)

    # -- API ----------------------------------------------------------------------------------------

    def get_current_user(self) -> User:
        """The user the token belongs to (``GET /user/logged``)."""
        return self._request(_api.current_user())

    def create_dataset(self, name: str, dataset_type: str, description: str | None = None) -> Dataset:
        """Create a dataset. ``dataset_type``: ``LIDAR_FUSION``, ``LIDAR_BASIC``, ``IMAGE`` or ``TEXT``.

        Not retried once sent. A taken name raises ``Xtreme1ApiError`` with code ``DATASET_NAME_DUPLICATED``.
        """
        return self._request(_api.create_dataset(name, dataset_type, description))

    def get_dataset(self, dataset_id: int | str) -> Dataset:
        """One dataset; ``Xtreme1NotFoundError`` if it does not exist."""
        return self._request(_api.get_dataset(dataset_id))

    def find_datasets(
        self, name: str | None = None, dataset_type: str | None = None, page_no: int = 1, page_size: int = 10
    ) -> Page[Dataset]:
        """One page of datasets; ``name`` matches as a substring (SQL LIKE)."""
        return self._request(_api.find_datasets(name, dataset_type, page_no, page_size))

    def find_dataset_by_name(self, name: str) -> Dataset | None:
        """The dataset named exactly ``name`` (pages through the substring search), or ``None``."""
        return self._drive(_api.find_dataset_by_name(name))

    def delete_dataset(self, dataset_id: int | str) -> None:
        """Delete a dataset (soft delete; its data go asynchronously). Not retried once sent."""
        return self._request(_api.delete_dataset(dataset_id))

    def get_dataset_classes(self, dataset_id: int | str) -> list[DatasetClass]:
        """The dataset's classes; imported results bind to them by ``id``."""
        return self._request(_api.get_dataset_classes(dataset_id))

    # -- a dataset's ontology and data clean-up (builders in _api.ontology) -----------------------

    def create_dataset_class(self, dataset_id: int | str, fields: dict[str, Any]) -> None:
        """Add a class (``name``, ``color``, ``toolType``, ``toolTypeOptions``, ``attributes``) to a
        dataset. Not retried once sent; the answer has no id (read :meth:`get_dataset_classes`)."""
        return self._request(_api.create_dataset_class(dataset_id, fields))

    def update_dataset_class(
        self, dataset_id: int | str, class_id: int | str, fields: dict[str, Any]
    ) -> None:
        """Replace a dataset class's name, colour, tool type, options and attributes."""
        return self._request(_api.update_dataset_class(dataset_id, class_id, fields))

    def delete_dataset_class(self, class_id: int | str) -> None:
        """Delete a dataset class. The server neither refuses nor unbinds objects that use it."""
        return self._request(_api.delete_dataset_class(class_id))

    def get_dataset_classifications(self, dataset_id: int | str) -> list[dict[str, Any]]:
        """The dataset's classifications (``name``, ``inputType``, ``isRequired``, ``attribute``)."""
        return self._request(_api.get_dataset_classifications(dataset_id))

    def create_dataset_classification(self, dataset_id: int | str, fields: dict[str, Any]) -> None:
        """Add a classification to a dataset (only its ``attribute`` holds options). Not retried once sent."""
        return self._request(_api.create_dataset_classification(dataset_id, fields))

    def update_dataset_classification(
        self, dataset_id: int | str, classification_id: int | str, fields: dict[str, Any]
    ) -> None:
        """Replace a dataset classification's fields."""
        return self._request(_api.update_dataset_classification(dataset_id, classification_id, fields))

    def delete_dataset_classification(self, classification_id: int | str) -> None:
        """Delete a dataset classification."""
        return self._request(_api.delete_dataset_classification(classification_id))

    def get_class_statistics(self, dataset_id: int | str) -> dict[str, Any]:
        """Objects per class of a dataset (``classUnits``) and per tool type (``toolTypeUnits``)."""
        return self._request(_api.get_class_statistics(dataset_id))

    def delete_data(self, dataset_id: int | str, data_ids: Iterable[int | str]) -> None:
        """Delete data items (scenes with their frames). All or nothing: ``Xtreme1ApiError`` with code
        ``DATASET_DATA_OTHERS_ANNOTATING`` when any of them is locked. Not retried once sent."""
        return self._request(_api.delete_data(dataset_id, data_ids))

    def get_presigned_upload_url(self, dataset_id: int | str, file_name: str) -> PresignedUrl:
        """Where to PUT an archive (``presignedUrl``) and the URL to import it from (``accessUrl``).

        :param file_name: plain name such as ``batch-01.zip`` (letters, digits, ``._-``; ``.zip`` is the
            format the server reliably accepts).
        """
        return self._request(_api.get_presigned_upload_url(dataset_id, file_name))

    def start_import(
        self,
        dataset_id: int | str,
        file_url: str,
        *,
        source: str = "LOCAL",
        result_type: str | None = None,
        model_id: int | str | None = None,
        data_format: str | None = None,
    ) -> str:
        """Start importing an uploaded archive; returns the import's serial number.

        :param file_url: the ``accessUrl`` of :meth:`get_presigned_upload_url`, or a URL the server can GET.
        :param source: ``LOCAL`` or ``URL``.
        :param result_type: ``GROUND_TRUTH`` or ``MODEL_RUN`` to import ``result/`` files (ignored otherwise).
        :param model_id: the model the results belong to (required with ``MODEL_RUN``).
        :param data_format: ``XTREME1`` or ``COCO``.

        Problems with the archive are not errors here: they show in the upload record, so always wait
        on it (:meth:`get_upload_records`). Not retried once sent.
        """
        return self._request(
            _api.start_import(
                dataset_id,
                file_url,
                source=source,
                result_type=result_type,
                model_id=model_id,
                data_format=data_format,
            )
        )

    def get_upload_records(self, serial_numbers: Iterable[str] | str) -> list[UploadRecord]:
        """Progress of imports; unknown serial numbers are silently missing from the list."""
        return self._request(_api.get_upload_records(serial_numbers))

    def find_data(
        self, dataset_id: int | str, *, page_no: int = 1, page_size: int = 10, **filters: Any
    ) -> Page[DataInfo]:
        """One page of a dataset's data items (root items and scenes; ``parent_id=<scene>`` for frames).

        :param filters: ``DataInfoQueryDTO`` fields in snake_case or camelCase, e.g. ``name``,
            ``parent_id``, ``ids``, ``annotation_status``, ``split_type``, ``sort_field`` + ``asc_or_desc``.
        """
        return self._request(_api.find_data(dataset_id, page_no=page_no, page_size=page_size, **filters))

    def start_export(
        self,
        dataset_id: int | str,
        *,
        select_model_run_ids: Iterable[int | str] = (-1,),
        data_format: str = "XTREME1",
        **filters: Any,
    ) -> str:
        """Start an export; returns its serial number. Not retried once sent.

        :param select_model_run_ids: result sources: ``-1`` = ground truth, others = model run ids
            (see :meth:`get_finished_model_runs`). Empty exports no annotations at all.
        :param data_format: ``XTREME1`` or ``COCO`` (image datasets only).
        :param filters: the same filters as :meth:`find_data` (``ids`` restricts to data ids).
        """
        return self._request(
            _api.start_export(
                dataset_id, select_model_run_ids=select_model_run_ids, data_format=data_format, **filters
            )
        )

    def get_export_records(self, serial_numbers: Iterable[str] | str) -> list[ExportRecord]:
        """Progress of exports; ``filePath`` (a presigned download URL) is set once ``COMPLETED``."""
        return self._request(_api.get_export_records(serial_numbers))

    def list_models(self, dataset_type: str | None = None) -> list[Model]:
        """Models, optionally those usable on a dataset type."""
        return self._request(_api.list_models(dataset_type))

    def get_model(self, model_id: int | str) -> Model | None:
        """One model, or ``None`` if the server has none with that id."""
        return self._request(_api.get_model(model_id))

    def count_model_run_data(
        self,
        dataset_id: int | str,
        model_id: int | str,
        *,
        data_count_ratio: int = 100,
        exclude_model_data: bool = False,
        split_type: str | None = None,
        annotation_status: str | None = None,
    ) -> int:
        """How many data items a model run with these filters would process."""
        return self._request(
            _api.count_model_run_data(
                dataset_id,
                model_id,
                data_count_ratio=data_count_ratio,
                exclude_model_data=exclude_model_data,
                split_type=split_type,
                annotation_status=annotation_status,
            )
        )

    def start_model_run(
        self,
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
    ) -> None:
        """Run a model over a dataset. No run id is returned: find the run with :meth:`find_model_runs`.

        :param classes: model class codes to keep (at least one; without them the run never finishes).
        :param min_confidence: lowest confidence kept, 0 to 1.
        :param max_confidence: highest confidence kept, 0 to 1.
        :param data_count_ratio: percentage (1 to 100) of the matching data to run on.
        :param exclude_model_data: skip data that already have results of this model.
        :param split_type: only data of this split (``TRAINING``, ``VALIDATION``, ``TEST``, ``NOT_SPLIT``).
        :param annotation_status: only data with this status (``ANNOTATED``, ``NOT_ANNOTATED``, ``INVALID``).

        Not retried once sent.
        """
        return self._request(
            _api.start_model_run(
                dataset_id,
                model_id,
                classes=classes,
                min_confidence=min_confidence,
                max_confidence=max_confidence,
                data_count_ratio=data_count_ratio,
                exclude_model_data=exclude_model_data,
                split_type=split_type,
                annotation_status=annotation_status,
            )
        )

    def find_model_runs(
        self,
        model_id: int | str,
        *,
        dataset_ids: Iterable[int | str] | int | str | None = None,
        status: str | None = None,
        asc: bool = False,
        page_no: int = 1,
        page_size: int = 10,
    ) -> Page[ModelRunRecord]:
        """One page of a model's runs, newest first unless ``asc``."""
        return self._request(
            _api.find_model_runs(
                model_id,
                dataset_ids=dataset_ids,
                status=status,
                asc=asc,
                page_no=page_no,
                page_size=page_size,
            )
        )

    def get_model_runs_of_dataset(self, dataset_id: int | str) -> list[ModelRunRecord]:
        """All model runs on a dataset (unsorted)."""
        return self._request(_api.get_model_runs_of_dataset(dataset_id))

    def get_finished_model_runs(self, dataset_id: int | str) -> list[FinishedModelRuns]:
        """Successful runs per model; their ids can be exported with ``select_model_run_ids``."""
        return self._request(_api.get_finished_model_runs(dataset_id))

    def get_raw_annotations(self, data_ids: Iterable[int | str] | int | str) -> list[DataAnnotations]:
        """Annotations of data items as stored, including model-run geometry that exports lose."""
        return self._request(_api.get_raw_annotations(data_ids))

    def get_job_records(
        self,
        kind: JobKind | str,
        ids: Iterable[str | int] | str | int,
        *,
        dataset_id: int | str | None = None,
    ) -> dict[str, dict[str, Any]]:
        """Records of several imports, exports or model runs in one request, keyed by job id (``str``).

        :param kind: ``import``, ``export`` or ``model_run``.
        :param ids: serial numbers (imports, exports) or run ids (model runs).
        :param dataset_id: the dataset of the model runs (required for them).
        """
        return self._request(_api.get_job_records(kind, ids, dataset_id=dataset_id))


class Xtreme1AsyncHook(AsyncAnnotationMethods, AsyncOntologyCenterMethods, _Xtreme1HookBase):
    """The asyncio twin of :class:`Xtreme1Hook` (``httpx``), for triggers.

    Same methods, arguments, results, errors and retries; waits use ``asyncio.sleep``. The connection
    is resolved with ``get_async_connection``: the blocking lookup must never run inside the triggerer's
    event loop. One ``httpx.AsyncClient`` is kept per hook (and per event loop); close it with
    :meth:`aclose` or ``async with``.
    """

    def __init__(
        self,
        xtreme1_conn_id: str = _Xtreme1HookBase.default_conn_name,
        *,
        request_timeout: float | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        super().__init__(xtreme1_conn_id, request_timeout=request_timeout, retry_policy=retry_policy)
        self._client: httpx.AsyncClient | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None

    # -- plumbing ---------------------------------------------------------------------------------

    async def get_settings(self) -> ConnectionSettings:
        """The connection's settings, looked up once per hook without blocking the event loop."""
        if self._settings is None:
            self._load_settings(await get_async_connection(self.xtreme1_conn_id, self))
        assert self._settings is not None
        return self._settings

    async def get_client(self) -> httpx.AsyncClient:
        """The API client (bearer token set) of the running event loop. Use it for API URLs only."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            settings = await self.get_settings()
            self._client = httpx.AsyncClient(
                headers=self._headers(settings, "httpx"),
                verify=_ssl_verify(settings),
                timeout=httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout),
                follow_redirects=False,  # the token and start calls never go where a redirect points
            )
            self._client_loop = loop
        return self._client

    async def aclose(self) -> None:
        """Close the client's connections (the hook can still be used; a new client opens)."""
        client, self._client, self._client_loop = self._client, None, None
        if client is not None:
            await client.aclose()

    async def __aenter__(self) -> Xtreme1AsyncHook:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _send(self, call: ApiCall[Any], timeout: tuple[float, float] | None = None) -> RawResponse:
        settings = await self.get_settings()
        client = await self.get_client()
        self._log_request(settings, call)
        started = time.monotonic()
        request_timeout = (
            httpx.Timeout(timeout[1], connect=timeout[0]) if timeout else httpx.USE_CLIENT_DEFAULT
        )
        try:
            response = await client.request(
                call.method,
                settings.url(call.path),
                params=dict(call.params) or None,
                json=call.json,
                timeout=request_timeout,
            )
        except (httpx.ConnectTimeout, httpx.PoolTimeout) as err:
            raise transport_failure(call, CONNECT, _describe(err)) from None
        except httpx.ConnectError as err:
            raise transport_failure(call, TLS if _is_tls(err) else CONNECT, _describe(err)) from None
        except httpx.ReadTimeout as err:
            raise transport_failure(call, READ_TIMEOUT, _describe(err)) from None
        except (httpx.UnsupportedProtocol, httpx.ProxyError) as err:
            raise transport_failure(call, CONNECT, _describe(err)) from None
        except httpx.RequestError as err:  # dropped, reset, write timeout, undecodable body, redirect loop
            raise transport_failure(call, SENT, _describe(err)) from None
        self._log_response(call, response.status_code, started)
        if response.status_code in REDIRECT_STATUSES:
            raise redirect_refusal(call, response.status_code, response.headers.get("Location"))
        return RawResponse(
            status=response.status_code,
            content_type=response.headers.get("Content-Type", ""),
            body=response.content,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )

    async def _request(
        self,
        call: ApiCall[T],
        *,
        timeout: tuple[float, float] | None = None,
        policy: RetryPolicy | None = None,
    ) -> T:

        async def attempt() -> T:
            try:
                return handle(call, await self._send(call, timeout))
            except Xtreme1Error as err:
                self._scrubbed(err)  # in place: a server may echo the token
                raise

        return await acall_with_retries(
            attempt,
            policy=policy or self.retry_policy,
            retryable=is_retryable,
            what=f"Xtreme1 {call.endpoint}",
            log=self.log,
        )

    async def _drive(self, flow: Generator[ApiCall[Any], Any, T]) -> T:
        try:
            call = next(flow)
            while True:
                call = flow.send(await self._request(call))
        except StopIteration as done:
            return done.value

    # -- API (see Xtreme1Hook for the documentation of each method) ---------------------------------

    async def get_current_user(self) -> User:
        """See :meth:`Xtreme1Hook.get_current_user`."""
        return await self._request(_api.current_user())

    async def create_dataset(self, name: str, dataset_type: str, description: str | None = None) -> Dataset:
        """See :meth:`Xtreme1Hook.create_dataset`."""
        return await self._request(_api.create_dataset(name, dataset_type, description))

    async def get_dataset(self, dataset_id: int | str) -> Dataset:
        """See :meth:`Xtreme1Hook.get_dataset`."""
        return await self._request(_api.get_dataset(dataset_id))

    async def find_datasets(
        self, name: str | None = None, dataset_type: str | None = None, page_no: int = 1, page_size: int = 10
    ) -> Page[Dataset]:
        """See :meth:`Xtreme1Hook.find_datasets`."""
        return await self._request(_api.find_datasets(name, dataset_type, page_no, page_size))

    async def find_dataset_by_name(self, name: str) -> Dataset | None:
        """See :meth:`Xtreme1Hook.find_dataset_by_name`."""
        return await self._drive(_api.find_dataset_by_name(name))

    async def delete_dataset(self, dataset_id: int | str) -> None:
        """See :meth:`Xtreme1Hook.delete_dataset`."""
        return await self._request(_api.delete_dataset(dataset_id))

    async def get_dataset_classes(self, dataset_id: int | str) -> list[DatasetClass]:
        """See :meth:`Xtreme1Hook.get_dataset_classes`."""
        return await self._request(_api.get_dataset_classes(dataset_id))

    async def create_dataset_class(self, dataset_id: int | str, fields: dict[str, Any]) -> None:
        """See :meth:`Xtreme1Hook.create_dataset_class`."""
        return await self._request(_api.create_dataset_class(dataset_id, fields))

    async def update_dataset_class(
        self, dataset_id: int | str, class_id: int | str, fields: dict[str, Any]
    ) -> None:
        """See :meth:`Xtreme1Hook.update_dataset_class`."""
        return await self._request(_api.update_dataset_class(dataset_id, class_id, fields))

    async def delete_dataset_class(self, class_id: int | str) -> None:
        """See :meth:`Xtreme1Hook.delete_dataset_class`."""
        return await self._request(_api.delete_dataset_class(class_id))

    async def get_dataset_classifications(self, dataset_id: int | str) -> list[dict[str, Any]]:
        """See :meth:`Xtreme1Hook.get_dataset_classifications`."""
        return await self._request(_api.get_dataset_classifications(dataset_id))

    async def create_dataset_classification(self, dataset_id: int | str, fields: dict[str, Any]) -> None:
        """See :meth:`Xtreme1Hook.create_dataset_classification`."""
        return await self._request(_api.create_dataset_classification(dataset_id, fields))

    async def update_dataset_classification(
        self, dataset_id: int | str, classification_id: int | str, fields: dict[str, Any]
    ) -> None:
        """See :meth:`Xtreme1Hook.update_dataset_classification`."""
        return await self._request(_api.update_dataset_classification(dataset_id, classification_id, fields))

    async def delete_dataset_classification(self, classification_id: int | str) -> None:
        """See :meth:`Xtreme1Hook.delete_dataset_classification`."""
        return await self._request(_api.delete_dataset_classification(classification_id))

    async def get_class_statistics(self, dataset_id: int | str) -> dict[str, Any]:
        """See :meth:`Xtreme1Hook.get_class_statistics`."""
        return await self._request(_api.get_class_statistics(dataset_id))

    async def delete_data(self, dataset_id: int | str, data_ids: Iterable[int | str]) -> None:
        """See :meth:`Xtreme1Hook.delete_data`."""
        return await self._request(_api.delete_data(dataset_id, data_ids))

    async def get_presigned_upload_url(self, dataset_id: int | str, file_name: str) -> PresignedUrl:
        """See :meth:`Xtreme1Hook.get_presigned_upload_url`."""
        return await self._request(_api.get_presigned_upload_url(dataset_id, file_name))

    async def start_import(
        self,
        dataset_id: int | str,
        file_url: str,
        *,
        source: str = "LOCAL",
        result_type: str | None = None,
        model_id: int | str | None = None,
        data_format: str | None = None,
    ) -> str:
        """See :meth:`Xtreme1Hook.start_import`."""
        return await self._request(
            _api.start_import(
                dataset_id,
                file_url,
                source=source,
                result_type=result_type,
                model_id=model_id,
                data_format=data_format,
            )
        )

    async def get_upload_records(self, serial_numbers: Iterable[str] | str) -> list[UploadRecord]:
        """See :meth:`Xtreme1Hook.get_upload_records`."""
        return await self._request(_api.get_upload_records(serial_numbers))

    async def find_data(
        self, dataset_id: int | str, *, page_no: int = 1, page_size: int = 10, **filters: Any
    ) -> Page[DataInfo]:
        """See :meth:`Xtreme1Hook.find_data`."""
        return await self._request(
            _api.find_data(dataset_id, page_no=page_no, page_size=page_size, **filters)
        )

    async def start_export(
        self,
        dataset_id: int | str,
        *,
        select_model_run_ids: Iterable[int | str] = (-1,),
        data_format: str = "XTREME1",
        **filters: Any,
    ) -> str:
        """See :meth:`Xtreme1Hook.start_export`."""
        return await self._request(
            _api.start_export(
                dataset_id, select_model_run_ids=select_model_run_ids, data_format=data_format, **filters
            )
        )

    async def get_export_records(self, serial_numbers: Iterable[str] | str) -> list[ExportRecord]:
        """See :meth:`Xtreme1Hook.get_export_records`."""
        return await self._request(_api.get_export_records(serial_numbers))

    async def list_models(self, dataset_type: str | None = None) -> list[Model]:
        """See :meth:`Xtreme1Hook.list_models`."""
        return await self._request(_api.list_models(dataset_type))

    async def get_model(self, model_id: int | str) -> Model | None:
        """See :meth:`Xtreme1Hook.get_model`."""
        return await self._request(_api.get_model(model_id))

    async def count_model_run_data(
        self,
        dataset_id: int | str,
        model_id: int | str,
        *,
        data_count_ratio: int = 100,
        exclude_model_data: bool = False,
        split_type: str | None = None,
        annotation_status: str | None = None,
    ) -> int:
        """See :meth:`Xtreme1Hook.count_model_run_data`."""
        return await self._request(
            _api.count_model_run_data(
                dataset_id,
                model_id,
                data_count_ratio=data_count_ratio,
                exclude_model_data=exclude_model_data,
                split_type=split_type,
                annotation_status=annotation_status,
            )
        )

    async def start_model_run(
        self,
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
    ) -> None:
        """See :meth:`Xtreme1Hook.start_model_run`."""
        return await self._request(
            _api.start_model_run(
                dataset_id,
                model_id,
                classes=classes,
                min_confidence=min_confidence,
                max_confidence=max_confidence,
                data_count_ratio=data_count_ratio,
                exclude_model_data=exclude_model_data,
                split_type=split_type,
                annotation_status=annotation_status,
            )
        )

    async def find_model_runs(
        self,
        model_id: int | str,
        *,
        dataset_ids: Iterable[int | str] | int | str | None = None,
        status: str | None = None,
        asc: bool = False,
        page_no: int = 1,
        page_size: int = 10,
    ) -> Page[ModelRunRecord]:
        """See :meth:`Xtreme1Hook.find_model_runs`."""
        return await self._request(
            _api.find_model_runs(
                model_id,
                dataset_ids=dataset_ids,
                status=status,
                asc=asc,
                page_no=page_no,
                page_size=page_size,
            )
        )

    async def get_model_runs_of_dataset(self, dataset_id: int | str) -> list[ModelRunRecord]:
        """See :meth:`Xtreme1Hook.get_model_runs_of_dataset`."""
        return await self._request(_api.get_model_runs_of_dataset(dataset_id))

    async def get_finished_model_runs(self, dataset_id: int | str) -> list[FinishedModelRuns]:
        """See :meth:`Xtreme1Hook.get_finished_model_runs`."""
        return await self._request(_api.get_finished_model_runs(dataset_id))

    async def get_raw_annotations(self, data_ids: Iterable[int | str] | int | str) -> list[DataAnnotations]:
        """See :meth:`Xtreme1Hook.get_raw_annotations`."""
        return await self._request(_api.get_raw_annotations(data_ids))

    async def get_job_records(
        self,
        kind: JobKind | str,
        ids: Iterable[str | int] | str | int,
        *,
        dataset_id: int | str | None = None,
    ) -> dict[str, dict[str, Any]]:
        """See :meth:`Xtreme1Hook.get_job_records`."""
        return await self._request(_api.get_job_records(kind, ids, dataset_id=dataset_id))


# -- translation of library errors (the send seams above) --------------------------------------------


def _requests_phase(err: requests.exceptions.ConnectionError) -> str:
    """Did a requests ``ConnectionError`` happen before the request left, or after?"""
    cause = err.args[0] if err.args else None
    reason = getattr(cause, "reason", cause)
    if isinstance(reason, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError)):
        return CONNECT
    if isinstance(reason, urllib3.exceptions.ReadTimeoutError):
        return READ_TIMEOUT
    return SENT


def _is_tls(err: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return "CERTIFICATE_VERIFY_FAILED" in str(err)


def _describe(err: httpx.HTTPError) -> str:
    return f"{type(err).__name__}: {err}" if str(err) else type(err).__name__


def _check_ca_bundle(settings: ConnectionSettings) -> None:
    if isinstance(settings.verify, str) and not Path(settings.verify).exists():
        raise Xtreme1ConfigError(
            f"Connection {settings.conn_id!r}: the CA bundle {settings.verify!r} (extra 'verify' or "
            "'ca_bundle') does not exist on this machine."
        )


def _ssl_verify(settings: ConnectionSettings) -> bool | ssl.SSLContext:
    """What httpx wants for ``verify`` (a CA path becomes an SSL context, as httpx 0.28 prefers)."""
    _check_ca_bundle(settings)
    try:
        return ssl_context(settings.verify)
    except (OSError, ssl.SSLError) as err:
        raise Xtreme1ConfigError(
            f"Connection {settings.conn_id!r}: cannot load the CA bundle {settings.verify!r}: {err}"
        ) from None
