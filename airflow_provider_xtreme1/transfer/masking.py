"""Presigned URLs in logs: masking their secret query values and registering them with Airflow."""

from __future__ import annotations

import logging
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import httpx

log = logging.getLogger(__name__)


_SECRET_PARAMS = frozenset(
    {"x-amz-signature", "x-amz-credential", "x-amz-security-token", "token", "signature"}
)


def mask_url(url: str) -> str:
    """Return ``url`` with the values of its secret query parameters replaced by ``***``.

    Masked parameters (case-insensitive): ``X-Amz-Signature``, ``X-Amz-Credential``,
    ``X-Amz-Security-Token``, ``token`` and ``signature``. Everything else is left byte for byte.
    """
    base, sep, rest = str(url).partition("?")
    if not sep:
        return base
    query, hash_sep, fragment = rest.partition("#")
    parts = []
    for part in query.split("&"):
        key, eq, _value = part.partition("=")
        if eq and unquote(key).lower() in _SECRET_PARAMS:
            part = f"{key}=***"
        parts.append(part)
    return f"{base}?{'&'.join(parts)}{hash_sep}{fragment}"


def _secret_values(url: str) -> list[str]:
    values: list[str] = []
    for part in urlsplit(str(url)).query.split("&"):
        key, eq, value = part.partition("=")
        if eq and value and unquote(key).lower() in _SECRET_PARAMS:
            values.append(value)
            if unquote(value) != value:
                values.append(unquote(value))
    return values


def protect_url(url: str) -> None:
    """Register the secret query values of ``url`` with Airflow's secret masker.

    After this, Airflow task logs show ``***`` wherever a signature, credential or token of this URL
    appears, whoever logs it. Outside an Airflow installation this is a no-op (with a debug line).
    """
    values = [v for v in _secret_values(url) if len(v) >= 5]  # the masker ignores shorter values
    if not values:
        return
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # pragma: no cover - Airflow is a dependency; kept for bare use of the module
        log.debug("airflow.sdk.log.mask_secret is unavailable; presigned URL secrets not registered")
        return
    for value in values:
        mask_secret(value)


class _MaskPresignedUrls(logging.Filter):
    """Masks presigned-URL secrets in the arguments of ``httpx`` log records."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(
                mask_url(str(arg)) if isinstance(arg, (str, httpx.URL)) and "?" in str(arg) else arg
                for arg in record.args
            )
        return True


if not any(isinstance(f, _MaskPresignedUrls) for f in logging.getLogger("httpx").filters):
    logging.getLogger("httpx").addFilter(_MaskPresignedUrls())


class LoggerLike(Protocol):
    """A ``logging.Logger`` or Airflow's structlog task logger (``%``-style arguments)."""

    def info(self, msg: str, *args: Any) -> Any: ...

    def warning(self, msg: str, *args: Any) -> Any: ...
