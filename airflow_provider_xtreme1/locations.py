"""Where data lives, and how it is written there: the one place for "local path | URI | ObjectStoragePath".

* :func:`resolve_location` decides once whether a value is local (a checked ``Path``) or in object storage
  (an ``ObjectStoragePath``); :func:`resolve_destination`, :func:`is_folder`, :func:`location_of` and
  :func:`safe_file_name` build on it for the files a task writes.
* Writing is atomic everywhere: :func:`write_atomically` (a stream of bytes), :class:`Destination` (a
  download), :func:`publish` (a finished local file): data goes to a ``.partial-<random>`` sibling first
  and is moved into place only when complete.
* An existing destination without ``overwrite`` is one error: :class:`Xtreme1DestinationExistsError`
  (:func:`refuse_existing`).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path, PurePath, PurePosixPath
from typing import IO, Any
from urllib.parse import unquote, urlsplit

from airflow_provider_xtreme1.exceptions import (
    Xtreme1ConfigError,
    Xtreme1DestinationExistsError,
    Xtreme1StorageError,
)

#: Schemes that are web requests, never object storage: refused as sources and destinations.
_WEB_SCHEMES = frozenset({"http", "https", "ftp", "ftps", "sftp", "ws", "wss", "data"})
_LOCAL_SCHEMES = frozenset({"file", "local"})
_PATH_MAX = 4095  # bytes, Linux PATH_MAX less the terminating NUL
_NAME_MAX = 255
_CHUNK = 1024 * 1024  # write buffer of a download


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


def resolve_destination(destination: Any, argument: str = "destination") -> Any:
    """A checked ``Path`` for local destinations (``file://`` included), else an ``ObjectStoragePath``.

    :raises ValueError: naming ``argument``: a path no file system can hold (NUL or control characters,
        a part over 255 bytes), or a scheme that is not object storage (``http://``).
    """
    if isinstance(destination, str) and not destination.strip():
        raise ValueError(f"{argument} must not be empty.")
    return resolve_location(destination.strip() if isinstance(destination, str) else destination, argument)


def is_folder(destination: Any, resolved: Any) -> bool:
    """A destination ending in ``/`` (or an existing local folder) receives the file under its own name."""
    if isinstance(destination, str) and destination.strip().endswith("/"):
        return True
    return isinstance(resolved, Path) and resolved.is_dir()


def location_of(path: Any) -> str:
    """What the task reports as the written file: an absolute local path or the object's URI."""
    return str(path.absolute()) if isinstance(path, Path) else str(path)


def safe_file_name(name: str, fallback: str) -> str:
    """The last part of a server-given file name, reduced to characters safe in any store and to at
    most 255 bytes (the suffix kept)."""
    base = PurePosixPath(str(name or "").replace("\\", "/")).name
    base = re.sub(r"[^A-Za-z0-9._-]", "_", base).lstrip(".")
    if len(base) > _NAME_MAX:
        suffix = PurePosixPath(base).suffix[:16]
        base = base[: _NAME_MAX - len(suffix)] + suffix
    return base or fallback


def write_atomically(target: Any, lines: Iterator[bytes]) -> int:
    """Write ``lines`` to a ``.partial-<random>`` sibling of ``target`` and move it into place.

    Local files are moved with ``os.replace`` (atomic); objects with the store's rename (copy and delete:
    the final key only ever receives a complete object). Returns the bytes written.
    """
    temp = target.parent / f"{target.name}.partial-{secrets.token_hex(4)}"
    written = 0
    try:
        if isinstance(target, Path):
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(temp, "wb") as out:
                for line in lines:
                    written += out.write(line)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, target)
        else:
            with temp.open("wb") as out:
                for line in lines:
                    out.write(line)
                    written += len(line)
            temp.rename(target)
    except BaseException:
        try:
            if temp.exists():
                temp.unlink()
        except Exception:  # best-effort clean-up; the original error matters
            pass
        raise
    return written


def refuse_existing(target: Any, what: str) -> None:
    """Raise :class:`Xtreme1DestinationExistsError` (naming ``what``) when ``target`` exists."""
    if target.exists():
        raise Xtreme1DestinationExistsError(
            f"{what} {location_of(target)} already exists; pass overwrite=True to replace it.", target
        )


class Destination:
    """A local path or an ObjectStoragePath, written through a ``.partial-<random>`` sibling."""

    def __init__(self, destination: Any) -> None:
        if isinstance(destination, (str, os.PathLike)):
            try:
                destination = resolve_location(destination, "destination")
            except ValueError as err:
                raise Xtreme1ConfigError(str(err)) from None
        self.local = isinstance(destination, PurePath)
        self.path: Any = Path(destination) if self.local else destination
        if not self.local and not (hasattr(destination, "open") and hasattr(destination, "parent")):
            raise Xtreme1ConfigError(
                f"Cannot download to {destination!r}: expected a path or ObjectStoragePath."
            )
        self.uri = str(self.path)

    def exists(self) -> bool:
        return bool(self.path.exists())

    def temp(self) -> Any:
        return self.path.parent / f"{self.path.name}.partial-{secrets.token_hex(4)}"

    def prepare(self) -> None:
        if self.local:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.is_dir() if self.local else call_quietly(self.path, "is_dir"):
            raise Xtreme1StorageError(f"Download destination {self.uri} is a directory.")

    def open_temp(self, temp: Any) -> IO[bytes]:
        return open(temp, "wb", buffering=_CHUNK) if self.local else temp.open("wb")

    def commit(self, temp: Any) -> None:
        if self.local:
            os.replace(temp, self.path)
        else:
            temp.rename(self.path)

    @staticmethod
    def discard(temp: Any) -> None:
        with contextlib.suppress(Exception):
            if isinstance(temp, Path):
                temp.unlink(missing_ok=True)
            elif temp.exists():
                temp.unlink()


def publish(tmp: Path, out: Path, *, overwrite: bool) -> None:
    """Move the finished local file ``tmp`` to ``out``; without ``overwrite`` never replace a file that
    appeared meanwhile (a hard link fails if ``out`` exists: no check-then-rename race)."""
    if overwrite:
        os.replace(tmp, out)
        return
    try:
        os.link(tmp, out)  # fails if the output appeared meanwhile: no check-then-rename race
    except FileExistsError:
        raise Xtreme1DestinationExistsError(
            f"{out}: output appeared while writing; not overwritten", out
        ) from None
    except OSError:  # file system without hard links
        if out.exists():
            raise Xtreme1DestinationExistsError(
                f"{out}: output appeared while writing; not overwritten", out
            ) from None
        os.replace(tmp, out)
        return
    tmp.unlink()


def call_quietly(obj: Any, method: str) -> bool:
    """``obj.method()`` as a bool; ``False`` when it raises (a store that cannot answer)."""
    try:
        return bool(getattr(obj, method)())
    except Exception:
        return False


def replace_path(new: Path, target: Path) -> None:
    """Move ``new`` to ``target``; an existing ``target`` is set aside first and removed after."""
    if not (target.exists() or target.is_symlink()):
        os.rename(new, target)
        return
    aside = target.with_name(f".{target.name}.replaced-{secrets.token_hex(4)}")
    os.rename(target, aside)
    try:
        os.rename(new, target)
    except BaseException:
        os.rename(aside, target)
        raise
    with contextlib.suppress(OSError):
        if aside.is_dir() and not aside.is_symlink():
            shutil.rmtree(aside)
        else:
            aside.unlink()
