"""Request/response objects, the Xtreme1 envelope and Spring-like error helpers."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

JSON_TYPE = "application/json"
TEXT_TYPE = "text/plain;charset=UTF-8"


class ApiError(Exception):
    """An error envelope ``{"code", "message", "data": null}`` sent with ``http_status``."""

    def __init__(self, code: str, message: str, http_status: int = 200) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status


def java_error(message: str) -> ApiError:
    """What Spring's catch-all handler answers for an uncaught exception: HTTP 500 ``UNKNOWN``."""
    return ApiError("UNKNOWN", message, 500)


def npe() -> ApiError:
    return java_error("java.lang.NullPointerException")


def param_error(*messages: str) -> ApiError:
    """A ``BindException``: HTTP 200 ``PARAM_ERROR`` whose message is a JSON array string."""
    return ApiError("PARAM_ERROR", json.dumps(list(messages)))


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str | None = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)


def envelope(code: str, message: str, data: Any) -> bytes:
    return json.dumps({"code": code, "message": message, "data": data}, ensure_ascii=False).encode()


def ok(data: Any) -> Response:
    return Response(200, envelope("OK", "", data))


def ok_text(data: str) -> Response:
    """A String-returning controller method: hutool-serialised envelope sent as text/plain."""
    return Response(200, envelope("OK", "", data), TEXT_TYPE)


def error_response(err: ApiError) -> Response:
    return Response(err.http_status, envelope(err.code, err.message, None))


def _long(name: str, raw: str, *, path: bool) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        if path:
            raise java_error(
                "org.springframework.web.method.annotation.MethodArgumentTypeMismatchException: Failed to "
                "convert value of type 'java.lang.String' to required type 'java.lang.Long'; nested "
                f'exception is java.lang.NumberFormatException: For input string: "{raw}"'
            ) from None
        raise param_error(
            f"{name} Failed to convert property value of type 'java.lang.String' to required "
            f"type 'java.lang.Long' for property '{name}'"
        ) from None


@dataclass
class Request:
    """One ``/api`` request after the ``/api`` prefix was stripped."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    host: str
    scheme: str = "http"
    path_params: dict[str, str] = field(default_factory=dict)

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def required_param(self, name: str, java_type: str = "String") -> str:
        """A required ``@RequestParam``: missing → HTTP 500 ``MissingServletRequestParameterException``."""
        value = self.param(name)
        if value is None:
            raise java_error(
                "org.springframework.web.bind.MissingServletRequestParameterException: Required request "
                f"parameter '{name}' for method parameter type {java_type} is not present"
            )
        return value

    def required_long(self, name: str) -> int:
        raw = self.required_param(name, "Long")
        try:
            return int(raw)
        except ValueError:
            raise java_error(
                "org.springframework.web.method.annotation.MethodArgumentTypeMismatchException: Failed to "
                "convert value of type 'java.lang.String' to required type 'java.lang.Long'; nested "
                f'exception is java.lang.NumberFormatException: For input string: "{raw}"'
            ) from None

    def opt_long(self, name: str) -> int | None:
        """A field of a query DTO: a bad number is a ``BindException`` (HTTP 200 PARAM_ERROR)."""
        raw = self.param(name)
        return None if raw in (None, "") else _long(name, raw, path=False)

    def list_param(self, name: str) -> list[str]:
        """Repeated keys or one comma-separated value (Spring String→Collection conversion)."""
        out: list[str] = []
        for value in self.query.get(name, []):
            out += [v.strip() for v in value.split(",") if v.strip()]
        return out

    def long_list(self, name: str) -> list[int]:
        return [_long(name, v, path=False) for v in self.list_param(name)]

    def path_long(self, name: str) -> int:
        return _long(name, self.path_params[name], path=True)

    def json(self) -> Any:
        if not self.body.strip():
            raise java_error(
                "org.springframework.http.converter.HttpMessageNotReadableException: Required request body "
                "is missing"
            )
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise java_error(
                f"org.springframework.http.converter.HttpMessageNotReadableException: JSON parse error: {exc}"
            ) from None

    def json_object(self) -> dict[str, Any]:
        body = self.json()
        if not isinstance(body, dict):
            raise java_error(
                "org.springframework.http.converter.HttpMessageNotReadableException: JSON parse error: "
                "Cannot deserialize value from Array value"
            )
        return body


Handler = Callable[[Any, Request], Any]


class Router:
    """Method + path-template routing with Spring-like answers for unknown paths and wrong methods."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def add(self, method: str, template: str, handler: Handler) -> None:
        pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
        self._routes.append((method, re.compile(f"^{pattern}/?$"), handler))

    def add_all(self, routes: list[tuple[str, str, Handler]]) -> None:
        for method, template, handler in routes:
            self.add(method, template, handler)

    def resolve(self, req: Request) -> Handler:
        wrong_method = False
        for method, pattern, handler in self._routes:
            m = pattern.match(req.path)
            if not m:
                continue
            if method != req.method and not (req.method == "HEAD" and method == "GET"):
                wrong_method = True
                continue
            req.path_params = m.groupdict()
            return handler
        if wrong_method:
            raise java_error(
                "org.springframework.web.HttpRequestMethodNotSupportedException: Request method "
                f"'{req.method}' not supported"
            )
        raise NotFound()


class NotFound(Exception):
    """No controller for this path."""
