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
    """A ``BindException``: HTTP 200 ``PARAM_ERROR`` whose message is hutool's JSON array string
    (``["field message","field message"]``, no spaces; adapter/api/controller/CustomExceptionHandler.java)."""
    return ApiError("PARAM_ERROR", json.dumps(list(messages), ensure_ascii=False, separators=(",", ":")))


def constraint_error(method: str, param: str, message: str) -> ApiError:
    """A ``ConstraintViolationException`` of a ``@Validated`` controller's method parameter:
    HTTP 200 ``PARAM_ERROR`` ``"<method>.<param>:<message>"`` (CustomExceptionHandler.java)."""
    return ApiError("PARAM_ERROR", f"{method}.{param}:{message}")


def type_mismatch(raw: str, java_type: str) -> ApiError:
    """A ``@RequestParam``/``@PathVariable`` whose text does not convert: HTTP 500 ``UNKNOWN``."""
    return java_error(
        "org.springframework.web.method.annotation.MethodArgumentTypeMismatchException: Failed to "
        f"convert value of type 'java.lang.String' to required type '{java_type}'; nested "
        f'exception is java.lang.NumberFormatException: For input string: "{raw}"'
    )


def list_type_mismatch(raw: str) -> ApiError:
    """A ``@RequestParam List<Long>`` holding a non-number: HTTP 500 ``UNKNOWN``."""
    return java_error(
        "org.springframework.web.method.annotation.MethodArgumentTypeMismatchException: Failed to "
        "convert value of type 'java.lang.String' to required type 'java.util.List'; nested exception "
        "is org.springframework.core.convert.ConversionFailedException: Failed to convert from type "
        f"[java.lang.String] to type [java.lang.Long] for value '{raw}'; nested exception is "
        f'java.lang.NumberFormatException: For input string: "{raw}"'
    )


def data_too_long(column: str, table: str) -> ApiError:
    """MySQL strict mode refusing a value longer than its ``varchar`` column (MyBatis insert/update)."""
    cause = f"Data truncation: Data too long for column '{column}' at row 1"
    return java_error(
        "org.springframework.dao.DataIntegrityViolationException: \n### Error updating database.  Cause: "
        f"com.mysql.cj.jdbc.exceptions.MysqlDataTruncation: {cause}\n### The error may exist in "
        f"ai/basic/x1/adapter/port/dao/mybatis/mapper/{table}Mapper.java (best guess)\n### Cause: "
        f"com.mysql.cj.jdbc.exceptions.MysqlDataTruncation: {cause}\n; {cause}; nested exception is "
        f"com.mysql.cj.jdbc.exceptions.MysqlDataTruncation: {cause}"
    )


def bad_sql(near: str) -> ApiError:
    """A statement MySQL cannot parse (e.g. ``IN ()`` from an empty list): HTTP 500 ``UNKNOWN``."""
    return java_error(
        "org.springframework.jdbc.BadSqlGrammarException: \n### Error querying database.  Cause: "
        "java.sql.SQLSyntaxErrorException: You have an error in your SQL syntax; check the manual that "
        f"corresponds to your MySQL server version for the right syntax to use near '{near}' at line 1"
    )


def java_string(body: dict[str, Any], name: str) -> str | None:
    """Jackson reading a JSON value into a ``String`` field: scalars become their text, containers fail."""
    value = body.get(name)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    token = "START_OBJECT" if isinstance(value, dict) else "START_ARRAY"
    kind = "Object" if isinstance(value, dict) else "Array"
    raise java_error(
        "org.springframework.http.converter.HttpMessageNotReadableException: JSON parse error: Cannot "
        f"deserialize value of type `java.lang.String` from {kind} value (token `JsonToken.{token}`)"
    )


_JAVA_INT = re.compile(r"[+-]?[0-9]+")


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
            raise type_mismatch(raw, "java.lang.Long") from None
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
            raise type_mismatch(raw, "java.lang.Long") from None

    def int_param(self, name: str, default: int) -> int:
        """``@RequestParam(defaultValue=...) Integer``: blank → default, non-number → HTTP 500."""
        raw = self.param(name)
        if raw is None or not raw.strip():
            return default
        if not _JAVA_INT.fullmatch(raw.strip()) or not -(2**31) <= int(raw) < 2**31:
            raise type_mismatch(raw, "java.lang.Integer")
        return int(raw)

    def opt_long_param(self, name: str) -> int | None:
        """An optional method-level ``Long`` parameter: blank → ``None``, non-number → HTTP 500."""
        raw = self.param(name)
        if raw is None or not raw.strip():
            return None
        if not _JAVA_INT.fullmatch(raw.strip()):
            raise type_mismatch(raw, "java.lang.Long")
        return int(raw)

    def long_list_param(self, name: str) -> list[int] | None:
        """A method-level ``List<Long>`` ``@RequestParam``: absent → ``None``, bad item → HTTP 500."""
        if name not in self.query:
            return None
        out = []
        for raw in self.list_param(name):
            if not _JAVA_INT.fullmatch(raw):
                raise list_type_mismatch(raw)
            out.append(int(raw))
        return out

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

    def media_type(self) -> str | None:
        """The Content-Type as Spring prints a ``MediaType`` (parameters joined by ``;``, no spaces)."""
        raw = next((v for k, v in self.headers.items() if k.lower() == "content-type"), None)
        if raw is None or not raw.strip():
            return None
        return ";".join(part.strip() for part in raw.split(";") if part.strip())

    def json(self) -> Any:
        """Read a ``@RequestBody``: only ``application/json`` (or ``+json``) reaches Jackson; anything
        else is ``HttpMediaTypeNotSupportedException`` (Spring 5.3 AbstractMessageConverterMethodArgument
        Resolver; a missing type counts as ``application/octet-stream`` unless the body is empty)."""
        media = self.media_type()
        essence = (media or "").split(";")[0].lower()
        is_json = essence == JSON_TYPE or (essence.startswith("application/") and essence.endswith("+json"))
        if not is_json and (media is not None or self.body):
            raise java_error(
                "org.springframework.web.HttpMediaTypeNotSupportedException: Content type "
                f"'{media or 'application/octet-stream'}' not supported"
            )
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
