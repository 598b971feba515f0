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
from collections.abc import Generator
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
from airflow_provider_xtreme1.hooks._datasets import AsyncDatasetMethods, DatasetMethods
from airflow_provider_xtreme1.hooks._jobs import AsyncJobMethods, JobMethods
from airflow_provider_xtreme1.hooks._ontology_center import AsyncOntologyCenterMethods, OntologyCenterMethods
from airflow_provider_xtreme1.records import (
    User,
)
from airflow_provider_xtreme1.retries import NO_RETRY, RetryPolicy, acall_with_retries, call_with_retries

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


class Xtreme1Hook(AnnotationMethods, OntologyCenterMethods, DatasetMethods, JobMethods, _Xtreme1HookBase):
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


class Xtreme1AsyncHook(
    AsyncAnnotationMethods, AsyncOntologyCenterMethods, AsyncDatasetMethods, AsyncJobMethods, _Xtreme1HookBase
):
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
