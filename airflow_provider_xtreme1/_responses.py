"""How answers of the Xtreme1 API are read, and when a failed request is tried again (no I/O).

* :func:`unwrap` — the ``{"code", "message", "data"}`` envelope: ``code == "OK"`` or an exception, also
  for errors the server reports with HTTP 200 and for bodies that are not JSON at all;
* :func:`transport_failure` — a network failure of either HTTP library turned into
  :class:`~airflow_provider_xtreme1.exceptions.Xtreme1TransportError`;
* :func:`is_retryable` — the API's classification of errors worth another attempt, which both hooks hand
  to the one retry engine (:mod:`airflow_provider_xtreme1.retries`).
"""

from __future__ import annotations

import json
import re
import urllib.parse
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

from airflow_provider_xtreme1._calls import ApiCall, RawResponse, _BadData
from airflow_provider_xtreme1.exceptions import (
    Xtreme1AnswerLostError,
    Xtreme1ApiError,
    Xtreme1AuthError,
    Xtreme1NotFoundError,
    Xtreme1TransportError,
)

T = TypeVar("T")


#: Envelope codes meaning "this does not exist".
NOT_FOUND_CODES = frozenset({"NOT_FOUND", "DATASET_NOT_FOUND", "DATASET__NOT_EXIST", "MODEL_DOES_NOT_EXIST"})
#: HTTP statuses worth trying again: rate limiting and gateways (nginx in front of the backend).
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})


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
        if http_status == 404:
            # Spring's own "no such path" page: the API is not where the connection points.
            path = data.get("path") if isinstance(data, dict) else None
            detail = (
                f"the server has no endpoint {path or 'at this path'} (Spring's 'Not Found'). The "
                "connection's host or its path prefix is probably wrong: give the Xtreme1 URL, e.g. "
                "http://x1:8190 — the hook adds '/api' itself, so a host ending in '/api/api' or carrying "
                "another prefix lands here"
            )
        error = Xtreme1NotFoundError if http_status == 404 else Xtreme1ApiError
        raise error(f"HTTP_{http_status}", detail, http_status=http_status, endpoint=endpoint)
    return envelope.get("data")


# --------------------------------------------------------------------------------------------------
# Transport failures and retries
# --------------------------------------------------------------------------------------------------

#: Gateway answers that may come after the backend got the request.
MAYBE_FORWARDED = frozenset({502, 504})
MAY_HAVE_ACTED = (
    ". The request was sent, so the server may have processed it; it is not repeated automatically "
    "because that could act twice (a second import, export, model run or dataset). Check Xtreme1 "
    "before retrying."
)

#: What OpenSSL says when the "TLS" server answers in plain HTTP (an ``https://`` URL on an HTTP port).
PLAIN_HTTP_REPLY = re.compile(
    r"(?i)WRONG_VERSION_NUMBER|wrong version number|record layer failure|packet length too long|"
    r"unknown protocol"
)

#: Where a request failed: before the server could have seen it, after it was sent, or in TLS.
CONNECT, SENT, READ_TIMEOUT, TLS = "connect", "sent", "read_timeout", "tls"


def transport_failure(call: ApiCall[Any], phase: str, detail: str) -> Xtreme1TransportError:
    """The error for a request that got no answer, with ``retryable`` set for :func:`is_retryable`.

    :param phase: ``"connect"`` (nothing reached the server), ``"sent"`` (the connection broke after the
        request went out), ``"read_timeout"`` (no answer in time) or ``"tls"`` (certificate problem).
    """
    where = f"Xtreme1 {call.endpoint}"
    detail = snippet(detail, 300)
    retryable = True
    if phase == TLS:
        if PLAIN_HTTP_REPLY.search(detail):
            message = (
                f"{where}: TLS handshake failed ({detail}): the server seems to speak plain HTTP on this "
                "port. Use http:// in the connection's host (or the server's HTTPS port)."
            )
        else:
            message = (
                f"{where}: TLS handshake failed ({detail}). Check the connection's 'verify' / 'ca_bundle' "
                "extras."
            )
        retryable = False
    elif phase == CONNECT:
        message = f"{where}: cannot connect ({detail})"
    else:
        what = "no answer within the read timeout" if phase == READ_TIMEOUT else "the connection broke"
        message = f"{where}: {what} ({detail})"
        if not call.idempotent:
            return Xtreme1AnswerLostError(message + MAY_HAVE_ACTED)
    return Xtreme1TransportError(message, retryable=retryable)


#: HTTP statuses that redirect; API calls never follow them.
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


def redirect_refusal(call: ApiCall[Any], status: int, location: str | None) -> Xtreme1TransportError:
    """The error for an API answer that redirects: following it would send the API token (and, for a
    start call, its body) to wherever ``Location`` points, and trust that host's answer.

    The message names the target's scheme, host and path, never its query string (it may be signed).
    """
    parts = urllib.parse.urlsplit(str(location or ""))
    if parts.hostname:
        port = f":{parts.port}" if parts.port else ""
        target = f"{parts.scheme}://{parts.hostname}{port}{parts.path} (host {parts.hostname})"
    elif location:
        target = f"{parts.path} on the same host"
    else:
        target = "nowhere (no Location header)"
    return Xtreme1TransportError(
        f"Xtreme1 {call.endpoint}: the API answered HTTP {status}, redirecting to {target}. API requests "
        "do not follow redirects: the API token and the request would go to that address and its answer "
        "would be trusted. Set the connection's host to the Xtreme1 URL that answers directly.",
        status=status,
        retryable=False,
    )


def scrub_secret(error: BaseException, secret: str | None) -> BaseException:
    """Remove every exact occurrence of ``secret`` (the API token) from ``error``'s message and text
    attributes: a server may echo the token in words no pattern of :func:`redact` recognises."""
    if not secret or len(secret) < 4:
        return error

    def clean(value: Any) -> Any:
        return value.replace(secret, "***") if isinstance(value, str) and secret in value else value

    error.args = tuple(clean(arg) for arg in error.args)
    for name, value in list(vars(error).items()):
        if isinstance(value, str) and secret in value:
            setattr(error, name, clean(value))
    return error


def is_retryable(error: BaseException) -> bool:
    """Whether ``error`` is of a kind worth repeating the request for (ignores attempt counts)."""
    if not isinstance(error, Xtreme1TransportError) or not error.retryable:
        return False
    return error.status is None or error.status in RETRYABLE_STATUSES


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
        raise Xtreme1AnswerLostError(
            f"{err}{MAY_HAVE_ACTED}", status=err.status, retry_after=err.retry_after
        ) from None
    try:
        return call.parse(data)
    except _BadData as err:
        raise Xtreme1TransportError(
            f"Xtreme1 {call.endpoint} answered OK with unexpected data: {err}", status=response.status
        ) from None
