"""TLS settings for the httpx clients (async API hook, presigned transfers), built once per process."""

from __future__ import annotations

import functools
import os
import ssl

import httpx


@functools.lru_cache(maxsize=8)
def ssl_context(verify: bool | str = True) -> bool | ssl.SSLContext:
    """What httpx wants for ``verify``: ``False``, or an SSL context for the system CAs or a CA bundle path.

    Loading a CA bundle costs 40-90 ms of CPU, which every client (one per trigger, one per transfer
    attempt) would pay again, blocking a triggerer's event loop meanwhile; so each is built once.

    :raises OSError, ssl.SSLError: the CA bundle cannot be read.
    """
    if verify is False:
        return False
    if verify is True:
        return httpx.create_ssl_context(verify=True, trust_env=True)
    where = os.fspath(verify)
    return ssl.create_default_context(**({"capath": where} if os.path.isdir(where) else {"cafile": where}))
