"""An Airflow connection of type ``xtreme1`` turned into the settings both hooks use (no I/O)."""

from __future__ import annotations

import logging
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_xtreme1._arguments import parse_id
from airflow_provider_xtreme1.exceptions import Xtreme1ConfigError

API_PREFIX = "/api"
DEFAULT_READ_TIMEOUT = 60.0
DEFAULT_CONNECT_TIMEOUT = 10.0

log = logging.getLogger(__name__)
#: Connections already warned about a host without a scheme (warned once per process).
_WARNED_CLEAR_TEXT: set[str] = set()

_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


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
    def from_connection(cls, conn: Any, *, request_timeout: float | None = None) -> ConnectionSettings:
        """Read an Airflow ``Connection`` (no I/O).

        ``host`` may be a full URL (``http://x1:8190``, optionally ending in ``/api``) or a bare host
        name with ``schema`` (``http``/``https``) and ``port``. The token is the password. Extras:
        ``verify`` (bool, or a CA-bundle path), ``ca_bundle`` (path), ``request_timeout`` (read timeout
        in seconds, default 60; the older name ``timeout`` is still read) and ``web_url``.
        ``request_timeout`` given here wins over the extra.
        """
        conn_id = str(getattr(conn, "conn_id", None) or "?")
        extra = _extra_of(conn, conn_id)
        root = _root_url(conn, conn_id)
        token = _token_of(conn, conn_id)
        if request_timeout is None:
            request_timeout = extra.get("request_timeout")
            if request_timeout in (None, ""):
                request_timeout = extra.get("timeout")
        read_timeout = _timeout_of(request_timeout, conn_id)
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
        given = str(getattr(conn, "schema", None) or "").strip().lower()
        scheme = given or "http"
        if not given and conn_id not in _WARNED_CLEAR_TEXT:
            _WARNED_CLEAR_TEXT.add(conn_id)
            log.warning(
                "Connection %r: host %r has no scheme, so http:// is used and the API token travels in "
                "clear text. Write https://%s (or http://%s to keep plain HTTP) in the host.",
                conn_id,
                host,
                host,
                host,
            )
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
    elif port is not None and conn_port and int(conn_port) != port:
        raise Xtreme1ConfigError(
            f"Connection {conn_id!r}: the host {host!r} holds port {port} but the port field says "
            f"{conn_port}. Keep the port in one place (the port field)."
        )
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
            f"Connection {conn_id!r}: request_timeout must be a positive number of seconds (the hook "
            f"argument or the extra 'request_timeout'), got {value!r}."
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
