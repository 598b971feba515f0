"""One API request as data (:class:`ApiCall`) and what a hook hands back (:class:`RawResponse`).

No I/O and no imports of other provider modules: the builders in :mod:`._api` make calls, the hooks send
them, :func:`._responses.handle` reads the answers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")


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
