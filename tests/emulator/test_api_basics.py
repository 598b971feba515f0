"""Auth, envelope, content types and Spring-style errors."""

from __future__ import annotations

import re

import requests

UNAUTHORIZED = {"code": "LOGIN_STATUS_TIMEOUT", "message": "User login status timeout", "data": None}


def test_missing_or_wrong_auth_gets_exact_401(emu, api):
    for headers in (
        {},
        {"Authorization": "bearer secret-token"},
        {"Authorization": "Bearer  secret-token"},
        {"Authorization": "Bearer nope"},
    ):
        resp = requests.get(emu.url + "/api/user/logged", headers=headers, timeout=5)
        assert resp.status_code == 401
        assert resp.json() == UNAUTHORIZED
        assert resp.headers["Content-Type"].startswith("application/json")


def test_token_query_param_health_and_extra_tokens(emu, api):
    assert requests.get(emu.url + "/api/user/logged?token=secret-token", timeout=5).json()["code"] == "OK"
    assert requests.get(emu.url + "/api/actuator/health", timeout=5).json() == {"status": "UP"}
    emu.add_token("another")
    ok = requests.get(emu.url + "/api/user/logged", headers={"Authorization": "Bearer another"}, timeout=5)
    assert ok.status_code == 200
    emu.revoke_token("another")
    gone = requests.get(emu.url + "/api/user/logged", headers={"Authorization": "Bearer another"}, timeout=5)
    assert gone.status_code == 401


def test_api_token_create_then_use_then_delete(emu, api):
    rec = api.data(api.post("/user/api/token/create", {"expireAt": "2099-12-31T10:00:00Z"}))
    assert rec["tokenType"] == "API" and rec["expireAt"].startswith("2099-12-31T00:00")
    headers = {"Authorization": f"Bearer {rec['token']}"}
    assert requests.get(emu.url + "/api/user/logged", headers=headers, timeout=5).status_code == 200
    api.data(api.post(f"/user/api/token/delete/{rec['id']}"))
    assert requests.get(emu.url + "/api/user/logged", headers=headers, timeout=5).status_code == 401
    bad = api.post("/user/api/token/create", {"expireAt": "tomorrow"}).json()
    assert bad["code"] == "UNKNOWN" and bad["message"] == "The date format is incorrect"


def test_dataset_crud_and_business_errors(api):
    created = api.post("/dataset/create", {"name": "cars", "type": "LIDAR_FUSION"}).json()
    assert created["code"] == "OK" and created["message"] == "" and isinstance(created["data"]["id"], int)
    ds_id = created["data"]["id"]
    dup = api.post("/dataset/create", {"name": "cars", "type": "IMAGE"})
    assert dup.status_code == 200 and dup.json()["code"] == "DATASET_NAME_DUPLICATED"
    missing = api.post("/dataset/create", {"type": "IMAGE"}).json()
    assert missing["code"] == "PARAM_ERROR" and missing["message"].startswith("[")
    assert api.get("/dataset/info/999999").json()["code"] == "NOT_FOUND"
    assert api.data(api.get(f"/dataset/info/{ds_id}"))["name"] == "cars"
    page = api.data(api.get("/dataset/findByPage", name="ar"))
    assert [d["name"] for d in page["list"]] == ["cars"] and page["total"] == 1
    pitfall = api.get("/dataset/findByPage", sortField="NAME")
    assert pitfall.status_code == 500 and pitfall.json()["code"] == "UNKNOWN"
    assert api.get("/dataset/findByPage", sortField="NAME", ascOrDesc="ASC").json()["code"] == "OK"
    assert api.data(api.post(f"/dataset/delete/{ds_id}")) is None
    assert api.post(f"/dataset/delete/{ds_id}").json()["code"] == "DATASET_NOT_FOUND"
    assert api.post("/dataset/create", {"name": "cars", "type": "IMAGE"}).json()["code"] == "OK"


def test_new_datasets_have_no_classes_until_created(api):
    lidar, image = api.dataset("LIDAR_BASIC"), api.dataset("IMAGE")
    assert api.data(api.get(f"/datasetClass/findAll/{lidar}")) == []
    for name in ("Car", "Pedestrian"):
        api.data(
            api.post(
                "/datasetClass/create",
                {"datasetId": lidar, "name": name, "color": "#fff", "toolType": "CUBOID"},
            )
        )
    api.data(
        api.post(
            "/datasetClass/create",
            {"datasetId": image, "name": "car", "color": "#fff", "toolType": "BOUNDING_BOX"},
        )
    )
    found = api.data(api.get(f"/datasetClass/findAll/{lidar}"))
    assert [c["name"] for c in found] == ["Car", "Pedestrian"] and {c["toolType"] for c in found} == {
        "CUBOID"
    }
    dup = api.post(
        "/datasetClass/create", {"datasetId": lidar, "name": "CAR ", "color": "#000", "toolType": "CUBOID"}
    )
    assert dup.json() == {"code": "NAME_DUPLICATED", "message": "name already exists", "data": None}
    other = api.data(api.get(f"/datasetClass/findAll/{image}"))
    assert [c["name"] for c in other] == ["car"] and not {c["id"] for c in found} & {c["id"] for c in other}


def test_missing_params_and_bad_ids_are_500_unknown(api):
    resp = api.get("/data/generatePresignedUrl", fileName="a.zip")
    assert resp.status_code == 500
    body = resp.json()
    assert body["code"] == "UNKNOWN" and body["data"] is None
    assert "MissingServletRequestParameterException" in body["message"] and "'datasetId'" in body["message"]
    bad = api.get("/dataset/info/abc")
    assert bad.status_code == 500 and "NumberFormatException" in bad.json()["message"]
    wrong_method = api.post("/dataset/findByPage")
    assert wrong_method.status_code == 500 and "not supported" in wrong_method.json()["message"]
    unknown = api.get("/no/such/endpoint")
    assert unknown.status_code == 404 and unknown.json()["data"]["status"] == 404


def test_string_endpoints_are_text_plain_with_serial_strings(api):
    ds_id = api.dataset("IMAGE")
    urls = api.data(api.get("/data/generatePresignedUrl", fileName="a.zip", datasetId=ds_id))
    resp = api.post("/data/upload", {"fileUrl": urls["accessUrl"], "datasetId": ds_id, "source": "LOCAL"})
    assert resp.headers["Content-Type"] == "text/plain;charset=UTF-8"
    serial = resp.json()["data"]
    assert isinstance(serial, str) and re.fullmatch(r"\d{19}", serial)
    rec = api.upload_record(serial)
    assert rec["serialNumber"] == serial and isinstance(rec["id"], int)
    # the URL pointed at nothing yet, so the record failed synchronously, not the call
    assert rec["status"] == "FAILED" and rec["errorMessage"] == "File url error"
    invalid = api.post("/data/upload", {"datasetId": ds_id, "source": "DISK", "fileUrl": "x"}).json()
    assert invalid["code"] == "PARAM_ERROR" and invalid["message"].startswith("[")
    assert api.get("/data/findUploadRecordBySerialNumbers").json()["code"] == "PARAM_ERROR"
