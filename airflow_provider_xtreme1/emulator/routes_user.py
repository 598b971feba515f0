"""``/actuator/health`` and ``/user/*``."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from .api import ApiError, Request, Response
from .state import USER_ID, iso

USER = {
    "id": USER_ID,
    "username": "emulator@xtreme1.local",
    "nickname": "emulator",
    "avatarId": None,
    "status": "NORMAL",
}


def health(emu, req: Request) -> Response:
    return Response(200, b'{"status":"UP"}', "application/vnd.spring-boot.actuator.v3+json")


def logged(emu, req: Request) -> dict[str, Any]:
    return {**USER, "lastLoginTime": iso(), "createdAt": iso(0), "updatedAt": iso(0)}


def token_create(emu, req: Request) -> dict[str, Any]:
    body = req.json_object() if req.body.strip() else {}
    expire = body.get("expireAt")
    expire_at = None
    if expire:
        try:
            parsed = datetime.fromisoformat(str(expire).replace("Z", "+00:00"))
        except ValueError:
            raise ApiError("UNKNOWN", "The date format is incorrect") from None
        if parsed.tzinfo is None:
            raise ApiError("UNKNOWN", "The date format is incorrect")
        expire_at = parsed.replace(hour=0, minute=0, second=0, microsecond=0).isoformat()
    store = emu._store
    with store.lock:
        tid = store.next_id("token")
        rec = {
            "id": tid,
            "token": "emu." + secrets.token_urlsafe(32),
            "tokenType": "API",
            "expireAt": expire_at,
            "createdAt": iso(),
            "updatedAt": iso(),
            "createdBy": USER_ID,
            "updatedBy": USER_ID,
        }
        store.api_tokens[tid] = rec
    return dict(rec)


def token_info(emu, req: Request) -> dict[str, Any] | None:
    with emu._store.lock:
        recs = sorted(emu._store.api_tokens.values(), key=lambda r: r["id"])
    return dict(recs[0]) if recs else None


def token_delete(emu, req: Request) -> None:
    emu._store.api_tokens.pop(req.path_long("id"), None)
    return None


ROUTES = [
    ("GET", "/actuator/health", health),
    ("GET", "/user/logged", logged),
    ("POST", "/user/api/token/create", token_create),
    ("GET", "/user/api/token/info", token_info),
    ("POST", "/user/api/token/delete/{id}", token_delete),
]
