"""Helpers of the reliability tests: fast retries, ingesting a folder, settling request logs, hashing
inputs, and a TLS endpoint with a self-signed certificate."""

from __future__ import annotations

import datetime
import hashlib
import re
import time
import uuid
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from xtreme1_testing import TEST_TOKEN

from airflow_provider_xtreme1.retries import RetryPolicy

#: Retries as the defaults do them, but in milliseconds: 3 attempts, deterministic waits.
FAST = RetryPolicy(max_retries=2, backoff=0.01, max_backoff=0.02, max_elapsed=10, jitter=False)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def wait_settled(emu: Any, path_regex: str, *, expect: int, limit: float = 5.0) -> list[dict]:
    """API and storage requests whose path matches ``path_regex``, once ``expect`` of them were logged and
    the emulator handles no request any more (it logs a request when it answers, so a delayed answer
    shows up late; waiting for idleness, not for a fixed time, also catches a surplus one on a slow
    machine)."""
    pattern = re.compile(path_regex)

    def found() -> list[dict]:
        return [r for r in emu.request_log + emu.storage_log if pattern.search(r["path"])]

    deadline = time.monotonic() + limit
    while len(found()) < expect and time.monotonic() < deadline:
        time.sleep(0.01)
    emu.wait_idle(limit)
    return found()


def tree_digest(root: Path) -> dict[str, str]:
    """``{relative path: sha256}`` of every file (``"dir"`` for folders) under ``root`` (or of ``root``)."""
    if not root.exists() and not root.is_symlink():
        return {}
    if root.is_file():
        return {root.name: hashlib.sha256(root.read_bytes()).hexdigest()}
    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        out[rel] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return out


# -------------------------------------------------------------------------------------------------
# A TLS endpoint with a self-signed certificate


def make_self_signed(folder: Path) -> tuple[Path, Path]:
    """A self-signed CA certificate for 127.0.0.1/localhost and its key (PEM files)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "xtreme1-test.local")])
    now = datetime.datetime.now(datetime.timezone.utc)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "self-signed.pem", folder / "self-signed.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


class TLSHandler(BaseHTTPRequestHandler):
    """Just enough of Xtreme1 and of a presigned store: ``/api/user/logged``, PUT and GET of objects."""

    protocol_version = "HTTP/1.1"
    objects: dict[str, bytes] = {}
    seen: list[tuple[str, str]] = []

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(
        self, status: int, body: bytes, content_type: str = "application/json", **headers: str
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.seen.append(("GET", self.path))
        path = self.path.split("?", 1)[0]
        if path == "/api/user/logged":
            if self.headers.get("Authorization") != f"Bearer {TEST_TOKEN}":
                self._answer(401, b'{"code":"LOGIN_STATUS_TIMEOUT","message":"timeout","data":null}')
            else:
                self._answer(200, b'{"code":"OK","message":"","data":{"id":1,"username":"tls"}}')
        elif path in self.objects:
            self._answer(200, self.objects[path], "application/zip")
        else:
            self._answer(
                404, b"<Error><Code>NoSuchKey</Code><Message>no</Message></Error>", "application/xml"
            )

    def do_PUT(self) -> None:
        self.seen.append(("PUT", self.path))
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.objects[self.path.split("?", 1)[0]] = body
        self._answer(200, b"", ETag=f'"{hashlib.md5(body).hexdigest()}"')


class TLSEndpoint:
    """A running HTTPS server: its URL, its certificate (the only CA that trusts it) and its handler."""

    def __init__(self, url: str, cert: Path, handler: type[TLSHandler]):
        self.url, self.cert, self.handler = url, cert, handler

    def presigned(self, key: str) -> str:
        return f"{self.url}/xtreme1/{key}?X-Amz-SignedHeaders=host&X-Amz-Signature={'ab' * 32}"
