"""Where data lives: the one resolver of "local path | URI | ObjectStoragePath"."""

from __future__ import annotations

import os
from pathlib import Path, PurePath
from typing import Any
from urllib.parse import unquote, urlsplit

#: Schemes that are web requests, never object storage: refused as sources and destinations.
_WEB_SCHEMES = frozenset({"http", "https", "ftp", "ftps", "sftp", "ws", "wss", "data"})
_LOCAL_SCHEMES = frozenset({"file", "local"})
_PATH_MAX = 4095  # bytes, Linux PATH_MAX less the terminating NUL
_NAME_MAX = 255


def object_storage_schemes() -> frozenset[str]:
    """The URI schemes Airflow's ``ObjectStoragePath`` can open here (those the installed providers
    register, e.g. ``s3`` with the Amazon provider, and those attached at run time with
    ``airflow.sdk.io.attach``), without the local and web ones."""
    known: set[str] = set()
    try:
        from airflow.sdk.io.fs import _register_filesystems

        known.update(_register_filesystems())
    except Exception:  # an Airflow without the registry: nothing but local paths
        pass
    try:
        from airflow.sdk.io.store import _STORE_CACHE

        known.update(store.protocol for store in list(_STORE_CACHE.values()) if store.protocol)
    except Exception:
        pass
    return frozenset(known - _LOCAL_SCHEMES - _WEB_SCHEMES)


def check_local_path(path: str | os.PathLike[str], argument: str) -> Path:
    """``path`` as a ``Path``, or a ``ValueError`` naming ``argument`` when no file system could hold it
    (NUL or other control characters, a part over 255 bytes, more than 4095 bytes in all)."""
    text = os.fspath(path)
    if not isinstance(text, str):
        text = os.fsdecode(text)
    if not text.strip():
        raise ValueError(f"{argument} must not be empty.")
    bad = next((ch for ch in text if ord(ch) < 32 or ord(ch) == 127), None)
    if bad is not None:
        raise ValueError(f"{argument} contains the control character {bad!r}: {text!r}.")
    expanded = Path(text).expanduser()
    long = next((part for part in expanded.parts if len(os.fsencode(part)) > _NAME_MAX), None)
    if long is not None:
        raise ValueError(
            f"{argument} has a path part of {len(os.fsencode(long))} bytes (at most {_NAME_MAX}): "
            f"{long[:40]!r}…"
        )
    if len(os.fsencode(str(expanded))) > _PATH_MAX:
        raise ValueError(f"{argument} is {len(os.fsencode(str(expanded)))} bytes long (at most {_PATH_MAX}).")
    return expanded


def resolve_location(value: Any, argument: str) -> Any:
    """Decide once whether ``value`` is local or in object storage, and check it.

    A plain path, ``os.PathLike`` or ``file://`` URI (also an ``ObjectStoragePath`` on the local file
    system) becomes a checked :class:`~pathlib.Path` — so every local rule applies to it. A URI of an
    object-storage scheme Airflow knows (:func:`object_storage_schemes`) becomes an
    ``ObjectStoragePath``; any other scheme (``http``, ``https``, …) is refused before any request.
    Other objects with ``open`` (``ObjectStoragePath``, UPath) are returned as they are.

    :param argument: the argument's name, for error messages.
    :raises ValueError: naming ``argument`` and what was expected.
    """
    if isinstance(value, PurePath):
        return check_local_path(value, argument)
    if isinstance(value, str):
        parts = urlsplit(value.strip())
        scheme = parts.scheme.lower()
        if "://" not in value or len(scheme) <= 1:  # "C:\data" has a one-letter scheme
            return check_local_path(value, argument)
        if scheme in _LOCAL_SCHEMES:
            if parts.netloc not in ("", "localhost"):
                raise ValueError(f"{argument}: a file:// URI names a local path, not host {parts.netloc!r}.")
            return check_local_path(unquote(parts.path), argument)
        allowed = object_storage_schemes()
        if scheme not in allowed:
            why = "a web URL, not object storage" if scheme in _WEB_SCHEMES else "not a storage Airflow knows"
            stores = ", ".join(f"{s}://" for s in sorted(allowed)) or "(no object-storage provider installed)"
            shown = f"{scheme}://{parts.hostname or ''}{parts.path}"  # no user info, no query
            raise ValueError(
                f"{argument} {shown!r}: {scheme}:// is {why}. Give a local path, a "
                f"file:// URI or a URI of: {stores}."
            )
        from airflow.sdk import ObjectStoragePath

        return ObjectStoragePath(value.strip())
    if isinstance(value, os.PathLike):
        return check_local_path(value, argument)
    if hasattr(value, "open") and hasattr(value, "exists"):
        protocol = getattr(value, "protocol", None)
        protocol = protocol[0] if isinstance(protocol, (tuple, list)) else protocol
        if protocol in _LOCAL_SCHEMES:
            return check_local_path(str(value.path), argument)
        return value
    raise ValueError(f"{argument} must be a path, a URI or an ObjectStoragePath, got {value!r}.")
