"""The emulator's API answers as Xtreme1's source says it does: one row per (endpoint, input case).

Each row names the Java file (under ``backend/src/main/java/ai/basic/x1/``) whose validation
annotations, exception handler or mapper SQL decide the answer, and gives the HTTP status, the
envelope ``code`` and the message (exact, or ``...``-terminated prefix). Requests go over real HTTP.
Rows share one emulator seeded with datasets ``Main`` (LIDAR_FUSION, empty) and ``Café`` (IMAGE,
two images imported), run in order; none of them changes what a later row relies on.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from conformance_kit import (
    ERR,
    NOT_READABLE,
    C,
    D,
    Row,
    assert_conforms,
    bad,
    cases,
    ok,
    send,
    uncovered_routes,
    unknown,
)
from emulator_kit import TOKEN, Api, image_bytes, make_zip

from airflow_provider_xtreme1.emulator import Xtreme1Emulator

DUP = ("DATASET_NAME_DUPLICATED", "Dataset duplicate name")
TYPE_MSG = '["type dataset type must be one of LIDAR_FUSION, LIDAR_BASIC, IMAGE,TEXT"]'
MEDIA = "org.springframework.web.HttpMediaTypeNotSupportedException: Content type '{}' not supported"
INT_MISMATCH = (
    "org.springframework.web.method.annotation.MethodArgumentTypeMismatchException: Failed to convert value "
    "of type 'java.lang.String' to required type 'java.lang.Integer'; nested exception is "
    'java.lang.NumberFormatException: For input string: "abc"'
)
LIST_MISMATCH = (
    "org.springframework.web.method.annotation.MethodArgumentTypeMismatchException: Failed to convert value "
    "of type 'java.lang.String' to required type 'java.util.List'..."
)
TOO_LONG = "org.springframework.dao.DataIntegrityViolationException: ..."
BAD_SQL = "org.springframework.jdbc.BadSqlGrammarException: ..."
MISSING_PARAM = "org.springframework.web.bind.MissingServletRequestParameterException: Required request ..."
NPE = "java.lang.NullPointerException"
DS = {"name": "x", "type": "IMAGE"}


def names(data: Any) -> list[str]:
    return [d["name"] for d in data["list"]]


ROWS: dict[str, Row] = {
    # ---- POST /dataset/create: DatasetRequestDTO (GroupInsert), DatasetUseCase.create, uk_name
    "create-new": ok(
        C + "DatasetController.java",
        "POST",
        "/dataset/create",
        body={"name": "Fresh", "type": "TEXT"},
        check=lambda d: d["name"] == "Fresh" and d["itemCount"] is None and d["datas"] is None,
    ),
    "create-upper-case-dup": bad(
        "usecase/DatasetUseCase.java", "POST", "/dataset/create", *DUP, body={"name": "MAIN", "type": "IMAGE"}
    ),
    "create-trailing-space-dup": bad(
        "usecase/DatasetUseCase.java",
        "POST",
        "/dataset/create",
        *DUP,
        body={"name": "Main ", "type": "IMAGE"},
    ),
    "create-accent-folded-dup": bad(
        "usecase/DatasetUseCase.java", "POST", "/dataset/create", *DUP, body={"name": "Cafe", "type": "IMAGE"}
    ),
    "create-accent-upper-dup": bad(
        "usecase/DatasetUseCase.java", "POST", "/dataset/create", *DUP, body={"name": "CAFÉ", "type": "TEXT"}
    ),
    "create-leading-space-is-new": ok(
        "usecase/DatasetUseCase.java", "POST", "/dataset/create", body={"name": " Main", "type": "TEXT"}
    ),
    "create-name-missing": bad(
        D + "request/DatasetRequestDTO.java",
        "POST",
        "/dataset/create",
        "PARAM_ERROR",
        '["name name cannot be null"]',
        body={"type": "IMAGE"},
    ),
    "create-name-empty": bad(
        D + "request/DatasetRequestDTO.java",
        "POST",
        "/dataset/create",
        "PARAM_ERROR",
        '["name name cannot be null"]',
        body={"name": "", "type": "IMAGE"},
    ),
    "create-type-missing": bad(
        D + "request/DatasetRequestDTO.java",
        "POST",
        "/dataset/create",
        "PARAM_ERROR",
        '["type dataset type cannot be null"]',
        body={"name": "t-missing"},
    ),
    "create-type-VIDEO": bad(
        D + "request/DatasetRequestDTO.java",
        "POST",
        "/dataset/create",
        "PARAM_ERROR",
        TYPE_MSG,
        body={"name": "t-video", "type": "VIDEO"},
    ),
    "create-type-lower-case": bad(
        "adapter/api/annotation/valid/StringEnumerationValidator.java",
        "POST",
        "/dataset/create",
        "PARAM_ERROR",
        TYPE_MSG,
        body={"name": "t-lc", "type": "image"},
    ),
    "create-name-255-chars": ok(
        C + "DatasetController.java", "POST", "/dataset/create", body={"name": "n" * 255, "type": "IMAGE"}
    ),
    "create-name-300-chars": unknown(
        "deploy/mysql V1__Create_tables.sql dataset.name varchar(255)",
        "POST",
        "/dataset/create",
        TOO_LONG,
        body={"name": "l" * 300, "type": "IMAGE"},
    ),
    "create-name-number-is-text": ok(
        "Jackson into DatasetRequestDTO.name (String)",
        "POST",
        "/dataset/create",
        body={"name": 123, "type": "IMAGE"},
        check=lambda d: d["name"] == "123",
    ),
    "create-name-object": unknown(
        "Jackson into DatasetRequestDTO.name (String)",
        "POST",
        "/dataset/create",
        NOT_READABLE + "JSON parse error: Cannot deserialize value of type "
        "`java.lang.String` from Object value...",
        body={"name": {"a": 1}, "type": "IMAGE"},
    ),
    "create-text-plain": unknown(
        ERR,
        "POST",
        "/dataset/create",
        MEDIA.format("text/plain;charset=UTF-8"),
        raw=b'{"name":"tp","type":"IMAGE"}',
        content_type="text/plain;charset=UTF-8",
    ),
    "create-form-encoded": unknown(
        ERR,
        "POST",
        "/dataset/create",
        MEDIA.format("application/x-www-form-urlencoded"),
        raw=b"name=f&type=IMAGE",
        content_type="application/x-www-form-urlencoded",
    ),
    "create-no-content-type": unknown(
        ERR,
        "POST",
        "/dataset/create",
        MEDIA.format("application/octet-stream"),
        raw=b'{"name":"nc","type":"IMAGE"}',
        content_type=None,
    ),
    "create-empty-body": unknown(
        ERR, "POST", "/dataset/create", NOT_READABLE + "Required request body is missing...", raw=b""
    ),
    "create-array-body": unknown(
        ERR, "POST", "/dataset/create", NOT_READABLE + "JSON parse error...", body=[DS]
    ),
    # ---- POST /dataset/update/{id}: DatasetRequestDTO (Default group), DatasetUseCase.update
    "update-same-name": ok(
        "usecase/DatasetUseCase.java",
        "POST",
        "/dataset/update/{main}",
        body={"name": "Main"},
        check=lambda d: d is None,
    ),
    "update-to-other-name-folded": bad(
        "usecase/DatasetUseCase.java", "POST", "/dataset/update/{main}", *DUP, body={"name": "cafe"}
    ),
    "update-name-missing": bad(
        D + "request/DatasetRequestDTO.java",
        "POST",
        "/dataset/update/{main}",
        "PARAM_ERROR",
        '["name name cannot be null"]',
        body={"description": "d"},
    ),
    "update-type-bad": bad(
        D + "request/DatasetRequestDTO.java",
        "POST",
        "/dataset/update/{main}",
        "PARAM_ERROR",
        TYPE_MSG,
        body={"name": "Main", "type": "VIDEO"},
    ),
    "update-unknown-id": unknown(
        "usecase/DatasetUseCase.java", "POST", "/dataset/update/999999", NPE, body={"name": "ghost"}
    ),
    "update-name-300-chars": unknown(
        "deploy/mysql V1__Create_tables.sql",
        "POST",
        "/dataset/update/{main}",
        TOO_LONG,
        body={"name": "u" * 300},
    ),
    "update-id-not-a-number": unknown(
        C + "DatasetController.java",
        "POST",
        "/dataset/update/abc",
        "org.springframework.web.method.annotation.MethodArgumentTypeMismatchException...",
        body={"name": "x"},
    ),
    # ---- delete / info
    "delete-unknown": bad(
        "usecase/DatasetUseCase.java",
        "POST",
        "/dataset/delete/999999",
        "DATASET_NOT_FOUND",
        "Dataset not found",
    ),
    "info-unknown": bad(
        C + "DatasetController.java", "GET", "/dataset/info/999999", "NOT_FOUND", "Resource not found"
    ),
    "info-counts-null": ok(
        C + "DatasetController.java",
        "GET",
        "/dataset/info/{main}",
        check=lambda d: d["name"] == "Main" and d["annotatedCount"] is None,
    ),
    # ---- GET /dataset/findByPage: DatasetQueryDTO, DatasetUseCase.findByPage (LIKE, raw order by)
    "page-type-VIDEO": bad(
        D + "DatasetQueryDTO.java",
        "GET",
        "/dataset/findByPage",
        "PARAM_ERROR",
        '["type type must be one of LIDAR_FUSION,LIDAR_BASIC,IMAGE"]',
        params={"type": "VIDEO"},
    ),
    "page-asc-lower-case": bad(
        D + "DatasetQueryDTO.java",
        "GET",
        "/dataset/findByPage",
        "PARAM_ERROR",
        '["ascOrDesc ascOrDesc must be one of ASC,DESC"]',
        params={"sortField": "NAME", "ascOrDesc": "asc"},
    ),
    "page-sort-field-FOO": bad(
        D + "DatasetQueryDTO.java",
        "GET",
        "/dataset/findByPage",
        "PARAM_ERROR",
        '["sortField sort field must be one of NAME,CREATED_AT,UPDATED_AT"]',
        params={"sortField": "FOO", "ascOrDesc": "ASC"},
    ),
    "page-sort-without-order": unknown(
        "usecase/DatasetUseCase.java", "GET", "/dataset/findByPage", BAD_SQL, params={"sortField": "NAME"}
    ),
    "page-size-not-a-number": unknown(
        C + "DatasetController.java", "GET", "/dataset/findByPage", INT_MISMATCH, params={"pageSize": "abc"}
    ),
    "page-like-underscore-wildcard": ok(
        "usecase/DatasetUseCase.java",
        "GET",
        "/dataset/findByPage",
        params={"name": "M_in"},
        check=lambda d: "Main" in names(d),
    ),
    "page-like-percent-wildcard": ok(
        "usecase/DatasetUseCase.java",
        "GET",
        "/dataset/findByPage",
        params={"name": "C%é"},
        check=lambda d: names(d) == ["Café"],
    ),
    "page-like-folds-accents": ok(
        "usecase/DatasetUseCase.java",
        "GET",
        "/dataset/findByPage",
        params={"name": "CAFE"},
        check=lambda d: names(d) == ["Café"],
    ),
    "page-empty-dataset-counts-null": ok(
        C + "DatasetController.java",
        "GET",
        "/dataset/findByPage",
        params={"name": "Main", "type": "LIDAR_FUSION"},
        check=lambda d: (
            [(x["itemCount"], x["annotatedCount"], x["datas"]) for x in d["list"]] == [(None, None, None)]
        ),
    ),
    "page-counts-and-samples": ok(
        C + "DatasetController.java",
        "GET",
        "/dataset/findByPage",
        params={"name": "Café"},
        check=lambda d: (
            d["list"][0]["itemCount"] == 2
            and d["list"][0]["notAnnotatedCount"] == 2
            and len(d["list"][0]["datas"]) == 2
            and d["list"][0]["datas"][0]["datasetName"] is None
        ),
    ),
    "page-sort-name-with-numeric-name": ok(
        "usecase/DatasetUseCase.java",
        "GET",
        "/dataset/findByPage",
        params={"name": "1", "sortField": "NAME", "ascOrDesc": "ASC"},
        check=lambda d: names(d) == ["123"],
    ),
    "page-sort-name-desc": ok(
        "usecase/DatasetUseCase.java",
        "GET",
        "/dataset/findByPage",
        params={"name": "a", "sortField": "NAME", "ascOrDesc": "DESC"},
        check=lambda d: names(d)[:2] == ["Main", "Café"],
    ),
    "statistics-empty-zeros": ok(
        C + "DatasetController.java",
        "GET",
        "/dataset/{main}/statistics/dataStatus",
        check=lambda d: (d["itemCount"], d["annotatedCount"], d["objectCount"]) == (0, 0, 0),
    ),
    # ---- GET /dataset/findByType
    "by-type-missing": bad(
        C + "DatasetController.java",
        "GET",
        "/dataset/findByType",
        "PARAM_ERROR",
        "findByType.datasetTypes:datasetTypes cannot be null",
    ),
    "by-type-image": ok(
        C + "DatasetController.java",
        "GET",
        "/dataset/findByType",
        params={"datasetTypes": "IMAGE"},
        check=lambda d: "Café" in [x["name"] for x in d],
    ),
    # ---- /datasetClass/*: DatasetClassDTO, DatasetClassUseCase.saveDatasetClass, uk_dataset_id_name
    "class-findAll-new-dataset-empty": ok(
        C + "DatasetClassController.java", "GET", "/datasetClass/findAll/{main}", check=lambda d: d == []
    ),
    "class-create": ok(
        C + "DatasetClassController.java",
        "POST",
        "/datasetClass/create",
        body={"datasetId": "{cafe}", "name": "Car", "color": "#fff", "toolType": "BOUNDING_BOX"},
        check=lambda d: d is None,
    ),
    "class-create-dup-folded": bad(
        "usecase/DatasetClassUseCase.java",
        "POST",
        "/datasetClass/create",
        "NAME_DUPLICATED",
        "name already exists",
        body={"datasetId": "{cafe}", "name": "CAR ", "color": "#000", "toolType": "BOUNDING_BOX"},
    ),
    "class-create-same-name-other-tool": ok(
        "usecase/DatasetClassUseCase.java",
        "POST",
        "/datasetClass/create",
        body={"datasetId": "{cafe}", "name": "Car", "color": "#fff", "toolType": "POLYGON"},
    ),
    "class-name-missing": bad(
        D + "DatasetClassDTO.java",
        "POST",
        "/datasetClass/create",
        "PARAM_ERROR",
        '["name not allowed null!"]',
        body={"datasetId": "{cafe}", "color": "#fff", "toolType": "POLYGON"},
    ),
    "class-color-missing": bad(
        D + "DatasetClassDTO.java",
        "POST",
        "/datasetClass/create",
        "PARAM_ERROR",
        '["color not allowed null!"]',
        body={"datasetId": "{cafe}", "name": "Bus", "toolType": "POLYGON"},
    ),
    "class-dataset-missing": bad(
        D + "DatasetClassDTO.java",
        "POST",
        "/datasetClass/create",
        "PARAM_ERROR",
        '["datasetId not allowed null!"]',
        body={"name": "Bus", "color": "#fff", "toolType": "POLYGON"},
    ),
    "class-name-257-chars": bad(
        D + "DatasetClassDTO.java",
        "POST",
        "/datasetClass/create",
        "PARAM_ERROR",
        '["name The length of name should be less than 256."]',
        body={"datasetId": "{cafe}", "name": "c" * 257, "color": "#f", "toolType": "POLYGON"},
    ),
    "class-tool-type-bad": unknown(
        "entity/enums/ToolTypeEnum.java",
        "POST",
        "/datasetClass/create",
        NOT_READABLE + "JSON parse error: Cannot deserialize value of type "
        "`ai.basic.x1.entity.enums.ToolTypeEnum`...",
        body={"datasetId": "{cafe}", "name": "Bus", "color": "#f", "toolType": "BOX"},
    ),
    "class-tool-type-missing": unknown(
        "deploy/mysql V1__Create_tables.sql dataset_class.tool_type NOT NULL",
        "POST",
        "/datasetClass/create",
        TOO_LONG,
        body={"datasetId": "{cafe}", "name": "Bus", "color": "#f"},
    ),
    "class-info-unknown-null": ok(
        C + "DatasetClassController.java", "GET", "/datasetClass/info/999999", check=lambda d: d is None
    ),
    "class-delete-unknown-ok": ok(
        "usecase/DatasetClassUseCase.java", "POST", "/datasetClass/delete/999999", check=lambda d: d is None
    ),
    # ---- /data/*: DataInfoController, DataInfoQueryDTO, DataInfoUploadDTO
    "presign-missing-dataset": unknown(
        C + "DataInfoController.java",
        "GET",
        "/data/generatePresignedUrl",
        MISSING_PARAM,
        params={"fileName": "a.zip"},
    ),
    "presign-ok": ok(
        "adapter/port/minio/MinioService.java",
        "GET",
        "/data/generatePresignedUrl",
        params={"fileName": "a.zip", "datasetId": "{cafe}"},
        check=lambda d: (
            "/minio/xtreme1/" in d["presignedUrl"] and d["accessUrl"].startswith("http://minio:9000/xtreme1/")
        ),
    ),
    "upload-text-plain": unknown(
        ERR,
        "POST",
        "/data/upload",
        MEDIA.format("text/plain"),
        raw=b'{"datasetId":1}',
        content_type="text/plain",
    ),
    "upload-form-encoded": unknown(
        ERR,
        "POST",
        "/data/upload",
        MEDIA.format("application/x-www-form-urlencoded;charset=UTF-8"),
        raw=b"datasetId=1",
        content_type="application/x-www-form-urlencoded; charset=UTF-8",
    ),
    "upload-no-content-type": unknown(
        ERR,
        "POST",
        "/data/upload",
        MEDIA.format("application/octet-stream"),
        raw=b'{"datasetId":1}',
        content_type=None,
    ),
    "upload-missing-fields": bad(
        D + "DataInfoUploadDTO.java", "POST", "/data/upload", "PARAM_ERROR", "[...", body={}
    ),
    "upload-bad-source": bad(
        D + "DataInfoUploadDTO.java",
        "POST",
        "/data/upload",
        "PARAM_ERROR",
        '["source source must be one of LOCAL, URL"]',
        body={"fileUrl": "http://minio:9000/x", "datasetId": 1, "source": "DISK"},
    ),
    "upload-bad-url": bad(
        D + "DataInfoUploadDTO.java",
        "POST",
        "/data/upload",
        "PARAM_ERROR",
        '["fileUrl invalid url"]',
        body={"fileUrl": "nope", "datasetId": 1, "source": "URL"},
    ),
    "data-page-dataset-missing": bad(
        D + "DataInfoQueryDTO.java",
        "GET",
        "/data/findByPage",
        "PARAM_ERROR",
        '["datasetId datasetId cannot be null"]',
    ),
    "data-page-annotation-status-bad": bad(
        D + "DataInfoQueryDTO.java",
        "GET",
        "/data/findByPage",
        "PARAM_ERROR",
        '["annotationStatus annotationStatus must be one of ANNOTATED, NOT_ANNOTATED, INVALID"]',
        params={"datasetId": "{cafe}", "annotationStatus": "X"},
    ),
    "data-page-page-no-not-a-number": unknown(
        C + "DataInfoController.java",
        "GET",
        "/data/findByPage",
        INT_MISMATCH,
        params={"datasetId": "{cafe}", "pageNo": "abc"},
    ),
    "data-page-dataset-name-set": ok(
        "usecase/DataInfoUseCase.java",
        "GET",
        "/data/findByPage",
        params={"datasetId": "{cafe}"},
        check=lambda d: [x["datasetName"] for x in d["list"]] == ["Café", "Café"],
    ),
    "list-by-ids-empty": bad(
        C + "DataInfoController.java",
        "GET",
        "/data/listByIds",
        "PARAM_ERROR",
        "listByIds.dataIds:dataIds cannot be null",
        params={"dataIds": ""},
    ),
    "list-by-ids-missing": bad(
        C + "DataInfoController.java",
        "GET",
        "/data/listByIds",
        "PARAM_ERROR",
        "listByIds.dataIds:dataIds cannot be null",
    ),
    "list-by-ids-not-numbers": unknown(
        C + "DataInfoController.java", "GET", "/data/listByIds", LIST_MISMATCH, params={"dataIds": "a,b"}
    ),
    "list-by-ids-dataset-name-null": ok(
        "usecase/DataInfoUseCase.java",
        "GET",
        "/data/listByIds",
        params={"dataIds": "{data}"},
        check=lambda d: len(d) == 1 and d[0]["datasetName"] is None,
    ),
    "data-info-unknown": bad(
        "usecase/DataInfoUseCase.java", "GET", "/data/info/999999", "NOT_FOUND", "Resource not found"
    ),
    "data-info-dataset-name-null": ok(
        "usecase/DataInfoUseCase.java",
        "GET",
        "/data/info/{data}",
        check=lambda d: d["datasetName"] is None and d["type"] == "SINGLE_DATA",
    ),
    "upload-records-missing": bad(
        C + "DataInfoController.java",
        "GET",
        "/data/findUploadRecordBySerialNumbers",
        "PARAM_ERROR",
        "findUploadRecordBySerialNumbers.serialNumbers:serialNumbers cannot be null",
    ),
    "export-records-missing": bad(
        C + "DataInfoController.java",
        "GET",
        "/data/findExportRecordBySerialNumbers",
        "PARAM_ERROR",
        "findExportRecordBySerialNumber.serialNumbers:serialNumbers cannot be null",
    ),
    "export-format-bad": bad(
        D + "DataInfoQueryDTO.java",
        "GET",
        "/data/export",
        "PARAM_ERROR",
        '["dataFormat dataFormat must be one of XTREME1,COCO"]',
        params={"datasetId": "{cafe}", "dataFormat": "VOC"},
    ),
    # ---- /model/*: ModelController, ModelDTO, ModelRunFilterDataDTO
    "model-list-type-bad": bad(
        D + "ModelDTO.java",
        "GET",
        "/model/list",
        "PARAM_ERROR",
        "[\"datasetType Failed to convert property value of type 'java.lang.String' to "
        "required type 'ai.basic.x1.entity.enums.ModelDatasetTypeEnum'...",
        params={"datasetType": "BAD"},
    ),
    "model-list-image": ok(
        C + "ModelController.java",
        "GET",
        "/model/list",
        params={"datasetType": "IMAGE"},
        check=lambda d: d and all(m["datasetType"] == "IMAGE" for m in d),
    ),
    "model-page-type-bad": unknown(
        C + "ModelController.java",
        "GET",
        "/model/page",
        "org.springframework.web.method.annotation.MethodArgumentTypeMismatchException...",
        params={"datasetType": "BAD"},
    ),
    "count-dataset-missing": bad(
        C + "ModelController.java",
        "GET",
        "/model/modelRun/dataCount",
        "PARAM_ERROR",
        "findModelRunDataCount.datasetId:datasetId cannot be null",
        params={"modelId": 1, "isExcludeModelData": "false"},
    ),
    "count-annotation-status-bad": bad(
        D + "request/ModelRunFilterDataDTO.java",
        "GET",
        "/model/modelRun/dataCount",
        "PARAM_ERROR",
        '["annotationStatus annotationStatus must be one of ANNOTATED, NOT_ANNOTATED, INVALID"]',
        params={"datasetId": "{cafe}", "modelId": 1, "isExcludeModelData": "false", "annotationStatus": "X"},
    ),
    "count-exclude-missing": bad(
        D + "request/ModelRunFilterDataDTO.java",
        "GET",
        "/model/modelRun/dataCount",
        "PARAM_ERROR",
        '["isExcludeModelData not allow null"]',
        params={"datasetId": "{cafe}", "modelId": 1},
    ),
    "count-unknown-dataset-zero": ok(
        "usecase/DataInfoUseCase.java",
        "GET",
        "/model/modelRun/dataCount",
        params={"datasetId": 999999, "modelId": 1, "isExcludeModelData": "false"},
        check=lambda d: d == 0,
    ),
    "count-ok": ok(
        "usecase/DataInfoUseCase.java",
        "GET",
        "/model/modelRun/dataCount",
        params={"datasetId": "{cafe}", "modelId": 1, "isExcludeModelData": "false", "dataCountRatio": 100},
        check=lambda d: d == 2,
    ),
    "model-run-text-plain": unknown(
        ERR, "POST", "/model/modelRun", MEDIA.format("text/plain"), raw=b"{}", content_type="text/plain"
    ),
    # ---- /modelRun/*: ModelRunRecordController, RunRecordQueryDTO
    "runs-status-bad": bad(
        D + "RunRecordQueryDTO.java",
        "GET",
        "/modelRun/findModelRunRecordByPage",
        "PARAM_ERROR",
        '["status ascOrDesc must be one of STARTED,RUNNING,SUCCESS,SUCCESS_WITH_ERROR,FAILURE"]',
        params={"modelId": 1, "status": "X"},
    ),
    "runs-model-missing": bad(
        D + "RunRecordQueryDTO.java",
        "GET",
        "/modelRun/findModelRunRecordByPage",
        "PARAM_ERROR",
        '["modelId not allow null"]',
    ),
    "runs-page-size-bad": unknown(
        C + "ModelRunRecordController.java",
        "GET",
        "/modelRun/findModelRunRecordByPage",
        INT_MISMATCH,
        params={"modelId": 1, "pageSize": "abc"},
    ),
    "runs-ok": ok(
        C + "ModelRunRecordController.java",
        "GET",
        "/modelRun/findModelRunRecordByPage",
        params={"modelId": 1, "status": "SUCCESS"},
        check=lambda d: d["total"] == 0,
    ),
    # ---- GET /annotate/data/listByDataIds: DataAnnotationController, DataAnnotationUseCase.findByDataIds
    "annotations-empty-list": unknown(
        "usecase/DataAnnotationUseCase.java",
        "GET",
        "/annotate/data/listByDataIds",
        BAD_SQL,
        params={"dataIds": ""},
    ),
    "annotations-missing": unknown(
        C + "DataAnnotationController.java", "GET", "/annotate/data/listByDataIds", MISSING_PARAM
    ),
    "annotations-ok": ok(
        C + "DataAnnotationController.java",
        "GET",
        "/annotate/data/listByDataIds",
        params={"dataIds": "{data}"},
        check=lambda d: d[0]["objects"] == [],
    ),
}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, Any]:
    with Xtreme1Emulator(token=TOKEN, data_dir=str(tmp_path_factory.mktemp("conf")), step_delay=0.01) as emu:
        api = Api(emu)
        main = api.dataset("LIDAR_FUSION", "Main")
        cafe = api.dataset("IMAGE", "Café")
        api.import_ok(cafe, make_zip({"image_0/a.png": image_bytes(), "image_0/b.png": image_bytes()}))
        data = api.data(api.get("/data/findByPage", datasetId=cafe))["list"][0]["id"]
        yield {"emu": emu, "api": api, "ids": {"main": main, "cafe": cafe, "data": data}}


@pytest.mark.parametrize("case", cases(ROWS))
def test_conformance(world, case):
    assert_conforms(send(world, ROWS[case]), ROWS[case])


def test_table_covers_every_pipeline_endpoint_the_emulator_serves():
    from airflow_provider_xtreme1.emulator import routes_data, routes_dataset, routes_model

    routes = routes_dataset.ROUTES + routes_data.ROUTES + routes_model.ROUTES
    uncovered = uncovered_routes(routes, ROWS.values(), {"main": 1, "cafe": 2, "data": 3})
    # Left out on purpose: deletes and read-only lists the pipeline never validates input for.
    optional = {
        "/data/deleteBatch",
        "/model/info/{id}",
        "/modelRun/findModelRunRecordByDatasetId/{id}",
        "/modelRun/findAllModelRunRecord",
        "/modelRun/getDatasetModelRunResult/{id}",
        "/modelRun/delete/{id}",
        "/datasetClass/update/{id}",
    }
    assert set(uncovered) <= optional, uncovered
    assert len(ROWS) >= 60


# ---- presigned URLs through nginx's /minio/ (deploy/nginx/conf.d/default.conf, MinioService.replaceUrl)


def _stored_object(world: dict[str, Any], payload: bytes) -> str:
    """Upload ``payload`` through a presigned PUT; return a presigned GET of it (a data file URL)."""
    api: Api = world["api"]
    urls = api.put_object(world["ids"]["cafe"], f"obj-{time.monotonic_ns()}.bin", payload)
    key = urls["accessUrl"].split("/xtreme1/", 1)[1].split("?", 1)[0]
    emu = world["emu"]
    return emu._signer.presign("GET", key, f"127.0.0.1:{emu.port}", emu.presign_expiry)


def test_presigned_get_verifies_under_any_host_name_and_forged_host(world):
    url = _stored_object(world, b"0123456789")
    assert requests.get(url, timeout=5).content == b"0123456789"
    assert requests.get(url.replace("127.0.0.1", "localhost"), timeout=5).status_code == 200
    assert requests.get(url, headers={"Host": "xtreme1.example:80"}, timeout=5).status_code == 200


def test_presigned_put_verifies_with_a_forged_host(world):
    api: Api = world["api"]
    urls = api.data(
        api.get("/data/generatePresignedUrl", fileName="forged.bin", datasetId=world["ids"]["cafe"])
    )
    forged = requests.put(urls["presignedUrl"], data=b"abc", headers={"Host": "other.example"}, timeout=5)
    assert forged.status_code == 200 and forged.headers["ETag"] == '"900150983cd24fb0d6963f7d28e17f72"'


def test_presigned_range_get_is_206_and_head_needs_its_own_signature(world):
    url = _stored_object(world, b"0123456789")
    part = requests.get(url, headers={"Range": "bytes=2-5"}, timeout=5)
    assert (
        part.status_code == 206
        and part.content == b"2345"
        and part.headers["Content-Range"] == "bytes 2-5/10"
    )
    # SigV4 signs the method: a GET URL does not authorise HEAD (MinIO cmd/signature-v4.go
    # doesPresignedSignatureMatch builds the canonical request from req.Method; S3 alike).
    assert requests.head(url, timeout=5).status_code == 403


def test_expired_url_is_access_denied_before_the_signature_is_checked(world):
    emu = world["emu"]
    emu.presign_expiry = 1
    try:
        url = _stored_object(world, b"x")
    finally:
        emu.presign_expiry = 600
    time.sleep(2.1)
    tampered = url[:-1] + ("0" if url[-1] != "0" else "1")
    resp = requests.get(tampered, timeout=5)
    assert resp.status_code == 403
    assert "<Code>AccessDenied</Code>" in resp.text and "Request has expired" in resp.text
