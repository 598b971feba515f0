"""Pure tests of ``_api``: settings, builders, the envelope and the retry policy. No sockets."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from airflow.sdk import Connection

from airflow_provider_xtreme1 import _api, _responses
from airflow_provider_xtreme1._calls import ApiCall, RawResponse
from airflow_provider_xtreme1._connection import ConnectionSettings
from airflow_provider_xtreme1.exceptions import (
    Xtreme1ApiError,
    Xtreme1AuthError,
    Xtreme1ConfigError,
    Xtreme1NotFoundError,
    Xtreme1TransportError,
)
from airflow_provider_xtreme1.retries import RetryPolicy

TOKEN = "tok-4b1d9e7c5a"
JWT = "eyJhbGciOiJIUzUxMiJ9.eyJzdWIiOiIxIiwiaXNzIjoiQmFzaWNBSSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


def conn(host="http://x1:8190", *, password=TOKEN, schema=None, port=None, **extra) -> Connection:
    return Connection(
        conn_id="x1_conn",
        conn_type="xtreme1",
        host=host,
        schema=schema,
        port=port,
        password=password,
        extra=json.dumps(extra) if extra else None,
    )


# --------------------------------------------------------------------------------------------------
# Connection settings
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("connection", "base_url", "web_url"),
    [
        (conn("http://x1:8190"), "http://x1:8190/api", "http://x1:8190"),
        (conn("http://x1:8190/"), "http://x1:8190/api", "http://x1:8190"),
        (conn("http://x1:8190/api"), "http://x1:8190/api", "http://x1:8190"),
        (conn("http://x1:8190/api/"), "http://x1:8190/api", "http://x1:8190"),
        (conn("HTTPS://x1.example.com"), "https://x1.example.com/api", "https://x1.example.com"),
        (conn("x1", port=8190), "http://x1:8190/api", "http://x1:8190"),
        (conn("x1", schema="https"), "https://x1/api", "https://x1"),
        (conn("x1", schema="HTTPS", port=9443), "https://x1:9443/api", "https://x1:9443"),
        (conn("https://x1", port=9443), "https://x1:9443/api", "https://x1:9443"),
        (conn("http://x1:8190", port=8190), "http://x1:8190/api", "http://x1:8190"),  # the same port twice
        (
            conn("https://gw.example.com/xtreme1/"),
            "https://gw.example.com/xtreme1/api",
            "https://gw.example.com/xtreme1",
        ),
        (conn("  http://x1:8190  "), "http://x1:8190/api", "http://x1:8190"),
        (
            conn("http://x1:8190", web_url="https://ui.example.com/"),
            "http://x1:8190/api",
            "https://ui.example.com",
        ),
    ],
)
def test_settings_urls(connection, base_url, web_url):
    settings = ConnectionSettings.from_connection(connection)
    assert settings.base_url == base_url
    assert settings.web_url == web_url
    assert settings.conn_id == "x1_conn"
    assert settings.url("/dataset/info/3") == base_url + "/dataset/info/3"


@pytest.mark.parametrize(
    ("extra", "verify"),
    [
        ({}, True),
        ({"verify": True}, True),
        ({"verify": False}, False),
        ({"verify": "false"}, False),
        ({"verify": "True"}, True),
        ({"verify": None}, True),
        ({"verify": "/etc/ssl/corp-ca.pem"}, "/etc/ssl/corp-ca.pem"),
        ({"ca_bundle": "/etc/ssl/corp-ca.pem"}, "/etc/ssl/corp-ca.pem"),
        ({"verify": True, "ca_bundle": "/etc/ssl/corp-ca.pem"}, "/etc/ssl/corp-ca.pem"),
        ({"verify": False, "ca_bundle": "/etc/ssl/corp-ca.pem"}, False),
    ],
)
def test_settings_tls_verification(extra, verify):
    assert ConnectionSettings.from_connection(conn(**extra)).verify == verify


@pytest.mark.parametrize(
    ("extra", "hook_timeout", "read_timeout"),
    [
        ({}, None, 60.0),
        ({"timeout": 5}, None, 5.0),
        ({"timeout": "7.5"}, None, 7.5),
        ({"timeout": None}, None, 60.0),
        ({"timeout": 5}, 2.5, 2.5),  # the hook argument wins
        ({"request_timeout": 4}, None, 4.0),
        ({"request_timeout": 4, "timeout": 9}, None, 4.0),  # the older extra name only as a fallback
    ],
)
def test_settings_timeouts(extra, hook_timeout, read_timeout):
    settings = ConnectionSettings.from_connection(conn(**extra), request_timeout=hook_timeout)
    assert settings.read_timeout == read_timeout
    assert settings.connect_timeout == 10.0


@pytest.mark.parametrize(
    ("password", "token"),
    [(TOKEN, TOKEN), (f"  {TOKEN}\n", TOKEN), (f"Bearer {TOKEN}", TOKEN), (JWT, JWT)],
)
def test_settings_token(password, token):
    settings = ConnectionSettings.from_connection(conn(password=password))
    assert settings.token == token
    assert token not in repr(settings)


@pytest.mark.parametrize(
    ("connection", "fragment"),
    [
        (conn(password=None), "no API token"),
        (conn(password=""), "no API token"),
        (conn(password="   "), "no API token"),
        (conn(password="Bearer "), "no API token"),
        (conn(host=None), "no host"),
        (conn(host=""), "no host"),
        (conn("x1", schema="ftp"), "schema must be"),
        (conn("ftp://x1"), "not an http(s) URL"),
        (conn("http://"), "not an http(s) URL"),
        (conn("http://x1:port"), "invalid port"),
        (conn("http://x1:8190/?a=1"), "query or fragment"),
        (conn("http://x1:8190", port=9999), "holds port 8190 but the port field says 9999"),
        (conn(timeout=0), "timeout must be a positive"),
        (conn(timeout=-3), "timeout must be a positive"),
        (conn(timeout="soon"), "timeout must be a positive"),
        (conn(timeout=True), "timeout must be a positive"),
        (conn(verify=3), "'verify' must be"),
        (conn(web_url="ui.example.com"), "'web_url' must be"),
    ],
)
def test_settings_config_errors_name_the_connection(connection, fragment):
    with pytest.raises(Xtreme1ConfigError, match="x1_conn") as excinfo:
        ConnectionSettings.from_connection(connection)
    assert fragment in str(excinfo.value)
    assert TOKEN not in str(excinfo.value)


def test_dataset_url_uses_hash_route_of_web_app():
    settings = ConnectionSettings.from_connection(conn(web_url="https://ui.example.com"))
    assert settings.dataset_url(42) == "https://ui.example.com/#/datasets/data?id=42"
    assert (
        ConnectionSettings.from_connection(conn()).dataset_url("7") == "http://x1:8190/#/datasets/data?id=7"
    )


# --------------------------------------------------------------------------------------------------
# Builders
# --------------------------------------------------------------------------------------------------

BUILDERS = [
    (_api.current_user(), "GET", "/user/logged", {}, None, True),
    (
        _api.create_dataset("cars", "LIDAR_FUSION", "front camera"),
        "POST",
        "/dataset/create",
        {},
        {"name": "cars", "type": "LIDAR_FUSION", "description": "front camera"},
        False,
    ),
    (
        _api.create_dataset("cars", "IMAGE"),
        "POST",
        "/dataset/create",
        {},
        {"name": "cars", "type": "IMAGE"},
        False,
    ),
    (_api.get_dataset(12), "GET", "/dataset/info/12", {}, None, True),
    (_api.get_dataset("12"), "GET", "/dataset/info/12", {}, None, True),
    (
        _api.find_datasets("car", "IMAGE", 2, 50),
        "GET",
        "/dataset/findByPage",
        {"pageNo": "2", "pageSize": "50", "name": "car", "type": "IMAGE"},
        None,
        True,
    ),
    (_api.find_datasets(), "GET", "/dataset/findByPage", {"pageNo": "1", "pageSize": "10"}, None, True),
    (_api.delete_dataset(12), "POST", "/dataset/delete/12", {}, None, False),
    (_api.get_dataset_classes(12), "GET", "/datasetClass/findAll/12", {}, None, True),
    (
        _api.get_presigned_upload_url(12, "batch-01.zip"),
        "GET",
        "/data/generatePresignedUrl",
        {"fileName": "batch-01.zip", "datasetId": "12"},
        None,
        True,
    ),
    (
        _api.start_import(12, "http://minio:9000/x1/k.zip?sig=1"),
        "POST",
        "/data/upload",
        {},
        {"fileUrl": "http://minio:9000/x1/k.zip?sig=1", "datasetId": 12, "source": "LOCAL"},
        False,
    ),
    (
        _api.start_import(
            12, "http://s/a.zip", source="URL", result_type="MODEL_RUN", model_id=3, data_format="COCO"
        ),
        "POST",
        "/data/upload",
        {},
        {
            "fileUrl": "http://s/a.zip",
            "datasetId": 12,
            "source": "URL",
            "resultType": "MODEL_RUN",
            "modelId": 3,
            "dataFormat": "COCO",
        },
        False,
    ),
    (
        _api.get_upload_records(["1790000000000000001", 1790000000000000002]),
        "GET",
        "/data/findUploadRecordBySerialNumbers",
        {"serialNumbers": "1790000000000000001,1790000000000000002"},
        None,
        True,
    ),
    (
        _api.get_upload_records("1790000000000000001"),
        "GET",
        "/data/findUploadRecordBySerialNumbers",
        {"serialNumbers": "1790000000000000001"},
        None,
        True,
    ),
    (
        _api.find_data(12, page_no=3, page_size=100, parent_id=7, ids=[1, 2], annotation_status="ANNOTATED"),
        "GET",
        "/data/findByPage",
        {
            "parentId": "7",
            "ids": "1,2",
            "annotationStatus": "ANNOTATED",
            "datasetId": "12",
            "pageNo": "3",
            "pageSize": "100",
        },
        None,
        True,
    ),
    (
        _api.start_export(12),
        "GET",
        "/data/export",
        {"datasetId": "12", "selectModelRunIds": "-1", "dataFormat": "XTREME1"},
        None,
        False,
    ),
    (
        _api.start_export(
            12, select_model_run_ids=[-1, 55, 56], data_format="COCO", sortField="NAME", asc_or_desc="ASC"
        ),
        "GET",
        "/data/export",
        {
            "sortField": "NAME",
            "ascOrDesc": "ASC",
            "datasetId": "12",
            "selectModelRunIds": "-1,55,56",
            "dataFormat": "COCO",
        },
        None,
        False,
    ),
    (
        _api.get_export_records(("1", "2")),
        "GET",
        "/data/findExportRecordBySerialNumbers",
        {"serialNumbers": "1,2"},
        None,
        True,
    ),
    (_api.list_models(), "GET", "/model/list", {}, None, True),
    (_api.list_models("LIDAR_FUSION"), "GET", "/model/list", {"datasetType": "LIDAR_FUSION"}, None, True),
    (_api.get_model(2), "GET", "/model/info/2", {}, None, True),
    (
        _api.count_model_run_data(12, 1, data_count_ratio=50, exclude_model_data=True, split_type="TEST"),
        "GET",
        "/model/modelRun/dataCount",
        {
            "datasetId": "12",
            "modelId": "1",
            "isExcludeModelData": "true",
            "dataCountRatio": "50",
            "splitType": "TEST",
        },
        None,
        True,
    ),
    (
        _api.start_model_run(
            12, 1, classes=["CAR", "BUS"], min_confidence=0.5, annotation_status="NOT_ANNOTATED"
        ),
        "POST",
        "/model/modelRun",
        {},
        {
            "datasetId": 12,
            "modelId": 1,
            "resultFilterParam": {"classes": ["CAR", "BUS"], "minConfidence": 0.5},
            "dataFilterParam": {
                "dataCountRatio": 100,
                "isExcludeModelData": False,
                "annotationStatus": "NOT_ANNOTATED",
            },
        },
        False,
    ),
    (
        _api.start_model_run(12, 1, classes="CAR"),
        "POST",
        "/model/modelRun",
        {},
        {
            "datasetId": 12,
            "modelId": 1,
            "resultFilterParam": {"classes": ["CAR"]},
            "dataFilterParam": {"dataCountRatio": 100, "isExcludeModelData": False},
        },
        False,
    ),
    (
        _api.find_model_runs(1, dataset_ids=[12, 13], status="RUNNING", page_size=1),
        "GET",
        "/modelRun/findModelRunRecordByPage",
        {
            "modelId": "1",
            "datasetIds": "12,13",
            "status": "RUNNING",
            "ascOrDesc": "DESC",
            "pageNo": "1",
            "pageSize": "1",
        },
        None,
        True,
    ),
    (
        _api.find_model_runs(1, asc=True),
        "GET",
        "/modelRun/findModelRunRecordByPage",
        {"modelId": "1", "ascOrDesc": "ASC", "pageNo": "1", "pageSize": "10"},
        None,
        True,
    ),
    (_api.get_model_runs_of_dataset(12), "GET", "/modelRun/findModelRunRecordByDatasetId/12", {}, None, True),
    (_api.get_finished_model_runs(12), "GET", "/modelRun/getDatasetModelRunResult/12", {}, None, True),
    (
        _api.get_raw_annotations([5, "6"]),
        "GET",
        "/annotate/data/listByDataIds",
        {"dataIds": "5,6"},
        None,
        True,
    ),
    (
        _api.get_job_records("import", ["9"]),
        "GET",
        "/data/findUploadRecordBySerialNumbers",
        {"serialNumbers": "9"},
        None,
        True,
    ),
    (
        _api.get_job_records("export", "9"),
        "GET",
        "/data/findExportRecordBySerialNumbers",
        {"serialNumbers": "9"},
        None,
        True,
    ),
    (
        _api.get_job_records("model_run", [4], dataset_id=12),
        "GET",
        "/modelRun/findModelRunRecordByDatasetId/12",
        {},
        None,
        True,
    ),
]


@pytest.mark.parametrize(("call", "method", "path", "params", "body", "idempotent"), BUILDERS)
def test_builders(call: ApiCall, method, path, params, body, idempotent):
    assert (call.method, call.path, dict(call.params), call.json, call.idempotent) == (
        method,
        path,
        params,
        body,
        idempotent,
    )
    assert call.endpoint == f"{method} {path}"


@pytest.mark.parametrize(
    ("build", "fragment"),
    [
        (lambda: _api.create_dataset("", "IMAGE"), "name"),
        (lambda: _api.create_dataset("x", "VIDEO"), "dataset_type"),
        (lambda: _api.create_dataset("n" * 256, "IMAGE"), "name is 256 characters long"),
        (lambda: _api.get_dataset("abc"), "dataset_id"),
        (lambda: _api.get_dataset(True), "dataset_id"),
        (lambda: _api.get_dataset(1.5), "dataset_id"),
        (lambda: _api.find_datasets(page_no=0), "page_no"),
        (lambda: _api.find_datasets(page_size=0), "page_size"),
        (lambda: _api.get_presigned_upload_url(1, "my file.zip"), "file_name"),
        (lambda: _api.get_presigned_upload_url(1, "a%20b.zip"), "file_name"),
        (lambda: _api.get_presigned_upload_url(1, "dir/a.zip"), "file_name"),
        (lambda: _api.start_import(1, ""), "file_url"),
        (lambda: _api.start_import(1, "http://s/a.zip", source="S3"), "source"),
        (lambda: _api.start_import(1, "http://s/a.zip", result_type="MODEL_RUN"), "model_id"),
        (lambda: _api.start_import(1, "http://s/a.zip", data_format="KITTI"), "data_format"),
        (lambda: _api.get_upload_records([]), "serial_numbers"),
        (lambda: _api.get_export_records(""), "serial_numbers"),
        (lambda: _api.find_data(1, sort_field="NAME"), "asc_or_desc"),
        (lambda: _api.find_data(1, data_ids=[1]), "'ids'"),
        (lambda: _api.find_data(1, annotation_status="DONE"), "annotation_status"),
        (lambda: _api.start_export(1, split_type="ALL"), "split_type"),
        (lambda: _api.list_models("VIDEO"), "dataset_type"),
        (lambda: _api.start_model_run(1, 2, classes=[]), "classes"),
        (lambda: _api.start_model_run(1, 2, classes=["  "]), "classes"),
        (lambda: _api.start_model_run(1, 2, classes=["CAR"], min_confidence=1.5), "minConfidence"),
        (
            lambda: _api.start_model_run(1, 2, classes=["CAR"], min_confidence=0.9, max_confidence=0.1),
            "min_conf",
        ),
        (lambda: _api.start_model_run(1, 2, classes=["CAR"], data_count_ratio=0), "data_count_ratio"),
        (lambda: _api.start_model_run(1, 2, classes=["CAR"], data_count_ratio=101), "data_count_ratio"),
        (lambda: _api.count_model_run_data(1, 2, data_count_ratio=50.5), "data_count_ratio"),
        (lambda: _api.find_model_runs(1, status="DONE"), "status"),
        (lambda: _api.get_raw_annotations([]), "data_ids"),
        (lambda: _api.get_job_records("model_run", ["1"]), "dataset_id"),
        (lambda: _api.get_job_records("import", []), "ids"),
    ],
)
def test_builders_reject_bad_arguments(build, fragment):
    with pytest.raises(ValueError, match=fragment):
        build()


def test_empty_export_sources_warn():
    with pytest.warns(UserWarning, match="no annotations"):
        call = _api.start_export(1, select_model_run_ids=[])
    assert "selectModelRunIds" not in call.params


def respond(call: ApiCall, data, status: int = 200, content_type: str = "application/json"):
    body = json.dumps({"code": "OK", "message": "", "data": data}).encode()
    return _responses.handle(call, RawResponse(status, content_type, body))


def test_parsers_keep_serial_numbers_as_strings():
    assert respond(_api.start_import(1, "http://s/a.zip"), 1790000000000000001) == "1790000000000000001"
    assert (
        respond(_api.start_export(1), "1790000000000000002", content_type="text/plain")
        == "1790000000000000002"
    )
    records = respond(_api.get_upload_records("1"), [{"serialNumber": 1, "status": "PARSING"}])
    assert records == [{"serialNumber": "1", "status": "PARSING"}]
    page = respond(_api.find_model_runs(1), {"total": 1, "list": [{"id": 3, "modelSerialNo": 17}]})
    assert page["list"][0]["modelSerialNo"] == "17"
    assert respond(_api.get_model(9), None) is None
    assert respond(_api.count_model_run_data(1, 2), 7) == 7
    assert respond(_api.delete_dataset(1), None) is None
    assert respond(_api.get_upload_records("1"), None) == []


@pytest.mark.parametrize(
    ("call", "data"),
    [
        (_api.start_import(1, "http://s/a.zip"), None),
        (_api.start_export(1), {"serial": 1}),
        (_api.get_upload_records("1"), {"not": "a list"}),
        (_api.get_presigned_upload_url(1, "a.zip"), {"presignedUrl": "http://x"}),
        (_api.count_model_run_data(1, 2), "many"),
    ],
)
def test_parsers_reject_malformed_data(call, data):
    with pytest.raises(Xtreme1TransportError, match="unexpected data"):
        respond(call, data)


def test_job_records_are_keyed_by_string_ids_and_filtered():
    imports = respond(
        _api.get_job_records("import", ["11", "12"]),
        [{"serialNumber": 11, "status": "PARSING"}, {"serialNumber": "99", "status": "FAILED"}],
    )
    assert imports == {"11": {"serialNumber": "11", "status": "PARSING"}}
    runs = respond(
        _api.get_job_records("model_run", [4, "6"], dataset_id=12),
        [{"id": 4, "status": "RUNNING"}, {"id": 5, "status": "SUCCESS"}, {"id": 6, "status": "FAILURE"}],
    )
    assert sorted(runs) == ["4", "6"]
    assert runs["6"]["status"] == "FAILURE"


def drive(flow, pages):
    """Run a request flow against canned results; return (result, calls made)."""
    calls = []
    try:
        call = next(flow)
        while True:
            calls.append(call)
            call = flow.send(pages[len(calls) - 1])
    except StopIteration as done:
        return done.value, calls


def test_find_dataset_by_name_wants_an_exact_match_across_pages():
    page1 = {"total": 150, "list": [{"id": i, "name": f"cars-{i}"} for i in range(100)]}
    page2 = {"total": 150, "list": [{"id": 500, "name": "cars"}]}
    found, calls = drive(_api.find_dataset_by_name("cars"), [page1, page2])
    assert found == {"id": 500, "name": "cars"}
    assert [c.params["pageNo"] for c in calls] == ["1", "2"]
    assert calls[0].params["name"] == "cars"

    missing, calls = drive(
        _api.find_dataset_by_name("cars"), [{"total": 1, "list": [{"id": 1, "name": "cars2"}]}]
    )
    assert missing is None and len(calls) == 1
    nothing, calls = drive(_api.find_dataset_by_name("cars"), [{"total": 0, "list": []}])
    assert nothing is None and len(calls) == 1


def test_find_dataset_by_name_compares_like_the_servers_database():
    """Case, accents and trailing spaces do not count; the LIKE search goes out without trailing spaces
    (they would count there) and its wildcard matches are not taken for the name."""
    page = {
        "total": 3,
        "list": [{"id": 1, "name": "teamX1-cafe"}, {"id": 2, "name": "team_1-Café"}, {"id": 3, "name": "x"}],
    }
    found, calls = drive(_api.find_dataset_by_name("TEAM_1-cafe  "), [page])
    assert found == {"id": 2, "name": "team_1-Café"}
    assert calls[0].params["name"] == "TEAM_1-cafe"
    with pytest.raises(ValueError, match="name must not be empty"):
        next(_api.find_dataset_by_name("   "))


# --------------------------------------------------------------------------------------------------
# The envelope
# --------------------------------------------------------------------------------------------------


def envelope(code="OK", message="", data=None) -> bytes:
    return json.dumps({"code": code, "message": message, "data": data}).encode()


NGINX_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1>"
    b"</center>\r\n<hr><center>nginx/1.23.1</center>\r\n</body>\r\n</html>\r\n"
)


@pytest.mark.parametrize(
    ("status", "content_type", "body", "expected", "code"),
    [
        (200, "application/json", envelope(data={"id": 1}), {"id": 1}, None),
        (200, "application/json", envelope(data=None), None, None),
        (200, "application/json", envelope(data=[1, 2]), [1, 2], None),
        (
            200,
            "text/plain;charset=UTF-8",
            b'{"code":"OK","message":"","data":"1790000000000000001"}',
            "1790000000000000001",
            None,
        ),
        (200, "", envelope(data=0), 0, None),
        (
            200,
            "application/json",
            envelope("PARAM_ERROR", '["datasetId datasetId cannot be null"]'),
            Xtreme1ApiError,
            "PARAM_ERROR",
        ),
        (
            200,
            "application/json",
            envelope("DATASET_NAME_DUPLICATED", "Dataset duplicate name"),
            Xtreme1ApiError,
            "DATASET_NAME_DUPLICATED",
        ),
        (
            200,
            "application/json",
            envelope("NOT_FOUND", "Resource not found"),
            Xtreme1NotFoundError,
            "NOT_FOUND",
        ),
        (200, "application/json", envelope("DATASET_NOT_FOUND"), Xtreme1NotFoundError, "DATASET_NOT_FOUND"),
        (200, "application/json", envelope("DATASET__NOT_EXIST"), Xtreme1NotFoundError, "DATASET__NOT_EXIST"),
        (
            200,
            "application/json",
            envelope("MODEL_DOES_NOT_EXIST"),
            Xtreme1NotFoundError,
            "MODEL_DOES_NOT_EXIST",
        ),
        (
            200,
            "application/json",
            envelope("UNKNOWN", "model's dataset type is not match dataset type"),
            Xtreme1ApiError,
            "UNKNOWN",
        ),
        (
            500,
            "application/json",
            envelope("UNKNOWN", "java.lang.NullPointerException"),
            Xtreme1ApiError,
            "UNKNOWN",
        ),
        (
            400,
            "application/json",
            envelope("PARAM_ERROR", "classes:must not be empty;"),
            Xtreme1ApiError,
            "PARAM_ERROR",
        ),
        (
            401,
            "application/json",
            envelope("LOGIN_STATUS_TIMEOUT", "User login status timeout"),
            Xtreme1AuthError,
            "LOGIN_STATUS_TIMEOUT",
        ),
        (200, "application/json", envelope("LOGIN_STATUS_TIMEOUT"), Xtreme1AuthError, "LOGIN_STATUS_TIMEOUT"),
        (
            401,
            "text/html",
            b"<html><title>401 Authorization Required</title></html>",
            Xtreme1AuthError,
            "HTTP_401",
        ),
        (
            404,
            "application/json",
            envelope(data={"status": 404, "error": "Not Found", "path": "/nope"}),
            Xtreme1NotFoundError,
            "HTTP_404",
        ),
        (405, "application/json", envelope(data={"status": 405}), Xtreme1ApiError, "HTTP_405"),
        (200, "application/json", b"", Xtreme1TransportError, None),
        (200, "text/html", b"<html><body>Welcome to nginx!</body></html>", Xtreme1TransportError, None),
        (200, "application/json", b'{"status": "UP"}', Xtreme1TransportError, None),
        (200, "application/json", b"[1, 2]", Xtreme1TransportError, None),
        (
            500,
            "text/html",
            b"<html><title>500 Internal Server Error</title></html>",
            Xtreme1TransportError,
            None,
        ),
        (502, "text/html", NGINX_502, Xtreme1TransportError, None),
        (502, "", b"", Xtreme1TransportError, None),
        (503, "application/json", envelope(data={"x": 1}), Xtreme1TransportError, None),
        (429, "text/plain", b"slow down", Xtreme1TransportError, None),
    ],
)
def test_unwrap(status, content_type, body, expected, code):
    if isinstance(expected, type) and issubclass(expected, Exception):
        with pytest.raises(expected) as excinfo:
            _responses.unwrap("GET /dataset/info/1", status, content_type, body)
        error = excinfo.value
        assert type(error) is expected
        if code is not None:
            assert error.code == code
            assert error.http_status == status
            assert error.endpoint == "GET /dataset/info/1"
        if isinstance(error, Xtreme1TransportError):
            assert error.status == status
            assert f"HTTP {status}" in str(error)
    else:
        assert _responses.unwrap("GET /dataset/info/1", status, content_type, body) == expected


def test_unwrap_keeps_retry_after_and_quotes_a_short_clean_snippet():
    with pytest.raises(Xtreme1TransportError) as excinfo:
        _responses.unwrap("GET /x", 502, "text/html", NGINX_502, retry_after=3)
    assert excinfo.value.retry_after == 3
    assert "502 Bad Gateway" in str(excinfo.value) and "<html>" not in str(excinfo.value)

    leaky = (
        f"<html><body>upstream said: Authorization: Bearer {TOKEN} and {JWT} at "
        "http://x/minio/x1/k.zip?X-Amz-Credential=AKIA%2F2026&X-Amz-Signature=abcdef0123456789 "
        f"token={TOKEN} " + "padding " * 60 + "</body></html>"
    ).encode()
    with pytest.raises(Xtreme1TransportError) as excinfo:
        _responses.unwrap("GET /x", 200, "text/html", leaky)
    quoted = str(excinfo.value).split("Body: ", 1)[1]
    assert len(quoted) <= 200
    for secret in (TOKEN, JWT, "abcdef0123456789", "AKIA"):
        assert secret not in str(excinfo.value)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(None, None), ("", None), ("7", 7.0), (" 0 ", 0.0), ("1.5", 1.5), ("-4", 0.0), ("soon", None)],
)
def test_parse_retry_after_seconds(value, seconds):
    assert _responses.parse_retry_after(value) == seconds


def test_parse_retry_after_http_date():
    now = datetime(2026, 11, 26, 12, 0, 0, tzinfo=timezone.utc)
    assert (
        _responses.parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now=now)
        == 30.0
    )
    assert (
        _responses.parse_retry_after(format_datetime(now - timedelta(seconds=30), usegmt=True), now=now)
        == 0.0
    )


# --------------------------------------------------------------------------------------------------
# Transport failures and the retry policy
# --------------------------------------------------------------------------------------------------

GET_CALL = _api.get_upload_records("1")
UPLOAD_CALL = _api.start_import(1, "http://s/a.zip")


@pytest.mark.parametrize(
    ("call", "phase", "retryable", "may_have_acted"),
    [
        (GET_CALL, _responses.CONNECT, True, False),
        (GET_CALL, _responses.SENT, True, False),
        (GET_CALL, _responses.READ_TIMEOUT, True, False),
        (GET_CALL, _responses.TLS, False, False),
        (UPLOAD_CALL, _responses.CONNECT, True, False),
        (UPLOAD_CALL, _responses.SENT, False, True),
        (UPLOAD_CALL, _responses.READ_TIMEOUT, False, True),
        (_api.start_export(1), _responses.SENT, False, True),
        (_api.delete_dataset(1), _responses.READ_TIMEOUT, False, True),
    ],
)
def test_transport_failure(call, phase, retryable, may_have_acted):
    error = _responses.transport_failure(call, phase, f"boom Bearer {TOKEN}")
    assert isinstance(error, Xtreme1TransportError) and error.status is None
    assert _responses.is_retryable(error) is retryable
    assert ("may have processed it" in str(error)) is may_have_acted
    assert call.endpoint in str(error)
    assert TOKEN not in str(error)


def transport(status=None, retry_after=None):
    return Xtreme1TransportError("x", status=status, retry_after=retry_after)


def api_error(cls=Xtreme1ApiError, code="PARAM_ERROR", status=200):
    return cls(code, "m", http_status=status, endpoint="GET /x")


STEADY = RetryPolicy(jitter=False)  # backoff 1, 2, 4, 8 … capped at 30; 4 retries; 300 s budget

RETRY_TABLE = [
    # (attempt, error, elapsed, delay or None)
    (
        "connection refused",
        1,
        _responses.transport_failure(GET_CALL, _responses.CONNECT, "refused"),
        0.0,
        1.0,
    ),
    (
        "dropped GET, 2nd failure",
        2,
        _responses.transport_failure(GET_CALL, _responses.SENT, "reset"),
        0.0,
        2.0,
    ),
    (
        "read timeout on GET",
        3,
        _responses.transport_failure(GET_CALL, _responses.READ_TIMEOUT, "timeout"),
        0.0,
        4.0,
    ),
    ("502", 1, transport(502), 0.0, 1.0),
    ("503", 4, transport(503), 0.0, 8.0),
    ("504", 2, transport(504), 0.0, 2.0),
    ("429 with Retry-After", 1, transport(429, retry_after=7), 0.0, 7.0),
    ("429 without Retry-After", 1, transport(429), 0.0, 1.0),
    ("429 Retry-After above the cap", 1, transport(429, retry_after=121), 0.0, None),
    ("retries exhausted", 5, transport(503), 0.0, None),
    ("time budget spent", 2, transport(503), 299.5, None),
    (
        "dropped upload (may have acted)",
        1,
        _responses.transport_failure(UPLOAD_CALL, _responses.SENT, "reset"),
        0.0,
        None,
    ),
    (
        "upload read timeout",
        1,
        _responses.transport_failure(UPLOAD_CALL, _responses.READ_TIMEOUT, "t"),
        0.0,
        None,
    ),
    (
        "upload refused before sending",
        1,
        _responses.transport_failure(UPLOAD_CALL, _responses.CONNECT, "r"),
        0.0,
        1.0,
    ),
    ("TLS failure", 1, _responses.transport_failure(GET_CALL, _responses.TLS, "cert"), 0.0, None),
    ("non-JSON 500", 1, transport(500), 0.0, None),
    ("empty 200", 1, transport(200), 0.0, None),
    ("business error", 1, api_error(), 0.0, None),
    ("500 UNKNOWN", 1, api_error(code="UNKNOWN", status=500), 0.0, None),
    ("401", 1, api_error(Xtreme1AuthError, "LOGIN_STATUS_TIMEOUT", 401), 0.0, None),
    ("not found", 1, api_error(Xtreme1NotFoundError, "NOT_FOUND"), 0.0, None),
    ("config error", 1, Xtreme1ConfigError("no token"), 0.0, None),
]


@pytest.mark.parametrize(
    ("attempt", "error", "elapsed", "delay"), [r[1:] for r in RETRY_TABLE], ids=[r[0] for r in RETRY_TABLE]
)
def test_retry_policy(attempt, error, elapsed, delay):
    assert STEADY.next_delay(attempt, error, elapsed, retryable=_responses.is_retryable) == delay


def test_backoff_is_capped_and_fully_jittered():
    assert (
        RetryPolicy(jitter=False, max_retries=10).next_delay(
            7, transport(503), 0, retryable=_responses.is_retryable
        )
        == 30.0
    )
    half = RetryPolicy(random=lambda: 0.5)
    assert [
        half.next_delay(n, transport(503), 0, retryable=_responses.is_retryable) for n in (1, 2, 3, 4)
    ] == [0.5, 1.0, 2.0, 4.0]
    real = RetryPolicy()
    delays = [real.next_delay(3, transport(503), 0, retryable=_responses.is_retryable) for _ in range(200)]
    assert all(0 <= d <= 4.0 for d in delays) and len(set(delays)) > 1


def test_retry_policy_rejects_negative_values():
    with pytest.raises(ValueError):
        RetryPolicy(max_retries=-1)


@pytest.mark.parametrize(
    ("call", "status", "retryable"),
    [
        (GET_CALL, 502, True),
        (GET_CALL, 504, True),
        (UPLOAD_CALL, 503, True),  # refused by the proxy: nothing happened
        (UPLOAD_CALL, 429, True),
        (UPLOAD_CALL, 502, False),  # the backend may have got it
        (UPLOAD_CALL, 504, False),
        (_api.start_model_run(1, 2, classes=["CAR"]), 504, False),
    ],
)
def test_gateway_errors_on_calls_that_start_something(call, status, retryable):
    with pytest.raises(Xtreme1TransportError) as excinfo:
        _responses.handle(call, RawResponse(status, "text/html", NGINX_502, retry_after=None))
    assert excinfo.value.status == status
    assert _responses.is_retryable(excinfo.value) is retryable
    assert ("may have processed it" in str(excinfo.value)) is (not retryable)
