"""Presigned-URL secrets never reach logs."""

from __future__ import annotations

import logging

from airflow_provider_xtreme1 import transfer

URL = (
    "http://h:8190/minio/xtreme1/1/2/abc/a.zip?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Credential=minioadmin%2F20261126%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261126T000000Z"
    "&X-Amz-Expires=604800&X-Amz-Security-Token=tok3n&X-Amz-SignedHeaders=host"
    "&X-Amz-Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)


def test_mask_url_hides_only_secrets():
    masked = transfer.mask_url(URL + "&token=t1&Signature=s1&response-content-type=application%2Fzip#frag")
    assert masked == (
        "http://h:8190/minio/xtreme1/1/2/abc/a.zip?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=***"
        "&X-Amz-Date=20261126T000000Z&X-Amz-Expires=604800&X-Amz-Security-Token=***&X-Amz-SignedHeaders=host"
        "&X-Amz-Signature=***&token=***&Signature=***&response-content-type=application%2Fzip#frag"
    )
    assert transfer.mask_url("http://h/x") == "http://h/x"


def test_protect_url_registers_values_with_airflow_masker():
    from airflow.sdk.log import _secrets_masker

    transfer.protect_url(URL)
    text = _secrets_masker().redact(
        "signature 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef, token tok3n, "
        "credential minioadmin/20261126/us-east-1/s3/aws4_request"
    )
    assert "0123456789abcdef" not in text and "tok3n" not in text and "minioadmin/2026" not in text


def test_httpx_request_log_lines_are_masked(faulty, tmp_path, caplog):
    (tmp_path / "a.zip").write_bytes(b"x" * 10)
    caplog.set_level(logging.INFO, logger="httpx")
    url = faulty.presigned("a.zip")
    transfer.upload(url, tmp_path / "a.zip")
    lines = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert lines and all("X-Amz-Signature=***" in line for line in lines)
    assert url.rsplit("=", 1)[1] not in caplog.text
