"""The emulator's object storage answers presigned requests the way a real S3 store does.

Each case is sent, byte for byte the same, to rclone's ``serve s3`` (a real S3 implementation that
checks SigV4 like MinIO) and to the emulator's ``/minio`` storage. Both must refuse or accept it, with
the same class of status, and store nothing when they refuse. The one case that is not comparable is
the host: rclone is a direct endpoint, the emulator models MinIO behind Xtreme1's nginx (see there).
"""

from __future__ import annotations

import http.client
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import requests

from airflow_provider_xtreme1.emulator import Xtreme1Emulator

BODY = b"x" * 65536
TOKEN = "agreement-token"


@dataclass
class Store:
    name: str
    presign: Callable[[str, int], str]  # (key, expires) -> presigned PUT URL
    stored: Callable[[str], Path]  # the URL -> where the object would be on disk


@pytest.fixture(scope="module")
def own_emulator(tmp_path_factory):
    # Its own instance: some cases send a bearer header on purpose, which the shared one forbids.
    with Xtreme1Emulator(token=TOKEN, data_dir=str(tmp_path_factory.mktemp("agree")), step_delay=0.01) as emu:
        yield emu


@pytest.fixture(params=["rclone", "emulator"])
def store(request, s3, own_emulator) -> Store:
    if request.param == "rclone":
        return Store(
            "rclone",
            lambda key, expires: s3.presign("PUT", key, expires),
            lambda url: s3.root / unquote(urlsplit(url).path).lstrip("/"),
        )
    emu = own_emulator

    def presign(key: str, expires: int) -> str:
        emu.presign_expiry = expires
        answer = requests.get(
            f"{emu.url}/api/data/generatePresignedUrl",
            params={"fileName": key, "datasetId": 1},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=10,
        ).json()
        return answer["data"]["presignedUrl"]

    def stored(url: str) -> Path:
        key = unquote(urlsplit(url).path).removeprefix("/minio/xtreme1/")
        return Path(emu.data_dir, "store", "objects", *key.split("/"))

    return Store("emulator", presign, stored)


def put(url: str, *, headers: dict | None = None, chunked: bool = False) -> int:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    target = f"{parts.path}?{parts.query}"
    try:
        if chunked:
            conn.putrequest("PUT", target)
            conn.putheader("Transfer-Encoding", "chunked")
            conn.endheaders()
            conn.send(b"%x\r\n%s\r\n0\r\n\r\n" % (len(BODY), BODY))
        else:
            conn.request(
                "PUT", target, body=BODY, headers={"Content-Length": str(len(BODY)), **(headers or {})}
            )
        return conn.getresponse().status
    finally:
        conn.close()


def tamper(url: str) -> str:
    head, _, signature = url.rpartition("X-Amz-Signature=")
    return head + "X-Amz-Signature=" + ("0" if signature[0] != "0" else "1") + signature[1:]


CASES = {
    "plain": (lambda url: put(url), 200),
    "content-type-unsigned": (lambda url: put(url, headers={"Content-Type": "application/zip"}), 200),
    "bearer-header": (lambda url: put(url, headers={"Authorization": "Bearer abc"}), 400),
    "tampered-signature": (lambda url: put(tamper(url)), 403),
    # A direct S3 endpoint signs and checks the Host; Xtreme1's URLs go through nginx's /minio/, which
    # always presents Host: minio:9000 to MinIO, so the name the client used is not checked there.
    "other-host": (lambda url: put(url.replace("127.0.0.1", "localhost")), {"rclone": 403, "emulator": 200}),
    "chunked-body": (lambda url: put(url, chunked=True), 411),
}


@pytest.mark.parametrize("case", list(CASES))
def test_store_agrees_on(store, case):
    send, expected = CASES[case]
    if isinstance(expected, dict):
        expected = expected[store.name]
    url = store.presign(f"agree-{case}-{time.monotonic_ns()}.zip", 600)
    status = send(url)
    assert status == expected, f"{store.name} answered {status} to {case}"
    path = store.stored(url)
    assert path.exists() == (expected == 200), f"{store.name} stored={path.exists()} for {case}"


def test_expired_url_is_refused_by_both(store):
    url = store.presign(f"agree-expired-{time.monotonic_ns()}.zip", 1)
    time.sleep(2.2)
    status = put(url)
    # rclone answers 400 AccessDenied, MinIO/S3 and the emulator 403: both refuse and store nothing.
    assert status == {"rclone": 400, "emulator": 403}[store.name], f"{store.name} answered {status}"
    assert not store.stored(url).exists()
