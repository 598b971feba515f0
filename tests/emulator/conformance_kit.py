"""The conformance tables' shared parts: a row per (endpoint, input case) as Xtreme1's Java source
answers it, how a row is sent over HTTP, and how its answer is judged.

Each table (``test_conformance_*.py``) holds rows built with :func:`ok`, :func:`bad` and
:func:`unknown`; the row's ``java`` names the source file that settles it (relative to
``backend/src/main/java/ai/basic/x1/``) and becomes part of the pytest id.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import requests
from emulator_kit import TOKEN

C = "adapter/api/controller/"
D = "adapter/dto/"
ERR = C + "CustomExceptionHandler.java"
NOT_READABLE = "org.springframework.http.converter.HttpMessageNotReadableException: "


@dataclass
class Row:
    java: str
    method: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    body: Any = None  # JSON unless raw/content_type say otherwise
    raw: bytes | None = None
    content_type: str | None = "application/json"
    status: int = 200
    code: str = "OK"
    message: str | None = ""  # "...": a prefix; None: not checked
    check: Callable[[Any], bool] | None = None  # on the envelope's data


def ok(java: str, method: str, path: str, check=None, **kw: Any) -> Row:
    return Row(java, method, path, check=check, **kw)


def bad(java: str, method: str, path: str, code: str, message: str, status: int = 200, **kw: Any) -> Row:
    return Row(java, method, path, status=status, code=code, message=message, **kw)


def unknown(java: str, method: str, path: str, message: str, **kw: Any) -> Row:
    return Row(java, method, path, status=500, code="UNKNOWN", message=message, **kw)


def fill(value: Any, ids: dict[str, int]) -> Any:
    """Put the world's ids into a row: ``"{main}"`` alone becomes the number, inside text it is formatted."""
    if isinstance(value, str) and value.startswith("{") and value.endswith("}") and value[1:-1] in ids:
        return ids[value[1:-1]]
    if isinstance(value, str):
        return value.format(**ids) if "{" in value else value
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    return value


def send(world: dict[str, Any], row: Row) -> requests.Response:
    """The row's request over real HTTP to the world's emulator, with the world's ids filled in."""
    ids = world["ids"]
    headers = {"Authorization": f"Bearer {TOKEN}"}
    data = row.raw
    if data is None and row.method == "POST" and row.body is not None:
        data = json.dumps(fill(row.body, ids)).encode()
    if row.content_type and data is not None:
        headers["Content-Type"] = row.content_type
    url = world["emu"].url + "/api" + fill(row.path, ids)
    params = {k: fill(v, ids) for k, v in row.params.items()}
    # requests adds no Content-Type of its own for bytes bodies, so "missing" is really missing.
    return requests.request(row.method, url, params=params, data=data, headers=headers, timeout=10)


def assert_conforms(resp: requests.Response, row: Row) -> None:
    """HTTP status, envelope code and message as the row says; no data with an error; the row's check."""
    body = resp.json()
    assert (resp.status_code, body["code"]) == (row.status, row.code), body
    if row.message is not None and row.message.endswith("..."):
        assert body["message"].startswith(row.message[:-3]), body["message"]
    elif row.message is not None:
        assert body["message"] == row.message
    if row.code != "OK":
        assert body["data"] is None
    if row.check is not None:
        assert row.check(body["data"]), body["data"]


def uncovered_routes(
    routes: Iterable[tuple[str, str, Any]], rows: Iterable[Row], ids: dict[str, int]
) -> set[str]:
    """The route paths no row's path matches (``{id}`` parts match any one path segment)."""
    concrete = [fill(row.path, ids) for row in rows]
    return {
        path
        for _, path, _ in routes
        if not any(
            re.fullmatch("[^/]+".join(map(re.escape, re.split(r"\{\w+\}", path))), c) for c in concrete
        )
    }


def cases(rows: dict[str, Row]) -> list[Any]:
    """pytest parameters: one per row, the Java file in the id."""
    import pytest

    return [pytest.param(name, id=f"{name}[{row.java}]") for name, row in rows.items()]
