"""Fault injection: make the emulator misbehave the way real deployments do.

A :class:`Fault` matches requests by path regex (the path as the client sent it, without the query
string, e.g. ``r"^/api/data/upload$"`` or ``r"^/minio/"``) and optionally by HTTP method. Faults are
checked in the order they were added; each one affects at most ``times`` requests (``None`` = until
cleared).
"""

from __future__ import annotations

import re
import threading
from dataclasses import asdict, dataclass, fields
from typing import Any

KINDS = ("status", "drop", "delay", "throttle", "envelope", "empty", "stall", "drop_answer", "stall_answer")
#: Kinds that slow a request down and let it be handled (they combine with any other fault).
SLOW_KINDS = ("delay", "throttle")
#: Kinds that let the request be handled in full and only then spoil its answer (a lost answer).
AFTER_KINDS = ("drop_answer", "stall_answer")

NGINX_PAGES = {
    400: "400 Bad Request",
    401: "401 Authorization Required",
    403: "403 Forbidden",
    404: "404 Not Found",
    413: "413 Request Entity Too Large",
    429: "429 Too Many Requests",
    500: "500 Internal Server Error",
    502: "502 Bad Gateway",
    503: "503 Service Temporarily Unavailable",
    504: "504 Gateway Time-out",
}


def nginx_page(status: int) -> str:
    """An nginx-like HTML error page for ``status``."""
    title = NGINX_PAGES.get(status, f"{status} Error")
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx/1.23.1</center>\r\n</body>\r\n</html>\r\n"
    )


@dataclass(frozen=True)
class Fault:
    """One injected misbehaviour.

    :param path: regex searched in the request path as sent (``/api/...`` or ``/minio/...``).
    :param method: HTTP method to match, ``None`` = any.
    :param kind: ``status`` (answer ``status`` with ``body``, default an nginx HTML page),
        ``drop`` (close the socket without answering), ``delay`` (sleep ``delay`` s then answer
        normally), ``throttle`` (read a storage PUT's body slowly, over ``delay`` s: a slow link, so
        a test can act while the PUT is under way),
        ``envelope`` (HTTP ``status`` (default 200) with ``{"code", "message", "data": null}``),
        ``empty`` (HTTP 200, empty body), ``stall`` (the upload, export or model-run job created by
        the matching request never leaves ``stall_at``), ``drop_answer`` (handle the request in full —
        the import or export starts — then close the socket instead of answering) and ``stall_answer``
        (handle it in full, then hold the answer back ``delay`` seconds, past the client's read timeout).
    :param status: HTTP status for ``status``/``envelope`` faults.
    :param body: response body for ``status`` faults (default: nginx page).
    :param content_type: content type for a custom ``body``.
    :param retry_after: ``Retry-After`` header value (sent with any status when given).
    :param location: ``Location`` header value (sent with any status when given), e.g. a ``status``
        fault with ``status=307`` redirecting to another host.
    :param delay: seconds to sleep for ``delay`` faults, to hold the answer for ``stall_answer`` and to
        spread a body's reading over for ``throttle``.
    :param code: envelope ``code`` for ``envelope`` faults.
    :param message: envelope ``message`` for ``envelope`` faults.
    :param stall_at: status at which a stalled job stays (default ``DOWNLOADING`` for uploads,
        ``GENERATING`` for exports, ``RUNNING`` for model runs; ``UNSTARTED``, ``DOWNLOAD_COMPLETED``,
        ``PARSING`` and (model runs) ``STARTED`` also work).
    :param times: number of requests affected; ``None`` = until cleared.
    """

    path: str
    method: str | None = None
    kind: str = "status"
    status: int | None = None
    body: str | None = None
    content_type: str | None = None
    retry_after: int | float | str | None = None
    location: str | None = None
    delay: float = 0.0
    code: str = "UNKNOWN"
    message: str = "Unknown error"
    stall_at: str | None = None
    times: int | None = 1

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {KINDS}")
        re.compile(self.path)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Fault:
        """Build a fault from JSON (unknown keys are rejected)."""
        known = {f.name for f in fields(cls)}
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        return cls(**raw)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        return re.search(self.path, path) is not None


class FaultBook:
    """Thread-safe ordered list of active faults with remaining-use counters."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[list[Any]] = []  # [fault, remaining or None]

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._items.append([fault, fault.times])

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def active(self) -> list[Fault]:
        with self._lock:
            return [f for f, _ in self._items]

    def take(self, method: str, path: str, *, stall: bool) -> list[Fault]:
        """Consume and return matching faults (transport faults if ``stall`` is false, else stall faults).

        Delay and throttle faults are all returned; among the other transport kinds only the first one is
        returned, since it answers the request.
        """
        taken: list[Fault] = []
        with self._lock:
            for item in self._items:
                fault, remaining = item
                if (fault.kind == "stall") != stall or not fault.matches(method, path):
                    continue
                if remaining is not None and remaining <= 0:
                    continue
                if (
                    not stall
                    and fault.kind not in SLOW_KINDS
                    and any(t.kind not in SLOW_KINDS for t in taken)
                ):
                    continue
                if remaining is not None:
                    item[1] = remaining - 1
                taken.append(fault)
                if stall:
                    break
            self._items = [i for i in self._items if i[1] is None or i[1] > 0]
        return taken
