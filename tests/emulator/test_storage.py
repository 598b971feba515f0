"""The presigned object store behind /minio."""

from __future__ import annotations

import hashlib
import socket
import time
from urllib.parse import urlsplit

import requests


def _urls(api, name="obj.bin"):
    ds_id = api.dataset("IMAGE")
    return api.data(api.get("/data/generatePresignedUrl", fileName=name, datasetId=ds_id))


def test_presigned_urls_have_the_real_shape(emu, api):
    urls = _urls(api, "pkg.zip")
    put, access = urlsplit(urls["presignedUrl"]), urlsplit(urls["accessUrl"])
    assert f"{put.scheme}://{put.netloc}" == emu.url
    assert put.path.startswith("/minio/xtreme1/1/") and put.path.endswith("/pkg.zip")
    assert len(put.path.split("/")[5]) == 32
    assert access.netloc == "minio:9000" and access.path.startswith("/xtreme1/1/")
    for param in (
        "X-Amz-Algorithm=AWS4-HMAC-SHA256",
        "X-Amz-Credential=",
        "X-Amz-Date=",
        "X-Amz-Expires=604800",
        "X-Amz-SignedHeaders=host",
        "X-Amz-Signature=",
    ):
        assert param in put.query


def test_put_then_get_roundtrip_with_etag_and_range(emu, api):
    urls = _urls(api)
    payload = bytes(range(256)) * 4096
    put = requests.put(
        urls["presignedUrl"], data=payload, headers={"Content-Type": "application/zip"}, timeout=5
    )
    assert put.status_code == 200
    assert put.headers["ETag"] == f'"{hashlib.md5(payload).hexdigest()}"'
    key = urlsplit(urls["presignedUrl"]).path[len("/minio/xtreme1/") :]
    get_url = emu._signer.presign("GET", key, urlsplit(emu.url).netloc, 60)
    got = requests.get(get_url, timeout=5)
    assert got.status_code == 200 and got.content == payload
    part = requests.get(get_url, headers={"Range": "bytes=10-19"}, timeout=5)
    assert part.status_code == 206 and part.content == payload[10:20]
    log = emu.storage_log
    assert log[0]["method"] == "PUT" and log[0]["status"] == 200 and log[0]["bytes"] == len(payload)
    assert log[0]["headers"]["Content-Type"] == "application/zip"
    assert "Authorization" not in log[0]["headers"]
    assert log[1]["bytes"] == len(payload)


def test_bearer_header_on_presigned_put_is_400(emu, api):
    urls = _urls(api)
    resp = requests.put(
        urls["presignedUrl"], data=b"abc", headers={"Authorization": "Bearer secret-token"}, timeout=5
    )
    assert resp.status_code == 400
    assert "<Code>InvalidArgument</Code>" in resp.text and "Only one auth mechanism allowed" in resp.text
    assert emu.storage_log[-1]["headers"]["Authorization"] == "Bearer secret-token"


def test_tampered_signature_or_method_is_403_but_host_is_not_checked(emu, api):
    urls = _urls(api)
    url = urls["presignedUrl"]
    tampered = url[:-1] + ("0" if url[-1] != "0" else "1")
    resp = requests.put(tampered, data=b"abc", timeout=5)
    assert resp.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in resp.text
    # nginx proxies /minio/ with Host: minio:9000, the host every URL is signed for: another name
    # of the front, or a forged Host header, still verifies (deploy/nginx/conf.d/default.conf).
    assert requests.put(url.replace("127.0.0.1", "localhost"), data=b"abc", timeout=5).status_code == 200
    forged = requests.put(url, data=b"abcd", headers={"Host": "elsewhere:1"}, timeout=5)
    assert forged.status_code == 200
    assert requests.post(url, data=b"abc", timeout=5).status_code in (403, 405)
    assert requests.get(url, timeout=5).status_code == 403  # signed for PUT


def test_expired_url_is_403_access_denied(emu, api):
    emu.presign_expiry = 1
    urls = _urls(api)
    time.sleep(1.1)  # X-Amz-Date has second resolution: 1.1 s is past any 1 s expiry
    resp = requests.put(urls["presignedUrl"], data=b"abc", timeout=5)
    assert resp.status_code == 403
    assert "<Code>AccessDenied</Code>" in resp.text and "Request has expired" in resp.text


def test_chunked_put_is_411(emu, api):
    urls = _urls(api)
    resp = requests.put(urls["presignedUrl"], data=(b"x" * 10 for _ in range(3)), timeout=5)
    assert resp.status_code == 411 and "MissingContentLength" in resp.text


def test_dropped_put_stores_nothing(emu, api):
    urls = _urls(api)
    parts = urlsplit(urls["presignedUrl"])
    sock = socket.create_connection((parts.hostname, parts.port), timeout=5)
    sock.sendall(
        f"PUT {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        "Content-Length: 100000\r\n\r\n".encode()
        + b"y" * 5000
    )
    sock.shutdown(socket.SHUT_WR)
    sock.recv(65536)
    sock.close()
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and not emu.storage_log:
        time.sleep(0.01)
    key = parts.path[len("/minio/xtreme1/") :]
    assert not emu._objects.exists(key)
    assert emu.storage_log[-1]["bytes"] == 5000
    # the backend's own URL check agrees: nothing there
    body = {"fileUrl": urls["accessUrl"], "datasetId": 1, "source": "LOCAL"}
    assert api.upload_record(api.data(api.post("/data/upload", body)))["errorMessage"] == "File url error"
