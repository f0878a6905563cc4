"""An app's health check path through the API (in-process, real Postgres)."""


def test_the_health_check_path_is_set_checked_and_reset(client):
    client.post("/apps", json={"name": "checked"})
    assert client.get("/apps/checked").json()["health_check_path"] is None
    answer = client.patch("/apps/checked", json={"health_check_path": "/health?deep=1"})
    assert answer.status_code == 200 and answer.json()["health_check_path"] == "/health?deep=1"
    for bad in ("health", "/with space", "/" + "x" * 200, 5, "/\u00e9"):
        refused = client.patch("/apps/checked", json={"health_check_path": bad})
        assert refused.status_code == 422 and refused.json()["id"] == "invalid_params", bad
    assert client.get("/apps/checked").json()["health_check_path"] == "/health?deep=1"
    assert client.patch("/apps/checked", json={"health_check_path": None}).json()["health_check_path"] is None
