"""Upload of department files from the browser: a good file is ingested and validated with its
report; malformed, oversized and wrong-type files, and files of another department, get a clear
4xx and leave the store as it was."""

from __future__ import annotations

import pytest

from mujun.auth import Role, list_audit
from mujun.store import open_store
from mujun.web import WebSettings, create_app
from mujun.web.demo import build_demo_store, busiest_county
from mujun.web.testing import FakeClock, create_accounts, csrf_headers, logged_in_client
from mujun.workflow import WorkflowSettings

from .conftest import ROOT

PASSWORD = "Upload-pass-2030"
FAST_HASH = {"argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}
TAX_FILE = "2023年度税收实际贡献(税务局).csv"
POWER_FILE = "国网供电公司_用电量_2023年.csv"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A 300-firm province, with a tax and a power uploader, a county analyst, the province."""
    base = tmp_path_factory.mktemp("upload")
    db = base / "u.duckdb"
    build_demo_store(db, base / "data", enterprises=300)
    settings = WebSettings(db=db, **FAST_HASH)
    clock = FakeClock()
    with open_store(db) as store:
        county, _ = busiest_county(store)
        accounts = {
            "prov": (Role.PROVINCE_ADMIN, {}),
            "county": (Role.COUNTY_ANALYST, {"scope": county}),
            "tax": (Role.DEPARTMENT_UPLOADER, {"department": "tax"}),
            "power": (Role.DEPARTMENT_UPLOADER, {"department": "power"}),
            "ent": (Role.ENTERPRISE, {"uscc": store.scalar("SELECT min(uscc) FROM results")}),
        }
        create_accounts(store, accounts, settings=settings, now=clock(), password=PASSWORD)
    app = create_app(settings, clock=clock)
    clients = {}
    for name in accounts:
        clients[name] = logged_in_client(app, name, PASSWORD)
    yield {"app": app, "clients": clients, "data": base / "data" / "2023", "base": base}
    app.state.db.close()


def _upload(world, user, name, data, year=2023):
    client = world["clients"][user]
    return client.post(
        "/api/v1/uploads",
        data={"year": str(year)},
        files={"file": (name, data, "application/octet-stream")},
        headers=csrf_headers(client),
    )


def _state(world) -> dict:
    """What an upload must not leave half-way: files, source rows, issues, clean tables."""
    with world["app"].state.db.reader() as r:
        tables = [
            t
            for (t,) in r.rows(
                "SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'src_%' "
                "OR table_name IN ('files', 'issues', 'quarantine', 'facts', 'enterprises', "
                "'match_report', 'slot_changes') ORDER BY 1"
            )
        ]
        state = {t: r.scalar(f'SELECT count(*) FROM "{t}"') for t in tables}
        state["files"] = r.rows("SELECT file_id, status, sha256 FROM files ORDER BY file_id")
    return state


def _kept_files(world) -> list[str]:
    folder = world["base"] / "u-files" / "uploads"
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def _assert_refused(world, user, name, data, status, words):
    before, kept = _state(world), _kept_files(world)
    res = _upload(world, user, name, data)
    body = res.json()
    assert res.status_code == status, body
    assert set(body) == {"ok", "error", "errors", "status"} and body["status"] == status
    for word in words:
        assert word in body["error"]
    assert _state(world) == before
    assert _kept_files(world) == kept
    return body


def test_a_department_file_is_ingested_and_validated_with_its_report(world):
    raw = (world["data"] / TAX_FILE).read_bytes().decode("gb18030").splitlines()
    name, uscc, _ = raw[1].split(",")
    raw[1] = f"{name},{uscc},1234567.00"
    res = _upload(world, "tax", TAX_FILE, "\r\n".join(raw).encode("gb18030"))
    assert res.status_code == 201, res.json()
    body = res.json()
    report = body["report"]
    assert report["year"] == 2023 and len(report["file_ids"]) == 1
    assert report["files"][0]["status"] == "replaced"
    outcome = report["files"][0]
    assert outcome["rows_stored"] > 0
    assert outcome["rows_read"] == sum(
        outcome[k] for k in ("rows_stored", "rows_quarantined", "rows_skipped")
    )
    assert all({"source", "code", "severity", "count"} <= set(c) for c in report["counts"])
    with world["app"].state.db.reader() as r:
        assert r.scalar(
            "SELECT tax_paid FROM facts WHERE year = 2023 AND uscc = ?", [uscc]
        ) == pytest.approx(123.4567)
        assert (
            r.scalar("SELECT status FROM files WHERE file_id = ?", [report["file_ids"][0]])
            == "current"
        )
        actions = [e.action for e in list_audit(r, actor="tax", action="upload.", limit=10)[1]]
    assert actions == ["upload.ingest", "upload.receive"]
    status = world["clients"]["tax"].get(f"/api/v1/uploads/{body['upload_id']}").json()["upload"]
    assert status["status"] == "done" and status["report"]["file_ids"] == report["file_ids"]
    files = world["clients"]["tax"].get("/api/v1/files").json()["files"]
    assert report["file_ids"][0] in {f["file_id"] for f in files}
    # Another department's uploader cannot see it.
    assert world["clients"]["power"].get(f"/api/v1/uploads/{body['upload_id']}").status_code == 404


def test_a_malformed_file_is_refused_and_nothing_is_stored(world):
    _assert_refused(
        world, "prov", "税务2023.xlsx", b"PK\x03\x04 not really a workbook", 400, ["无法读取"]
    )
    _assert_refused(world, "prov", "税务2023.csv", "名称,数值\n甲,1\n".encode(), 400, ["表头"])


def test_an_oversized_file_is_refused_and_nothing_is_stored(world):
    app = world["app"]
    saved = app.state.workflow_settings
    app.state.workflow_settings = saved.model_copy(update={"upload_max_bytes": 1000})
    try:
        data = (world["data"] / TAX_FILE).read_bytes()
        assert len(data) > 1000
        _assert_refused(world, "tax", TAX_FILE, data, 413, ["上限", "limit"])
    finally:
        app.state.workflow_settings = saved


@pytest.mark.parametrize("name", ["setup.exe", "说明.docx", "noextension"])
def test_a_wrong_type_is_refused_and_nothing_is_stored(world, name):
    _assert_refused(world, "tax", name, b"MZ\x90\x00 binary", 415, ["XLSX、XLS、CSV"])


def test_the_tax_uploader_cannot_upload_a_power_file(world):
    data = (world["data"] / POWER_FILE).read_bytes()
    body = _assert_refused(world, "tax", POWER_FILE, data, 403, ["power", "tax"])
    assert "本部门" in body["error"]
    with world["app"].state.db.reader() as r:
        entry = list_audit(r, actor="tax", action="upload.refuse", limit=1)[1][0]
    assert entry.result.startswith("refused")


def test_only_uploaders_and_analysts_of_the_whole_store_may_upload(world):
    data = (world["data"] / POWER_FILE).read_bytes()
    _assert_refused(world, "county", POWER_FILE, data, 403, ["省级管理员"])
    _assert_refused(world, "ent", POWER_FILE, data, 403, [])


def test_the_web_doc_lists_every_workflow_setting():
    doc = (ROOT / "docs" / "web.md").read_text(encoding="utf-8")
    for field in WorkflowSettings.model_fields:
        assert f"MUJUN_{field.upper()}" in doc, field
