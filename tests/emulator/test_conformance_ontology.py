"""The ontology endpoints answer as Xtreme1's source says: one row per (endpoint, input case).

Each row names the Java file (under ``backend/src/main/java/ai/basic/x1/``) that decides the answer and
gives the HTTP status, envelope ``code`` and message (exact, or ``...``-terminated prefix). Requests go
over real HTTP to one emulator seeded with ontology ``Road`` (IMAGE; classes ``Car`` BOUNDING_BOX and
``Person`` POLYGON, classification ``Weather``), dataset ``Street`` (IMAGE, class ``Car``, classification
``Light``) and one image. Rows run in order and change nothing a later row relies on.
"""

from __future__ import annotations

from typing import Any

import pytest
from conformance_kit import Row, assert_conforms, bad, cases, ok, send, uncovered_routes, unknown
from emulator_kit import TOKEN, Api, image_bytes, make_zip

from airflow_provider_xtreme1.emulator import Xtreme1Emulator

C = "adapter/api/controller/"
D = "adapter/dto/"
U = "usecase/"
DUP = ("NAME_DUPLICATED", "name already exists")
NOT_READABLE = "org.springframework.http.converter.HttpMessageNotReadableException: JSON parse error: ..."
ENUM_PARAM = "org.springframework.web.method.annotation.MethodArgumentTypeMismatchException: ..."
MISSING_PARAM = "org.springframework.web.bind.MissingServletRequestParameterException: ..."
INTEGRITY = "org.springframework.dao.DataIntegrityViolationException: ..."
BAD_SQL = "org.springframework.jdbc.BadSqlGrammarException: ..."
CLS = {"ontologyId": "{onto}", "color": "#fff", "toolType": "BOUNDING_BOX"}


ROWS: dict[str, Row] = {
    # ---- /ontology: OntologyDTO (@NotNull name, type; @Length 256), uk_name_type, enum column
    "onto-create": ok(
        C + "OntologyController.java",
        "POST",
        "/ontology/create",
        body={"name": "Rail", "type": "LIDAR_FUSION"},
        check=lambda d: isinstance(d, int),
    ),
    "onto-create-dup-case": bad(
        U + "OntologyUseCase.java", "POST", "/ontology/create", *DUP, body={"name": "ROAD ", "type": "IMAGE"}
    ),
    "onto-create-other-type": ok(
        U + "OntologyUseCase.java", "POST", "/ontology/create", body={"name": "Road", "type": "LIDAR_BASIC"}
    ),
    "onto-create-empty-name": ok(
        D + "OntologyDTO.java", "POST", "/ontology/create", body={"name": "", "type": "LIDAR_BASIC"}
    ),
    "onto-create-missing": bad(
        D + "OntologyDTO.java",
        "POST",
        "/ontology/create",
        "PARAM_ERROR",
        '["name name cannot be null","type type cannot be null"]',
        body={},
    ),
    "onto-create-long-name": bad(
        D + "OntologyDTO.java",
        "POST",
        "/ontology/create",
        "PARAM_ERROR",
        '["name The length of name should be less than 256."]',
        body={"name": "n" * 257, "type": "IMAGE"},
    ),
    "onto-create-type-TEXT": unknown(
        "deploy/mysql V1__Create_tables.sql ontology.type",
        "POST",
        "/ontology/create",
        INTEGRITY,
        body={"name": "Words", "type": "TEXT"},
    ),
    "onto-create-type-bad": unknown(
        D + "OntologyDTO.java", "POST", "/ontology/create", NOT_READABLE, body={"name": "V", "type": "VIDEO"}
    ),
    "onto-update-dup": bad(
        U + "OntologyUseCase.java",
        "POST",
        "/ontology/update/{rail}",
        *DUP,
        body={"name": "road", "type": "IMAGE"},
    ),
    "onto-update": ok(
        C + "OntologyController.java",
        "POST",
        "/ontology/update/{rail}",
        body={"name": "Rail 2", "type": "LIDAR_FUSION"},
    ),
    "onto-info": ok(
        C + "OntologyController.java",
        "GET",
        "/ontology/info/{onto}",
        check=lambda d: d["name"] == "Road" and d["classNum"] is None,
    ),
    "onto-info-missing": ok(
        C + "OntologyController.java", "GET", "/ontology/info/999", check=lambda d: d is None
    ),
    "onto-findAll": ok(
        C + "OntologyController.java",
        "GET",
        "/ontology/findAll",
        params={"type": "IMAGE"},
        check=lambda d: [o["name"] for o in d] == ["Road"],
    ),
    "onto-findAll-no-type": unknown(C + "OntologyController.java", "GET", "/ontology/findAll", MISSING_PARAM),
    "onto-findAll-bad-type": unknown(
        C + "OntologyController.java", "GET", "/ontology/findAll", ENUM_PARAM, params={"type": "image"}
    ),
    "onto-page-like": ok(
        U + "OntologyUseCase.java",
        "GET",
        "/ontology/findByPage",
        params={"name": "oa"},
        check=lambda d: [(o["name"], o["classNum"]) for o in d["list"]] == [("Road", 2), ("Road", 0)],
    ),
    "onto-page-type": ok(
        U + "OntologyUseCase.java",
        "GET",
        "/ontology/findByPage",
        params={"type": "LIDAR_FUSION"},
        check=lambda d: [o["name"] for o in d["list"]] == ["Rail 2", "Rail"],
    ),
    "onto-page-bad-type": bad(
        C + "OntologyController.java",
        "GET",
        "/ontology/findByPage",
        "PARAM_ERROR",
        '["type Failed to convert ...',
        params={"type": "X"},
    ),
    "onto-validate-taken": ok(
        U + "OntologyUseCase.java",
        "GET",
        "/ontology/validateName",
        params={"name": "road", "type": "IMAGE"},
        check=lambda d: d is True,
    ),
    "onto-validate-self": ok(
        U + "OntologyUseCase.java",
        "GET",
        "/ontology/validateName",
        params={"name": "road", "type": "IMAGE", "id": "{onto}"},
        check=lambda d: d is False,
    ),
    "onto-validate-empty": ok(
        C + "OntologyController.java",
        "GET",
        "/ontology/validateName",
        params={"name": "", "type": "IMAGE"},
        check=lambda d: d is False,
    ),
    "onto-delete-missing": ok(
        U + "OntologyUseCase.java", "POST", "/ontology/delete/999", check=lambda d: d is False
    ),
    # ---- /class: ClassDTO (@NotNull ontologyId, toolType), ClassUseCase.saveClass,
    # uk_ontology_id_name_tool_type
    "class-create": ok(C + "ClassController.java", "POST", "/class/create", body={**CLS, "name": "Truck"}),
    "class-create-dup-accent": bad(
        U + "ClassUseCase.java", "POST", "/class/create", *DUP, body={**CLS, "name": "cár"}
    ),
    "class-create-same-name-other-tool": ok(
        U + "ClassUseCase.java", "POST", "/class/create", body={**CLS, "name": "Car", "toolType": "CUBOID"}
    ),
    "class-create-missing": bad(
        D + "ClassDTO.java",
        "POST",
        "/class/create",
        "PARAM_ERROR",
        '["ontologyId ontology id cannot be null","toolType toolType cannot be null"]',
        body={"name": "x"},
    ),
    "class-create-no-name": bad(
        U + "ClassUseCase.java", "POST", "/class/create", "UNKNOWN", "name can not be null", body=CLS
    ),
    "class-create-no-ontology": unknown(
        U + "ClassUseCase.java",
        "POST",
        "/class/create",
        "java.lang.IllegalArgumentException: cannot find ontology by ontologyId 999",
        body={**CLS, "ontologyId": 999, "name": "x"},
    ),
    "class-create-bad-tool": unknown(
        D + "ClassDTO.java",
        "POST",
        "/class/create",
        NOT_READABLE,
        body={**CLS, "name": "x", "toolType": "BOX"},
    ),
    "class-create-attributes-object": unknown(
        D + "ClassDTO.java",
        "POST",
        "/class/create",
        NOT_READABLE,
        body={**CLS, "name": "x", "attributes": {}},
    ),
    "class-update-dup": bad(
        U + "ClassUseCase.java",
        "POST",
        "/class/update/{car}",
        *DUP,
        body={**CLS, "name": "PERSON", "toolType": "POLYGON"},
    ),
    "class-info": ok(
        U + "ClassUseCase.java",
        "GET",
        "/class/info/{car}",
        check=lambda d: d["name"] == "Car" and d["datasetClassNum"] == 1,
    ),
    "class-info-missing": ok(U + "ClassUseCase.java", "GET", "/class/info/999", check=lambda d: d is None),
    "class-findAll-tool": ok(
        U + "ClassUseCase.java",
        "GET",
        "/class/findAll/{onto}",
        params={"toolType": "POLYGON"},
        check=lambda d: [c["name"] for c in d] == ["Person"],
    ),
    "class-findAll-bad-tool": unknown(
        C + "ClassController.java", "GET", "/class/findAll/{onto}", ENUM_PARAM, params={"toolType": "BOX"}
    ),
    "class-page-sorted": ok(
        U + "ClassUseCase.java",
        "GET",
        "/class/findByPage",
        params={"ontologyId": "{onto}", "sortBy": "NAME", "ascOrDesc": "DESC"},
        check=lambda d: [c["name"] for c in d["list"]][:2] == ["Truck", "Person"],
    ),
    "class-delete-missing": ok(
        U + "ClassUseCase.java", "POST", "/class/delete/999", check=lambda d: d is False
    ),
    # ---- /classification: ClassificationDTO, uk_ontology_id_name, input_type NOT NULL
    "cf-create": ok(
        C + "ClassificationController.java",
        "POST",
        "/classification/create",
        body={"ontologyId": "{onto}", "name": "Time", "inputType": "DROPDOWN"},
    ),
    "cf-create-dup": bad(
        U + "ClassificationUseCase.java",
        "POST",
        "/classification/create",
        *DUP,
        body={"ontologyId": "{onto}", "name": "WEATHER", "inputType": "TEXT"},
    ),
    "cf-create-no-ontology-id": bad(
        D + "ClassificationDTO.java",
        "POST",
        "/classification/create",
        "PARAM_ERROR",
        '["ontologyId ontology id cannot be null"]',
        body={"name": "x"},
    ),
    "cf-create-no-input-type": unknown(
        "deploy/mysql V1__Create_tables.sql classification.input_type",
        "POST",
        "/classification/create",
        INTEGRITY,
        body={"ontologyId": "{onto}", "name": "x"},
    ),
    "cf-create-bad-input-type": unknown(
        D + "ClassificationDTO.java",
        "POST",
        "/classification/create",
        NOT_READABLE,
        body={"ontologyId": "{onto}", "name": "x", "inputType": "SLIDER"},
    ),
    "cf-info": ok(
        C + "ClassificationController.java",
        "GET",
        "/classification/info/{weather}",
        check=lambda d: d["name"] == "Weather" and d["isRequired"] is True,
    ),
    "cf-page-no-ontology": bad(
        C + "ClassificationController.java",
        "GET",
        "/classification/findByPage",
        "PARAM_ERROR",
        '["ontologyId ontology id cannot be null"]',
    ),
    "cf-page": ok(
        U + "ClassificationUseCase.java",
        "GET",
        "/classification/findByPage",
        params={"ontologyId": "{onto}", "name": "eat"},
        check=lambda d: [c["name"] for c in d["list"]] == ["Weather"],
    ),
    "cf-validate": ok(
        U + "ClassificationUseCase.java",
        "GET",
        "/classification/validateName",
        params={"ontologyId": "{onto}", "name": "weather"},
        check=lambda d: d is True,
    ),
    "cf-delete-missing": ok(
        U + "ClassificationUseCase.java", "POST", "/classification/delete/999", check=lambda d: d is False
    ),
    # ---- /datasetClassification: DatasetClassificationDTO (@NotNull datasetId, name), uk_dataset_id_name
    "dcf-create": ok(
        C + "DatasetClassificationController.java",
        "POST",
        "/datasetClassification/create",
        body={"datasetId": "{street}", "name": "Rain", "inputType": "RADIO", "isRequired": True},
    ),
    "dcf-create-dup": bad(
        U + "DatasetClassificationUseCase.java",
        "POST",
        "/datasetClassification/create",
        *DUP,
        body={"datasetId": "{street}", "name": "LIGHT", "inputType": "RADIO"},
    ),
    "dcf-create-missing": bad(
        D + "DatasetClassificationDTO.java",
        "POST",
        "/datasetClassification/create",
        "PARAM_ERROR",
        '["datasetId must not be null","name must not be null"]',
        body={},
    ),
    "dcf-create-long": bad(
        D + "DatasetClassificationDTO.java",
        "POST",
        "/datasetClassification/create",
        "PARAM_ERROR",
        '["name The length of name should be less than 256."]',
        body={"datasetId": "{street}", "name": "n" * 257},
    ),
    "dcf-create-no-input-type": unknown(
        "deploy/mysql V1__Create_tables.sql dataset_classification",
        "POST",
        "/datasetClassification/create",
        INTEGRITY,
        body={"datasetId": "{street}", "name": "Fog"},
    ),
    "dcf-update-dup": bad(
        U + "DatasetClassificationUseCase.java",
        "POST",
        "/datasetClassification/update/{light}",
        *DUP,
        body={"datasetId": "{street}", "name": "rain"},
    ),
    "dcf-findAll": ok(
        U + "DatasetClassificationUseCase.java",
        "GET",
        "/datasetClassification/findAll/{street}",
        check=lambda d: [c["name"] for c in d] == ["Light", "Rain"],
    ),
    "dcf-info-missing": ok(
        C + "DatasetClassificationController.java",
        "GET",
        "/datasetClassification/info/999",
        check=lambda d: d is None,
    ),
    "dcf-page-no-dataset": unknown(
        C + "DatasetClassificationController.java",
        "GET",
        "/datasetClassification/findByPage",
        "java.lang.IllegalArgumentException: datasetId can not be null",
    ),
    "dcf-page": ok(
        U + "DatasetClassificationUseCase.java",
        "GET",
        "/datasetClassification/findByPage",
        params={"datasetId": "{street}", "inputType": "RADIO"},
        check=lambda d: d["total"] == 2,
    ),
    "dcf-deleteByIds-empty": bad(
        C + "DatasetClassificationController.java",
        "POST",
        "/datasetClassification/deleteByIds",
        "UNKNOWN",
        "ID list can not be empty!",
        body=[],
    ),
    "dcf-delete-missing": ok(
        U + "DatasetClassificationUseCase.java", "POST", "/datasetClassification/delete/999"
    ),
    "dcf-copy-missing": bad(
        D + "request/DatasetClassificationCopyDTO.java",
        "POST",
        "/datasetClassification/copyFromOntologyCenter",
        "PARAM_ERROR",
        '["datasetId must not be null","ontologyId must not be null","classificationIds must not be empty"]',
        body={},
    ),
    "dcf-save-to-ontology-missing": bad(
        D + "request/DatasetClassificationCopyDTO.java",
        "POST",
        "/datasetClassification/saveToOntologyCenter",
        "PARAM_ERROR",
        '["datasetId must not be null","ontologyId must not be null","classificationIds must not be empty"]',
        body={},
    ),
    "dcf-save-to-ontology-unknown-ids": unknown(
        "mybatis/mapper/ClassificationMapper.xml saveOrUpdateBatch",
        "POST",
        "/datasetClassification/saveToOntologyCenter",
        BAD_SQL,
        body={"datasetId": "{street}", "ontologyId": "{onto}", "classificationIds": [999]},
    ),
    "dcf-save-to-ontology": ok(
        U + "DatasetClassificationUseCase.java",
        "POST",
        "/datasetClassification/saveToOntologyCenter",
        body={"datasetId": "{street}", "ontologyId": "{rail}", "classificationIds": ["{light}"]},
    ),
    # ---- /datasetClass extras: copy to/from the ontology center, deleteByIds
    "dc-copy-missing": bad(
        D + "request/DatasetClassCopyDTO.java",
        "POST",
        "/datasetClass/copyFromOntologyCenter",
        "PARAM_ERROR",
        '["datasetId must not be null","ontologyId must not be null","classIds must not be empty"]',
        body={},
    ),
    "dc-copy-unknown-ids": unknown(
        "mybatis/mapper/DatasetClassMapper.xml saveOrUpdateBatch",
        "POST",
        "/datasetClass/copyFromOntologyCenter",
        BAD_SQL,
        body={"datasetId": "{street}", "ontologyId": "{onto}", "classIds": [999]},
    ),
    "dc-copy-again-is-upsert": ok(
        U + "DatasetClassUseCase.java",
        "POST",
        "/datasetClass/copyFromOntologyCenter",
        body={"datasetId": "{street}", "ontologyId": "{onto}", "classIds": ["{car}"]},
    ),
    "dc-create-dup-case": bad(
        U + "DatasetClassUseCase.java",
        "POST",
        "/datasetClass/create",
        *DUP,
        body={"datasetId": "{street}", "name": "CAR", "color": "#fff", "toolType": "BOUNDING_BOX"},
    ),
    "dc-deleteByIds-bad-body": unknown(
        C + "DatasetClassController.java",
        "POST",
        "/datasetClass/deleteByIds",
        NOT_READABLE,
        body={"ids": [1]},
    ),
    "dc-save-to-ontology-missing": bad(
        D + "request/DatasetClassCopyDTO.java",
        "POST",
        "/datasetClass/saveToOntologyCenter",
        "PARAM_ERROR",
        '["datasetId must not be null","ontologyId must not be null","classIds must not be empty"]',
        body={},
    ),
    # ---- the ontology JSON file (OntologyController exportAsJson / importByJson)
    "export-bad-source": unknown(
        C + "OntologyController.java",
        "GET",
        "/ontology/exportAsJson",
        ENUM_PARAM,
        params={"sourceId": "1", "sourceType": "TASK"},
    ),
    "export-no-source-id": unknown(
        C + "OntologyController.java",
        "GET",
        "/ontology/exportAsJson",
        MISSING_PARAM,
        params={"sourceType": "DATASET"},
    ),
    "import-not-multipart": unknown(
        C + "OntologyController.java",
        "POST",
        "/ontology/importByJson",
        "org.springframework.web.HttpMediaTypeNotSupportedException: Content type 'application/json' "
        "not supported",
        body={},
    ),
    "batch-bad-des-type": unknown(
        C + "OntologyController.java",
        "POST",
        "/ontology/saveClassAndClassificationBatch",
        NOT_READABLE,
        body={"desType": "TASK"},
    ),
    # ---- data/deleteBatch (DataInfoDeleteDTO, DataInfoUseCase.deleteBatch) and dataset/delete
    "delete-batch-missing": bad(
        D + "DataInfoDeleteDTO.java",
        "POST",
        "/data/deleteBatch",
        "PARAM_ERROR",
        '["datasetId datasetId cannot be null","ids ids cannot be null"]',
        body={},
    ),
    "delete-batch-other-dataset": bad(
        U + "DataInfoUseCase.java",
        "POST",
        "/data/deleteBatch",
        "DATA_NOT_FOUND",
        "Data not found",
        body={"datasetId": "{onto_ds}", "ids": ["{data}"]},
    ),
    "delete-batch-locked": bad(
        U + "DataInfoUseCase.java",
        "POST",
        "/data/deleteBatch",
        "DATASET_DATA_OTHERS_ANNOTATING",
        "Select data that others are annotating",
        body={"datasetId": "{street}", "ids": ["{data}"]},
    ),
    "dataset-delete-missing": bad(
        U + "DatasetUseCase.java", "POST", "/dataset/delete/999", "DATASET_NOT_FOUND", "Dataset not found"
    ),
}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, Any]:
    with Xtreme1Emulator(token=TOKEN, data_dir=str(tmp_path_factory.mktemp("onto")), step_delay=0.01) as emu:
        api = Api(emu)
        onto = api.data(api.post("/ontology/create", {"name": "Road", "type": "IMAGE"}))
        rail = api.data(api.post("/ontology/create", {"name": "Rail0", "type": "LIDAR_FUSION"}))
        for name, tool in (("Car", "BOUNDING_BOX"), ("Person", "POLYGON")):
            body = {"ontologyId": onto, "name": name, "color": "#f00", "toolType": tool}
            api.data(api.post("/class/create", body))
        classes = {c["name"]: c["id"] for c in api.data(api.get(f"/class/findAll/{onto}"))}
        body = {"ontologyId": onto, "name": "Weather", "inputType": "RADIO", "isRequired": True}
        api.data(api.post("/classification/create", body))
        weather = api.data(api.get("/classification/findByPage", ontologyId=onto))["list"][0]["id"]
        street = api.dataset("IMAGE", "Street")
        copy = {"datasetId": street, "ontologyId": onto, "classIds": [classes["Car"]]}
        api.data(api.post("/datasetClass/copyFromOntologyCenter", copy))
        api.data(
            api.post(
                "/datasetClassification/create", {"datasetId": street, "name": "Light", "inputType": "RADIO"}
            )
        )
        light = api.data(api.get(f"/datasetClassification/findAll/{street}"))[0]["id"]
        api.import_ok(street, make_zip({"image_0/a.png": image_bytes()}))
        data = api.root_items(street)[0]["id"]
        emu.lock([data], user="u5")
        other = api.dataset("IMAGE", "Other")
        ids = {"onto": onto, "rail": rail, "car": classes["Car"], "weather": weather}
        ids.update(street=street, light=light, data=data, onto_ds=other)
        yield {"emu": emu, "api": api, "ids": ids}


@pytest.mark.parametrize("case", cases(ROWS))
def test_conformance(world, case):
    assert_conforms(send(world, ROWS[case]), ROWS[case])


def test_table_covers_every_ontology_endpoint():
    from airflow_provider_xtreme1.emulator import routes_ontology, routes_ontology_file, routes_ontology_io

    routes = routes_ontology.ROUTES + routes_ontology_io.ROUTES + routes_ontology_file.ROUTES
    ids = dict.fromkeys(("onto", "rail", "car", "weather", "street", "light"), 1)
    uncovered = uncovered_routes(routes, ROWS.values(), ids)
    # Covered by the flows in test_ontology.py instead.
    assert set(uncovered) <= {
        "/class/update/{id}",
        "/classification/update/{id}",
        "/datasetClassification/info/{id}",
    } | {
        "/class/delete/{id}",
        "/classification/delete/{id}",
        "/datasetClassification/deleteByIds",
    }, uncovered
    assert len(ROWS) >= 60
