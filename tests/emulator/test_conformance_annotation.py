"""Annotation endpoints answer as Xtreme1's source says: one row per (endpoint, input case).

Same table form as ``test_conformance_api.py``: each row names the Java file (under
``backend/src/main/java/ai/basic/x1/``) that decides the answer. One emulator, rows run in order:
dataset ``ds`` (IMAGE) holds images ``a``, ``b``, ``c``; the token's user locks ``a`` (record ``rec``),
the simulated annotator ``bob`` locks ``b`` (record ``bobrec``); ``empty`` is a dataset without data,
``gone`` a deleted one. Rows that change state (save, submit, split) come before the rows that read it.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from conformance_kit import (
    NOT_READABLE,
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

from airflow_provider_xtreme1.emulator import Xtreme1Emulator, routes_annotation

C = "adapter/api/controller/"
D = "adapter/dto/"
U = "usecase/"
INFO = C + "DataInfoController.java"
FLOW = U + "DataFlowUseCase.java"
RECORDS = U + "DataAnnotationRecordUseCase.java"
UNLOCKED = ("DATASET__DATA__DATA_HAS_BEEN_UNLOCKED", "The data has been unlocked")
EXIST = ("DATASET_DATA_EXIST_ANNOTATE", "The selected data has been annotated by others")
SPLIT = {
    "datasetId": "{ds}",
    "totalSizeRatio": 100,
    "trainingRatio": 60,
    "validationRatio": 20,
    "testRatio": 20,
    "splittingBy": "ORDER",
}
PATH_MISMATCH = "org.springframework.web.method.annotation.MethodArgumentTypeMismatchException: ..."
ID: dict[str, int] = {}  # filled by the world fixture, read by checks
ZEROS = {"annotatedCount": 0, "notAnnotatedCount": 0, "invalidCount": 0, "itemCount": 0}


def _lock(data: str, **extra: Any) -> dict[str, Any]:
    return {"datasetId": "{ds}", "operateItemType": "SINGLE_DATA", "dataIds": [data], **extra}


def _perr(java: str, method: str, path: str, message: str, **kw: Any) -> Row:
    return bad(java, method, path, "PARAM_ERROR", message, **kw)


ROWS: dict[str, Row] = {
    # ---- POST /data/annotate: DataAnnotateDTO, DataInfoUseCase.annotateCommon, uk_data_id
    "annotate-datasetId-missing": _perr(
        D + "DataAnnotateDTO.java",
        "POST",
        "/data/annotate",
        '["datasetId not allow null"]',
        body={"operateItemType": "SINGLE_DATA", "dataIds": [1]},
    ),
    "annotate-item-type-missing": _perr(
        D + "DataAnnotateDTO.java",
        "POST",
        "/data/annotate",
        '["operateItemType not allow null"]',
        body={"datasetId": "{ds}", "dataIds": [1]},
    ),
    "annotate-dataIds-empty": _perr(
        D + "DataAnnotateDTO.java",
        "POST",
        "/data/annotate",
        '["dataIds not allow null"]',
        body={"datasetId": "{ds}", "operateItemType": "SINGLE_DATA", "dataIds": []},
    ),
    "annotate-item-type-unknown": unknown(
        "entity/enums/ItemTypeEnum.java",
        "POST",
        "/data/annotate",
        NOT_READABLE + "...",
        body=_lock("{c}", operateItemType="FRAME"),
    ),
    "annotate-own-record-again-is-the-record": ok(
        U + "DataInfoUseCase.java", "POST", "/data/annotate", body=_lock("{a}"), check=lambda d: d > 0
    ),
    "annotate-others-data-with-own-record-answers-the-record": ok(
        U + "DataInfoUseCase.java", "POST", "/data/annotate", body=_lock("{b}"), check=lambda d: d > 0
    ),
    "annotate-others-data-filtered": bad(
        U + "DataInfoUseCase.java", "POST", "/data/annotate", *EXIST, body=_lock("{b}", isFilterData=True)
    ),
    "annotate-others-data-without-record": bad(
        U + "DataInfoUseCase.java", "POST", "/data/annotate", *EXIST, body=_lock("{b}", datasetId="{empty}")
    ),
    "annotate-scene-over-single-data-record": bad(
        U + "DataInfoUseCase.java",
        "POST",
        "/data/annotate",
        "DATASET_DATA_EXIST_OTHER_TYPE_ANNOTATE",
        "Other types of annotations exist",
        body=_lock("{c}", operateItemType="SCENE"),
    ),
    # ---- lock records: DataInfoController + DataAnnotationRecordUseCase
    "lock-record-id-datasetId-missing": _perr(
        INFO,
        "GET",
        "/data/findLockRecordIdByDatasetId",
        "findLockRecordIdByDatasetId.datasetId:datasetId cannot be null",
    ),
    "lock-record-id-own": ok(
        RECORDS,
        "GET",
        "/data/findLockRecordIdByDatasetId",
        params={"datasetId": "{ds}"},
        check=lambda d: d["lockedNum"] == 1 and d["lockedBy"] is None,
    ),
    "lock-record-id-none": ok(
        RECORDS,
        "GET",
        "/data/findLockRecordIdByDatasetId",
        params={"datasetId": "{gone}"},
        check=lambda d: d is None,
    ),
    "lock-records-datasetId-missing": _perr(
        INFO,
        "GET",
        "/data/findLockRecordByDatasetId",
        "findLockRecordByDatasetId.datasetId:datasetId cannot be null",
    ),
    "lock-records-every-user": ok(
        RECORDS,
        "GET",
        "/data/findLockRecordByDatasetId",
        params={"datasetId": "{ds}"},
        check=lambda d: [(r["lockedBy"], r["lockedNum"]) for r in d] == [("emulator", 1), ("bob", 1)],
    ),
    "lock-records-empty-dataset": ok(
        RECORDS,
        "GET",
        "/data/findLockRecordByDatasetId",
        params={"datasetId": "{empty}"},
        check=lambda d: d == [],
    ),
    "find-by-page-locked-by": ok(
        U + "DataInfoUseCase.java",
        "GET",
        "/data/findByPage",
        params={"datasetId": "{ds}"},
        check=lambda d: [x["lockedBy"] for x in d["list"]] == ["emulator", "bob", None],
    ),
    "annotation-record-own": ok(
        RECORDS,
        "GET",
        "/data/findDataAnnotationRecord/{rec}",
        check=lambda d: d["itemType"] == "SINGLE_DATA" and [e["dataId"] for e in d["datas"]] == [ID["a"]],
    ),
    "annotation-record-others-is-null": ok(
        RECORDS, "GET", "/data/findDataAnnotationRecord/{bobrec}", check=lambda d: d is None
    ),
    "unlock-others-record": bad(
        RECORDS,
        "POST",
        "/data/unLock/{bobrec}",
        "DATASET_DATA_UNLOCK_ID_ERROR",
        "Please pass in the correct unlock id",
    ),
    "unlock-unknown-record-is-silent": ok(RECORDS, "POST", "/data/unLock/987654"),
    "unlock-id-not-a-number": unknown(INFO, "POST", "/data/unLock/abc", PATH_MISMATCH),
    "unlock-batch-ids-missing": _perr(
        D + "DataBatchUnlockDTO.java",
        "POST",
        "/data/unLockByLockRecordIds",
        '["lockRecordIds lockRecordIds cannot be null"]',
        body={},
    ),
    "unlock-batch-ids-empty": unknown(
        RECORDS,
        "POST",
        "/data/unLockByLockRecordIds",
        "org.springframework.jdbc.BadSqlGrammarException: ...",
        body={"lockRecordIds": []},
    ),
    "unlock-batch-unknown-ids": ok(
        RECORDS, "POST", "/data/unLockByLockRecordIds", body={"lockRecordIds": [987654]}
    ),
    # ---- POST /annotate/data/save: ObjectResultDTO, DataAnnotationUseCase (checkLock), ObjectUseCase
    "save-datasetId-missing": _perr(
        D + "request/ObjectResultDTO.java",
        "POST",
        "/annotate/data/save",
        '["datasetId must not be null"]',
        body={"dataInfos": [{"dataId": "{a}"}]},
    ),
    "save-dataInfos-empty": _perr(
        D + "request/ObjectResultDTO.java",
        "POST",
        "/annotate/data/save",
        '["dataInfos must not be empty"]',
        body={"datasetId": "{ds}", "dataInfos": []},
    ),
    "save-dataId-missing": _perr(
        D + "request/ObjectResultDTO.java",
        "POST",
        "/annotate/data/save",
        '["dataInfos[0].dataId dataId cannot null"]',
        body={"datasetId": "{ds}", "dataInfos": [{"objects": []}]},
    ),
    "save-unlocked-data": bad(
        U + "DataEditUseCase.java",
        "POST",
        "/annotate/data/save",
        *UNLOCKED,
        body={"datasetId": "{ds}", "dataInfos": [{"dataId": "{c}", "objects": [{"classId": "{car}"}]}]},
    ),
    "save-others-data": bad(
        U + "DataEditUseCase.java",
        "POST",
        "/annotate/data/save",
        *UNLOCKED,
        body={"datasetId": "{ds}", "dataInfos": [{"dataId": "{b}", "objects": []}]},
    ),
    "save-own-data": ok(
        U + "DataAnnotationObjectUseCase.java",
        "POST",
        "/annotate/data/save",
        body={
            "datasetId": "{ds}",
            "dataInfos": [
                {"dataId": "{a}", "objects": [{"frontId": "f1", "classId": "{car}"}, {"frontId": "f2"}]}
            ],
        },
        check=lambda d: [x["frontId"] for x in d] == ["f1", "f2"],
    ),
    "saved-objects-are-data-flow": ok(
        C + "DataAnnotationController.java",
        "GET",
        "/annotate/data/listByDataIds",
        params={"dataIds": "{a}"},
        check=lambda d: (
            [(o["sourceType"], o["sourceId"]) for o in d[0]["objects"]] == [("DATA_FLOW", -1)] * 2
        ),
    ),
    # ---- /data/flow: DataFlowController, DataFlowUseCase (checkLock first)
    "mark-invalid-unlocked": bad(FLOW, "POST", "/data/flow/markAsInvalid/{c}", *UNLOCKED),
    "mark-invalid-not-a-number": unknown(
        C + "DataFlowController.java", "POST", "/data/flow/markAsInvalid/x", PATH_MISMATCH
    ),
    "mark-invalid-own": ok(FLOW, "POST", "/data/flow/markAsInvalid/{a}"),
    "mark-valid-own": ok(FLOW, "POST", "/data/flow/markAsValid/{a}"),
    "submit-others": bad(FLOW, "POST", "/data/flow/submit/{b}", *UNLOCKED),
    "submit-own": ok(FLOW, "POST", "/data/flow/submit/{a}"),
    "status-after-submit": ok(
        U + "DataInfoUseCase.java",
        "GET",
        "/data/getDataStatusByIds",
        params={"dataIds": "{a},{c}"},
        check=lambda d: (
            [(x["status"], x["annotationStatus"]) for x in d]
            == [("VALID", "ANNOTATED"), ("VALID", "NOT_ANNOTATED")]
        ),
    ),
    "status-dataIds-missing": _perr(
        INFO, "GET", "/data/getDataStatusByIds", "getDataStatusByIds.dataIds:dataIds cannot be null"
    ),
    # ---- statistics: DatasetController, DataInfoMapper.xml, DatasetMapper.xml, DatasetClassMapper.xml
    "data-status-counts": ok(
        C + "DatasetController.java",
        "GET",
        "/dataset/{ds}/statistics/dataStatus",
        check=lambda d: (
            (d["annotatedCount"], d["notAnnotatedCount"], d["objectCount"], d["itemCount"]) == (1, 2, 2, 3)
        ),
    ),
    "data-status-empty-dataset": ok(
        "entity/DatasetStatisticsBO.java",
        "GET",
        "/dataset/{empty}/statistics/dataStatus",
        check=lambda d: {k: d[k] for k in ZEROS} == ZEROS and d["objectCount"] == 0,
    ),
    "data-status-deleted-dataset": ok(
        "entity/DatasetStatisticsBO.java",
        "GET",
        "/dataset/{gone}/statistics/dataStatus",
        check=lambda d: {k: d[k] for k in ZEROS} == ZEROS,
    ),
    "annotation-status-statistics": ok(
        U + "DataInfoUseCase.java",
        "GET",
        "/data/getAnnotationStatusStatisticsByDatasetId",
        params={"datasetId": "{ds}"},
        check=lambda d: d["annotatedCount"] == 1 and d["itemCount"] == 3 and d["objectCount"] is None,
    ),
    "annotation-status-statistics-datasetId-missing": _perr(
        INFO,
        "GET",
        "/data/getAnnotationStatusStatisticsByDatasetId",
        "getAnnotationStatusStatisticsByDatasetId.datasetId:DatasetId cannot be null",
    ),
    "class-object-units": ok(
        "adapter/port/dao/mybatis/mapper/DatasetClassMapper.java",
        "GET",
        "/dataset/{ds}/statistics/classObject",
        check=lambda d: (
            d["toolTypeUnits"] == [{"objectAmount": 1, "toolType": "BOUNDING_BOX"}]
            # equal amounts: ORDER BY objectAmount leaves their order to MySQL
            and sorted((u["name"], u["color"], u["objectAmount"]) for u in d["classUnits"])
            == [("Car", "#7dfaf2", 1), ("No class", "#dedede", 1)]
        ),
    ),
    "class-object-deleted-dataset": ok(
        U + "DatasetClassUseCase.java",
        "GET",
        "/dataset/{gone}/statistics/classObject",
        check=lambda d: d == {"toolTypeUnits": [], "classUnits": []},
    ),
    "class-object-id-not-a-number": unknown(
        C + "DatasetController.java", "GET", "/dataset/x/statistics/classObject", PATH_MISMATCH
    ),
    # ---- split: DataInfoSplitReqDTO, DataInfoSplitFilterDTO, DataInfoUseCase.splitBy*
    "split-ids-missing": _perr(
        D + "request/DataInfoSplitReqDTO.java",
        "POST",
        "/data/split/dataIds",
        '["dataIds dataIds cannot be null"]',
        body={"splitType": "TEST"},
    ),
    "split-ids-type-missing": _perr(
        D + "request/DataInfoSplitReqDTO.java",
        "POST",
        "/data/split/dataIds",
        '["splitType splitType cannot be null"]',
        body={"dataIds": ["{c}"]},
    ),
    "split-ids-type-lower-case": _perr(
        D + "request/DataInfoSplitReqDTO.java",
        "POST",
        "/data/split/dataIds",
        '["splitType splitType must be one of TRAINING,VALIDATION,TEST,NOT_SPLIT"]',
        body={"dataIds": ["{c}"], "splitType": "test"},
    ),
    "split-ids-unknown-ids-ignored": ok(
        U + "DataInfoUseCase.java",
        "POST",
        "/data/split/dataIds",
        body={"dataIds": [987654], "splitType": "TEST"},
    ),
    "split-ids-c-test": ok(
        U + "DataInfoUseCase.java",
        "POST",
        "/data/split/dataIds",
        body={"dataIds": ["{c}"], "splitType": "TEST"},
    ),
    "split-count-datasetId-missing": _perr(
        INFO, "GET", "/data/split/totalDataCount", "getSplitDataTotalCount.datasetId:datasetId cannot be null"
    ),
    "split-count-target-unknown": unknown(
        "entity/enums/SplitTargetDataTypeEnum.java",
        "GET",
        "/data/split/totalDataCount",
        PATH_MISMATCH,
        params={"datasetId": "{ds}", "targetDataType": "ALL"},
    ),
    "split-count-all": ok(
        U + "DataInfoUseCase.java",
        "GET",
        "/data/split/totalDataCount",
        params={"datasetId": "{ds}"},
        check=lambda d: d == 3,
    ),
    "split-count-split": ok(
        U + "DataInfoUseCase.java",
        "GET",
        "/data/split/totalDataCount",
        params={"datasetId": "{ds}", "targetDataType": "SPLIT"},
        check=lambda d: d == 1,
    ),
    "split-count-unknown-dataset": ok(
        U + "DataInfoUseCase.java",
        "GET",
        "/data/split/totalDataCount",
        params={"datasetId": 987654},
        check=lambda d: d == 0,
    ),
    "split-filter-datasetId-missing": _perr(
        D + "request/DataInfoSplitFilterDTO.java",
        "POST",
        "/data/split/filter",
        '["datasetId datasetId cannot be null"]',
        body={k: v for k, v in SPLIT.items() if k != "datasetId"},
    ),
    "split-filter-ratio-zero": _perr(
        D + "request/DataInfoSplitFilterDTO.java",
        "POST",
        "/data/split/filter",
        '["testRatio testRatio is error"]',
        body={**SPLIT, "testRatio": 0},
    ),
    "split-filter-ratio-missing": _perr(
        D + "request/DataInfoSplitFilterDTO.java",
        "POST",
        "/data/split/filter",
        '["validationRatio validationRatio cannot be null"]',
        body={k: v for k, v in SPLIT.items() if k != "validationRatio"},
    ),
    "split-filter-ratio-above-100": _perr(
        D + "request/DataInfoSplitFilterDTO.java",
        "POST",
        "/data/split/filter",
        '["totalSizeRatio totalSizeRatio is error"]',
        body={**SPLIT, "totalSizeRatio": 101},
    ),
    "split-filter-splittingBy-missing": _perr(
        D + "request/DataInfoSplitFilterDTO.java",
        "POST",
        "/data/split/filter",
        '["splittingBy splittingBy cannot be null"]',
        body={**SPLIT, "splittingBy": ""},
    ),
    "split-filter-splittingBy-unknown": _perr(
        D + "request/DataInfoSplitFilterDTO.java",
        "POST",
        "/data/split/filter",
        '["splittingBy splittingBy must be one of RANDOM,ORDER"]',
        body={**SPLIT, "splittingBy": "SHUFFLE"},
    ),
    "split-filter-target-unknown": _perr(
        D + "request/DataInfoSplitFilterDTO.java",
        "POST",
        "/data/split/filter",
        '["targetDataType targetDataType must be one of SPLIT,NOT_SPLIT"]',
        body={**SPLIT, "targetDataType": "ALL"},
    ),
    "split-filter-sortBy-unknown": _perr(
        D + "request/DataInfoSplitFilterDTO.java",
        "POST",
        "/data/split/filter",
        '["sortBy sortBy must be one of NAME,CREATE_TIME"]',
        body={**SPLIT, "sortBy": "NAME_DESC"},
    ),
    "split-filter-shares-above-limit": unknown(
        U + "DataInfoUseCase.java",
        "POST",
        "/data/split/filter",
        "java.lang.IndexOutOfBoundsException: toIndex = 4",
        body={**SPLIT, "trainingRatio": 60, "validationRatio": 60},
    ),
    "split-filter-empty-dataset-is-a-no-op": ok(
        U + "DataInfoUseCase.java", "POST", "/data/split/filter", body={**SPLIT, "datasetId": "{empty}"}
    ),
    "split-count-after-failed-split": ok(
        U + "DataInfoUseCase.java",
        "GET",
        "/data/split/totalDataCount",
        params={"datasetId": "{ds}", "targetDataType": "NOT_SPLIT"},
        check=lambda d: d == 2,
    ),
    "split-filter-ok": ok(
        U + "DataInfoUseCase.java", "POST", "/data/split/filter", body={**SPLIT, "sortBy": "NAME"}
    ),
    "split-filter-result": ok(
        U + "DataInfoUseCase.java",
        "GET",
        "/data/findByPage",
        params={"datasetId": "{ds}", "splitType": "TRAINING"},
        check=lambda d: [x["name"] for x in d["list"]] == ["a", "b"],
    ),
    # ---- dataset counts (DatasetController.findByPage) follow the annotations
    "dataset-page-counts": ok(
        C + "DatasetController.java",
        "GET",
        "/dataset/findByPage",
        params={"name": "Annot"},
        check=lambda d: (
            [(x["annotatedCount"], x["notAnnotatedCount"], x["itemCount"]) for x in d["list"]] == [(1, 2, 3)]
        ),
    ),
}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, Any]:
    with Xtreme1Emulator(token=TOKEN, data_dir=str(tmp_path_factory.mktemp("annot")), step_delay=0.01) as emu:
        api = Api(emu)
        ds = api.dataset("IMAGE", "Annotated")
        car = api.create_classes(ds, "Car", tool="BOUNDING_BOX")["Car"]
        api.import_ok(ds, make_zip({f"image_0/{n}.png": image_bytes() for n in "abc"}))
        a, b, c = (d["id"] for d in sorted(api.root_items(ds), key=lambda d: d["name"]))
        rec = api.data(
            api.post("/data/annotate", {"datasetId": ds, "operateItemType": "SINGLE_DATA", "dataIds": [a]})
        )
        bobrec = emu.lock([b], user="bob")
        empty = api.dataset("TEXT", "Empty")
        gone = api.dataset("IMAGE", "Gone")
        api.import_ok(gone, make_zip({"image_0/g.png": image_bytes()}))
        emu.annotate([api.root_items(gone)[0]["id"]], objects=[{"classId": 1}])
        api.data(api.post(f"/dataset/delete/{gone}"))
        ids = {
            "ds": ds,
            "a": a,
            "b": b,
            "c": c,
            "car": car,
            "rec": rec,
            "bobrec": bobrec,
            "empty": empty,
            "gone": gone,
        }
        ID.update(ids)
        yield {"emu": emu, "api": api, "ids": ids}


@pytest.mark.parametrize("case", cases(ROWS))
def test_conformance(world, case):
    assert_conforms(send(world, ROWS[case]), ROWS[case])


def test_table_covers_every_annotation_endpoint():
    ids = {k: 1 for row in ROWS.values() for k in re.findall(r"\{(\w+)\}", row.path)}
    assert uncovered_routes(routes_annotation.ROUTES, ROWS.values(), ids) == set()
