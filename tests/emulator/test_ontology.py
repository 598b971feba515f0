"""Ontology flows over real HTTP: ontology center → dataset classes → result import bound by classId;
deleting classes in use; names under the server's collation; the ontology JSON file; data clean-up."""

from __future__ import annotations

import io
import json
import zipfile

import requests
from emulator_kit import TOKEN, Api, image_bytes, make_zip

BOX = {"points": [{"x": 1, "y": 1}, {"x": 4, "y": 3}]}
ATTRS = [{"id": "a1", "name": "occluded", "type": "RADIO", "options": [{"id": "o1", "name": "yes"}]}]


def _ontology(api: Api, name: str = "Road", otype: str = "IMAGE") -> int:
    return api.data(api.post("/ontology/create", {"name": name, "type": otype}))


def _class(api: Api, ontology_id: int, name: str, tool: str = "BOUNDING_BOX", **extra) -> dict:
    body = {"ontologyId": ontology_id, "name": name, "color": "#ff0000", "toolType": tool, **extra}
    return api.post("/class/create", body).json()


def _import_file(api: Api, dest_id: int, dest_type: str, doc: dict, name: str = "onto.json") -> dict:
    files = {"file": (name, json.dumps(doc).encode(), "application/json")}
    form = {"desId": str(dest_id), "desType": dest_type}
    resp = requests.post(
        api.base + "/ontology/importByJson",
        headers={"Authorization": f"Bearer {TOKEN}"},
        data=form,
        files=files,
        timeout=10,
    )
    return resp.json()


def test_ontology_to_dataset_to_bound_result_import(api):
    onto = _ontology(api)
    assert _class(api, onto, "Car", attributes=ATTRS, toolTypeOptions={"isStandard": False})["code"] == "OK"
    assert _class(api, onto, "Person", tool="POLYGON")["code"] == "OK"
    classes = api.data(api.get(f"/class/findAll/{onto}"))
    assert [(c["name"], c["toolType"]) for c in classes] == [("Car", "BOUNDING_BOX"), ("Person", "POLYGON")]
    assert classes[0]["attributes"] == ATTRS and classes[0]["toolTypeOptions"] == {"isStandard": False}
    page = api.data(api.get("/ontology/findByPage", type="IMAGE"))
    assert page["total"] == 1 and page["list"][0]["classNum"] == 2
    assert api.data(api.get(f"/ontology/info/{onto}"))["classNum"] is None  # info does not count

    ds = api.dataset("IMAGE", "street")
    body = {"datasetId": ds, "ontologyId": onto, "classIds": [c["id"] for c in classes]}
    assert api.data(api.post("/datasetClass/copyFromOntologyCenter", body)) is None
    ds_classes = api.data(api.get(f"/datasetClass/findAll/{ds}"))
    by_name = {c["name"]: c for c in ds_classes}
    assert set(by_name) == {"Car", "Person"} and by_name["Car"]["attributes"] == ATTRS
    # findAll leaves the link out; info carries it; the ontology class counts its copies.
    assert by_name["Car"]["ontologyId"] is None
    info = api.data(api.get(f"/datasetClass/info/{by_name['Car']['id']}"))
    assert (info["ontologyId"], info["classId"]) == (onto, classes[0]["id"])
    assert api.data(api.get(f"/class/info/{classes[0]['id']}"))["datasetClassNum"] == 1

    car = by_name["Car"]["id"]
    objects = {
        "objects": [
            {"type": "2D_BOX", "classId": car, "contour": BOX},
            {"type": "2D_BOX", "classId": 999999, "className": "Bus", "contour": BOX},
        ]
    }
    pkg = make_zip({"image_0/a.png": image_bytes(), "result/a.json": json.dumps(objects)})
    assert api.import_ok(ds, pkg, resultType="GROUND_TRUTH")["status"] == "PARSE_COMPLETED"
    exported = _export_objects(api, ds)
    assert [(o.get("classId"), o.get("className"), o.get("modelClass")) for o in exported] == [
        (car, "Car", None),
        (None, None, "Bus"),
    ]

    # Deleting a dataset class in use: the server neither refuses nor unbinds; objects keep the id.
    assert api.data(api.post(f"/datasetClass/delete/{car}")) is None
    assert api.data(api.get(f"/datasetClass/info/{car}")) is None
    assert [o.get("classId") for o in _export_objects(api, ds)] == [car, None]
    assert api.data(api.get(f"/class/info/{classes[0]['id']}"))["datasetClassNum"] == 0

    # Deleting the ontology keeps the dataset's classes and drops their links.
    assert api.data(api.post(f"/ontology/delete/{onto}")) is True
    assert api.data(api.post(f"/ontology/delete/{onto}")) is False
    person = by_name["Person"]["id"]
    assert api.data(api.get(f"/datasetClass/info/{person}"))["ontologyId"] is None
    assert api.data(api.get(f"/class/findAll/{onto}")) == []


def _export_objects(api: Api, ds: int) -> list[dict]:
    rec = api.wait_export(api.data(api.get("/data/export", datasetId=ds, selectModelRunIds="-1")))
    zf = zipfile.ZipFile(io.BytesIO(requests.get(rec["filePath"], timeout=5).content))
    results = [n for n in zf.namelist() if "/result/" in n]
    return [o for n in results for src in json.loads(zf.read(n)) for o in src["objects"]]


def test_class_names_compare_under_the_collation_per_tool_type(api):
    onto = _ontology(api)
    assert _class(api, onto, "Car")["code"] == "OK"
    for dup in ("car", "CAR ", "Cár"):
        assert _class(api, onto, dup) == {
            "code": "NAME_DUPLICATED",
            "message": "name already exists",
            "data": None,
        }
    assert _class(api, onto, "car", tool="POLYGON")["code"] == "OK"  # key is (ontology, name, tool type)
    ds = api.dataset("IMAGE")
    body = {"datasetId": ds, "name": "Car", "color": "#fff", "toolType": "BOUNDING_BOX"}
    assert api.post("/datasetClass/create", body).json()["code"] == "OK"
    dup = api.post("/datasetClass/create", {**body, "name": "CAR"}).json()
    assert (dup["code"], dup["message"]) == ("NAME_DUPLICATED", "name already exists")
    # Ontology names: unique per (name, type).
    assert api.post("/ontology/create", {"name": "ROAD", "type": "IMAGE"}).json()["code"] == "NAME_DUPLICATED"
    assert api.post("/ontology/create", {"name": "ROAD", "type": "LIDAR_BASIC"}).json()["code"] == "OK"
    assert api.data(api.get("/ontology/validateName", name="road ", type="IMAGE")) is True
    assert api.data(api.get("/ontology/validateName", name="road", type="IMAGE", id=onto)) is False


def test_copy_upserts_by_collation_and_links_only_exact_names(api):
    onto = _ontology(api)
    _class(api, onto, "Car", color="#00ff00", attributes=ATTRS)
    source = api.data(api.get(f"/class/findAll/{onto}"))[0]
    ds = api.dataset("IMAGE")
    api.create_classes(ds, "car", tool="BOUNDING_BOX")
    api.data(
        api.post(
            "/datasetClass/copyFromOntologyCenter",
            {"datasetId": ds, "ontologyId": onto, "classIds": [source["id"]]},
        )
    )
    rows = api.data(api.get(f"/datasetClass/findAll/{ds}"))
    # ON DUPLICATE KEY UPDATE: the existing row keeps its name and takes colour and attributes ...
    assert [(r["name"], r["color"], r["attributes"]) for r in rows] == [("car", "#00ff00", ATTRS)]
    # ... but the link is made with Java's case-sensitive equals, so "car" stays unlinked.
    assert api.data(api.get(f"/datasetClass/info/{rows[0]['id']}"))["classId"] is None
    # datasetClass/create|update with ontologyId + classId set the link; an update without both drops it.
    linked = {
        "datasetId": ds,
        "name": "Lorry",
        "color": "#fff",
        "toolType": "CUBOID",
        "ontologyId": onto,
        "classId": source["id"],
    }
    api.data(api.post("/datasetClass/create", linked))
    lorry = next(c["id"] for c in api.data(api.get(f"/datasetClass/findAll/{ds}")) if c["name"] == "Lorry")
    assert api.data(api.get(f"/datasetClass/info/{lorry}"))["classId"] == source["id"]
    api.data(api.post(f"/datasetClass/update/{lorry}", {**linked, "ontologyId": None, "classId": None}))
    assert api.data(api.get(f"/datasetClass/info/{lorry}"))["classId"] is None
    missing = api.post(
        "/datasetClass/copyFromOntologyCenter", {"datasetId": ds, "ontologyId": onto, "classIds": [424242]}
    )
    assert (missing.status_code, missing.json()["code"]) == (500, "UNKNOWN")


def test_ontology_file_round_trip_and_duplicates(api):
    onto = _ontology(api, "Source")
    _class(api, onto, "Car", attributes=ATTRS, toolTypeOptions={"isStandard": True})
    api.data(
        api.post(
            "/classification/create",
            {
                "ontologyId": onto,
                "name": "Weather",
                "inputType": "RADIO",
                "isRequired": True,
                "attribute": {"id": "w", "options": [{"id": "s", "name": "sunny"}]},
            },
        )
    )
    resp = requests.get(
        api.emu.url + "/api/ontology/exportAsJson",
        params={"sourceId": onto, "sourceType": "ONTOLOGY"},
        timeout=5,
    )
    assert resp.status_code == 200 and resp.content.startswith(b"\xef\xbb\xbf")  # open path: no token sent
    assert (
        resp.headers["Content-Disposition"]
        == "attachment;filename=ontology_Source.json;filename*=UTF-8''ontology_Source.json"
    )
    doc = json.loads(resp.content.decode("utf-8-sig"))
    car = doc["classes"][0]
    assert set(car) == {"id", "name", "color", "toolType", "toolTypeOptions", "attributes"}
    assert car["attributes"] == [{"name": "occluded", "type": "RADIO", "options": [{"name": "yes"}]}]
    assert doc["classifications"] == [
        {
            "id": doc["classifications"][0]["id"],
            "name": "Weather",
            "isRequired": True,
            "inputType": "RADIO",
            "attribute": {"options": [{"name": "sunny"}]},
        }
    ]

    ds = api.dataset("IMAGE")
    first = _import_file(api, ds, "DATASET", doc)["data"]
    assert first["isDuplicate"] is False and (first["validClassSize"], first["validClassificationSize"]) == (
        1,
        1,
    )
    assert [c["name"] for c in api.data(api.get(f"/datasetClass/findAll/{ds}"))] == ["Car"]
    stored = api.data(api.get(f"/datasetClassification/findAll/{ds}"))
    assert [(c["name"], c["attribute"]) for c in stored] == [("Weather", {"options": [{"name": "sunny"}]})]

    # A second import of the same names writes nothing and names what exists (by collation).
    doc["classes"][0]["name"], doc["classes"][0]["color"] = "CAR", "#123456"
    again = _import_file(api, ds, "DATASET", doc)["data"]
    assert again["isDuplicate"] is True
    assert again["duplicateClassName"] == [{"name": "Car", "toolType": "BOUNDING_BOX"}]
    assert again["duplicateClassificationName"] == ["Weather"]
    assert api.data(api.get(f"/datasetClass/findAll/{ds}"))[0]["color"] == "#ff0000"
    # The UI's second step sends the rows back: upserted by (name, tool type) under the collation.
    batch = {**again, "classes": again["classes"], "classifications": again["classifications"]}
    assert api.data(api.post("/ontology/saveClassAndClassificationBatch", batch))["validClassSize"] == 1
    rows = api.data(api.get(f"/datasetClass/findAll/{ds}"))
    assert [(r["name"], r["color"]) for r in rows] == [("Car", "#123456")]


def test_import_drops_bad_rows_silently_and_refuses_bad_files(api):
    ds = api.dataset("LIDAR_FUSION")
    doc = {
        "classes": [
            {"name": "Car", "toolType": "CUBOID"},
            {"name": "Car", "toolType": "CUBOID", "color": "#000"},  # exact repeat: dropped
            {"name": "Van", "toolType": "BOX"},  # no ToolTypeEnum
            {"name": "x" * 257, "toolType": "CUBOID"},
            {"name": "Bus", "toolType": "CUBOID", "attributes": {"not": "a list"}},
        ],
        "classifications": [{"name": "Weather", "inputType": "RADIO"}],  # no isRequired: dropped
    }
    data = _import_file(api, ds, "DATASET", doc)["data"]
    assert (data["classTotalSize"], data["validClassSize"]) == (5, 1)
    assert (data["classificationTotalSize"], data["validClassificationSize"]) == (1, 0)
    assert [c["name"] for c in api.data(api.get(f"/datasetClass/findAll/{ds}"))] == ["Car"]
    assert api.data(api.get(f"/datasetClassification/findAll/{ds}")) == []
    # Names differing by case pass the in-file check and merge in the unique key: one row, later colour.
    other = api.dataset("LIDAR_FUSION")
    twins = {
        "classes": [
            {"name": "Cone", "toolType": "CUBOID", "color": "#111"},
            {"name": "CONE", "toolType": "CUBOID", "color": "#222"},
        ]
    }
    assert _import_file(api, other, "DATASET", twins)["data"]["validClassSize"] == 2
    merged = api.data(api.get(f"/datasetClass/findAll/{other}"))
    assert [(c["name"], c["color"]) for c in merged] == [("Cone", "#222")]
    empty = _import_file(api, ds, "DATASET", {})["data"]
    # Xtreme1 sets validClassificationSize (not validClassSize) when "classes" is absent.
    assert (empty["classTotalSize"], empty["validClassSize"], empty["isDuplicate"]) == (0, None, False)
    assert _import_file(api, ds, "DATASET", doc, name="onto.txt")["code"] == "FILE_TYPE_NOT_SUPPORT"
    nameless = _import_file(
        api, ds, "DATASET", {"classifications": [{"isRequired": True, "inputType": "TEXT"}]}
    )
    assert nameless == {"code": "UNKNOWN", "message": "java.lang.NullPointerException", "data": None}


def test_delete_batch_locks_and_deleted_dataset(emu, api):
    ds = api.dataset("IMAGE", "to-clean")
    api.import_ok(
        ds,
        make_zip(
            {"image_0/a.png": image_bytes(), "image_0/b.png": image_bytes(), "image_0/c.png": image_bytes()}
        ),
    )
    items = {d["name"]: d["id"] for d in api.root_items(ds)}
    emu.lock([items["a"]], user="u7")
    locked = api.post("/data/deleteBatch", {"datasetId": ds, "ids": [items["a"], items["b"]]}).json()
    assert (locked["code"], locked["message"]) == (
        "DATASET_DATA_OTHERS_ANNOTATING",
        "Select data that others are annotating",
    )
    assert sorted(api.names(ds)) == ["a", "b", "c"]  # nothing deleted
    assert api.data(api.post("/data/deleteBatch", {"datasetId": ds, "ids": [items["b"], 987654]})) is None
    assert sorted(api.names(ds)) == ["a", "c"]
    gone = api.post("/data/deleteBatch", {"datasetId": ds, "ids": [items["b"]]}).json()
    assert (gone["code"], gone["message"]) == ("DATA_NOT_FOUND", "Data not found")
    emu.unlock(user="u7")
    assert api.data(api.post("/data/deleteBatch", {"datasetId": ds, "ids": [items["a"]]})) is None

    assert api.data(api.post(f"/dataset/delete/{ds}")) is None
    again = api.post(f"/dataset/delete/{ds}").json()
    assert (again["code"], again["message"]) == ("DATASET_NOT_FOUND", "Dataset not found")
    assert api.get(f"/dataset/info/{ds}").json()["code"] == "NOT_FOUND"
    assert api.data(api.get("/data/findByPage", datasetId=ds))["total"] == 0
    assert api.data(api.post("/dataset/create", {"name": "TO-CLEAN", "type": "IMAGE"}))["id"] != ds


def test_data_find_by_page_filters_and_order(api):
    ds = api.dataset("IMAGE")
    names = ("b_1", "B-2", "café", "a%1")
    api.import_ok(ds, make_zip({f"image_0/{n}.png": image_bytes() for n in names}))

    def listed(**params) -> list[str]:
        page = api.data(api.get("/data/findByPage", datasetId=ds, pageSize=100, **params))
        return [d["name"] for d in page["list"]]

    # Default order: name ASC under the collation ('-' weighs less than '_'; case folds).
    assert listed() == ["a%1", "B-2", "b_1", "café"]
    assert listed(sortField="NAME", ascOrDesc="DESC") == ["café", "b_1", "B-2", "a%1"]
    # LIKE '%name%': '_' and '%' are wildcards, accents and case fold.
    assert listed(name="b_") == ["B-2", "b_1"]
    assert listed(name="CAFE") == ["café"]
    assert listed(name="%") == listed() and listed(name="\\%") == ["a%1"]
    ids = {d["name"]: d["id"] for d in api.root_items(ds)}
    assert listed(ids=f"{ids['café']},{ids['a%1']}") == ["a%1", "café"]
    assert listed(ids=str(ids["b_1"]), parentId=ids["b_1"]) == []  # parentId always applies
    assert listed(annotationStatus="ANNOTATED") == [] and listed(splitType="NOT_SPLIT") == listed()
    assert listed(createStartTime="2000-01-01 00:00:00") == listed()
    assert listed(createEndTime="2000-01-01 00:00:00") == []
    assert listed(minDataConfidence="0.9", maxDataConfidence="1") == listed()  # bound, never applied
    run = api.get("/data/findByPage", datasetId=ds, runRecordId=1).json()
    assert (run["code"], run["message"]) == (
        "UNKNOWN",
        "org.springframework.jdbc.BadSqlGrammarException: \n### Error querying database.  Cause: "
        "java.sql.SQLSyntaxErrorException: Unknown column 'mdr.data_confidence' in 'field list'",
    )
    by_confidence = api.get("/data/findByPage", datasetId=ds, sortField="DATA_CONFIDENCE", ascOrDesc="ASC")
    assert by_confidence.status_code == 500 and "d.DATA_CONFIDENCE" in by_confidence.json()["message"]


def test_an_update_leaves_null_fields_as_they_are(api):
    # DatasetClassUseCase/ClassUseCase.save*: saveOrUpdate → updateById, which skips null fields.
    ds = api.dataset("IMAGE", "nulls")
    body = {"datasetId": ds, "name": "Car", "color": "#fff", "toolType": "POLYGON", "attributes": ATTRS}
    api.data(api.post("/datasetClass/create", {**body, "toolTypeOptions": {"isStandard": True}}))
    (row,) = api.data(api.get(f"/datasetClass/findAll/{ds}"))
    api.data(api.post(f"/datasetClass/update/{row['id']}", {**body, "color": "#000", "attributes": None}))
    (row,) = api.data(api.get(f"/datasetClass/findAll/{ds}"))
    assert (row["color"], row["attributes"], row["toolTypeOptions"]) == ("#000", ATTRS, {"isStandard": True})
    api.data(api.post(f"/datasetClass/update/{row['id']}", {**body, "attributes": [], "toolTypeOptions": {}}))
    (row,) = api.data(api.get(f"/datasetClass/findAll/{ds}"))
    assert (row["attributes"], row["toolTypeOptions"]) == ([], {})
