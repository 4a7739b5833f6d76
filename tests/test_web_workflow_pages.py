"""The workflow pages: runs and publication, confirmation by enterprises, objections, upload —
roles and scope, the whole objection flow through the pages, publishing a notice, and refusals
shown on the page."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from mujun.auth import Role
from mujun.evaluation import evaluate
from mujun.rules import load_rules
from mujun.store import open_store
from mujun.web import WebSettings, create_app
from mujun.web.demo import build_demo_store, busiest_county
from mujun.web.security import CSRF_COOKIE
from mujun.web.testing import FakeClock, create_accounts, logged_in_client

from .browser import ARTIFACTS
from .conftest import ROOT

PASSWORD = "Workflow-pages-2030"
FAST_HASH = {"argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A 500-firm province; accounts per role around the busiest county; county drafts on call."""
    base = tmp_path_factory.mktemp("workflow-pages")
    db = base / "w.duckdb"
    build_demo_store(db, base / "data", enterprises=500)
    settings = WebSettings(db=db, **FAST_HASH)
    clock = FakeClock()
    rules = load_rules(ROOT / "rules" / "zhejiang-default.yaml")
    with open_store(db) as store:
        k1, c1 = busiest_county(store)
        k2 = store.scalar(
            "SELECT county_code FROM enterprises WHERE city_code = ? AND county_code <> ? "
            "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
            [c1, k1],
        )
        probe = evaluate(store, 2023, rules=rules, region=k1).run_id
        # Below class A on its own land, landlord of nobody, low tax-per-mu score: a much
        # smaller land area must lift its class.
        e1 = store.scalar(
            "SELECT r.uscc FROM results r JOIN result_items i ON i.run_id = r.run_id AND "
            "i.uscc = r.uscc AND i.indicator = 'tax_mu' WHERE r.run_id = ? "
            "AND r.class NOT IN ('A', '') AND r.land_rule = 'own' AND r.tenant_of = '' AND "
            "i.score < 0.5 * i.weight AND NOT EXISTS (SELECT 1 FROM results t WHERE "
            "t.run_id = r.run_id AND t.tenant_of = r.uscc) ORDER BY r.total, r.uscc LIMIT 1",
            [probe],
        )
        accounts = {
            "prov": (Role.PROVINCE_ADMIN, {}),
            "county": (Role.COUNTY_ANALYST, {"scope": k1}),
            "county2": (Role.COUNTY_ANALYST, {"scope": k2}),
            "ent": (Role.ENTERPRISE, {"uscc": e1, "display_name": "张三丰"}),
            "uploader": (Role.DEPARTMENT_UPLOADER, {"department": "tax"}),
            "auditor": (Role.AUDIT_ADMIN, {}),
        }
        create_accounts(store, accounts, settings=settings, now=clock(), password=PASSWORD)
    app = create_app(settings, clock=clock)
    app.state.workflow_settings = app.state.workflow_settings.model_copy(
        update={"publish_dir": base / "published"}
    )
    clients: dict[str, TestClient] = {
        name: logged_in_client(app, name, PASSWORD, form=True) for name in accounts
    }

    def county_draft() -> str:
        with app.state.db.writer() as w:
            return evaluate(w, 2023, rules=rules, region=k1).run_id

    yield {
        "app": app,
        "clients": clients,
        "county_draft": county_draft,
        "e1": e1,
        "k1": k1,
        "base": base,
    }
    app.state.db.close()


def _sql(world, sql, params=None):
    world["app"].state.db.flush_audit()  # the reads logged so far (audit_delay_ms) first
    with world["app"].state.db.reader() as r:
        return r.rows(sql, params)


def _form(world, user, path, data=None, files=None, **kw):
    """A form post with the session's CSRF token, as the page's form sends it."""
    c = world["clients"][user]
    return c.post(
        path,
        data={**(data or {}), "csrf_token": c.cookies[CSRF_COOKIE]},
        files=files,
        follow_redirects=False,
        **kw,
    )


def _get(world, user, path, **params):
    return world["clients"][user].get(path, params=params, follow_redirects=False)


def test_each_workflow_page_answers_its_roles_and_refuses_the_others(world):
    expected = {
        "/runs": {"prov": 200, "county": 200, "ent": 403, "uploader": 403, "auditor": 403},
        "/objections": {"prov": 200, "county": 200, "ent": 403, "uploader": 403, "auditor": 403},
        "/confirm": {"ent": 200, "prov": 403, "county": 403, "uploader": 403, "auditor": 403},
        "/upload": {"uploader": 200, "prov": 200, "county": 200, "ent": 403, "auditor": 403},
    }
    for path, by_user in expected.items():
        for user, status in by_user.items():
            res = _get(world, user, path)
            assert res.status_code == status, (path, user, res.text[:300])
            assert 'name="csrf_token"' in res.text or status != 200 or path == "/runs"


def test_a_run_or_objection_outside_the_scope_answers_404(world):
    run = world["county_draft"]()
    assert _get(world, "county", f"/runs/{run}").status_code == 200
    assert _get(world, "county2", f"/runs/{run}").status_code == 404
    assert _get(world, "county2", "/objections", run=run).status_code == 404
    assert _get(world, "county", "/objections/999999").status_code == 404
    res = _form(world, "county2", f"/runs/{run}/publish", {"contact_phone": "0571-1"})
    assert res.status_code == 404


def test_an_objection_goes_through_the_pages_to_a_new_run_showing_the_new_class(world):
    run, e1 = world["county_draft"](), world["e1"]
    land, klass = _sql(
        world, 'SELECT land_mu, "class" FROM results WHERE run_id = ? AND uscc = ?', [run, e1]
    )[0]
    # Nothing to confirm until the analyst opens land confirmation from the run's page.
    assert _get(world, "ent", "/confirm", run=run).status_code == 404
    res = _form(world, "county", f"/runs/{run}/confirmation", {"stage": "land"})
    assert res.status_code == 303 and res.headers["location"].endswith("done=open-land")

    page = _get(world, "ent", "/confirm", run=run).text
    assert "一、用地面积" in page and "自有土地面积" in page
    # The account holder's name is masked; the credit code shows with its middle hidden.
    assert "张**" in page and "张三丰" not in page and f">{e1}<" not in page
    assert f"/confirm/{run}/land_own_mu/contest" in page
    # Land first: the land figures come before the sheet figures.
    assert page.index("land_own_mu") < page.index("二、一企一单")

    res = _form(
        world,
        "ent",
        f"/confirm/{run}/land_own_mu/contest",
        {"reason": "土地证面积有误", "proposed_value": str(round(land / 10, 2))},
        files={"evidence": ("土地证.pdf", PDF, "application/pdf")},
    )
    assert res.status_code == 303, res.text[:500]
    assert "已提出异议" in _get(world, "ent", "/confirm", run=run).text

    listing = _get(world, "county", "/objections", run=run).text
    (fid,) = {int(m) for m in re.findall(r'href="/objections/(\d+)"', listing)}
    detail = _get(world, "county", f"/objections/{fid}").text
    assert "土地证面积有误" in detail and "土地证.pdf" in detail
    evidence = _get(world, "county", f"/objections/{fid}/evidence")
    assert evidence.status_code == 200 and evidence.content == PDF
    assert _get(world, "county2", f"/objections/{fid}").status_code == 404

    res = _form(world, "county", f"/objections/{fid}/accept", {"note": "核对土地证无误"})
    assert res.status_code == 303
    assert "已采纳" in _get(world, "county", f"/objections/{fid}").text

    res = _form(world, "county", f"/runs/{run}/rerun")
    assert res.status_code == 303
    new_run = res.headers["location"].split("/runs/")[1].split("?")[0]
    assert new_run != run
    new_class = _sql(
        world, 'SELECT "class" FROM results WHERE run_id = ? AND uscc = ?', [new_run, e1]
    )[0][0]
    assert new_class != klass
    page = _get(world, "county", f"/runs/{new_run}").text
    row = re.search(rf'<tr class="diff-row" data-uscc="{e1}">.*?</tr>', page, re.S)
    assert row is not None, page[:2000]
    assert f"cls-{new_class}" in row.group(0).split('class="class-after"')[1]
    assert "异议 #" in row.group(0)

    actions = {r[0] for r in _sql(world, "SELECT DISTINCT action FROM audit_log")}
    assert {"run.confirmation.open", "objection.file", "objection.accept", "run.rerun"} <= actions
    assert "evidence.read" in actions and "runs.diff" in actions


def test_publishing_through_the_page_shows_the_notice_with_counts_and_annexes(world):
    run = world["county_draft"]()
    res = _form(
        world,
        "county",
        f"/runs/{run}/publish",
        {
            "basis_title": ["关于深化亩均论英雄改革的指导意见", ""],
            "basis_doc_no": ["浙政发〔2018〕5号", ""],
            "contact_phone": "0576-88888888",
            "window_start": "2030-01-08",
        },
    )
    assert res.status_code == 303, res.text[:800]
    page = _get(world, "county", f"/runs/{run}").text
    counts = dict(
        _sql(
            world,
            'SELECT "class", count(*) FROM results WHERE run_id = ? AND "class" <> \'\' GROUP BY 1',
            [run],
        )
    )
    notice = page.split('id="notice"')[1]
    assert "浙政发〔2018〕5号" in notice and "0576-88888888" in notice
    assert "2030-01-08 至 2030-01-14" in notice
    for klass, n in counts.items():
        assert f'<strong class="count-{klass}">{n}</strong>' in notice
    annexes = re.findall(rf'href="(/runs/{run}/annexes/[^"]+)"', notice)
    assert annexes
    assert _get(world, "county", annexes[0]).status_code == 200
    assert _get(world, "county2", annexes[0]).status_code == 404
    # Publishing twice is refused on the page with the reason.
    again = _form(
        world,
        "county",
        f"/runs/{run}/publish",
        {"basis_title": ["x"], "basis_doc_no": ["y"], "contact_phone": "0576-1234567"},
    )
    assert again.status_code == 409 and "只有草稿批次可以公示" in again.text


def test_publishing_without_basis_documents_is_refused_with_a_message(world):
    run = world["county_draft"]()
    res = _form(world, "county", f"/runs/{run}/publish", {"contact_phone": "0576-88888888"})
    assert res.status_code == 400 and "公示依据" in res.text
    assert _sql(world, "SELECT status FROM runs WHERE run_id = ?", [run])[0][0] == "draft"


def test_the_runs_page_compares_two_runs(world):
    a, b = world["county_draft"](), world["county_draft"]()
    page = _get(world, "county", "/runs", a=a, b=b)
    assert page.status_code == 200 and "分类变化" in page.text and "没有分类变化" in page.text
    assert _get(world, "county2", "/runs", a=a, b=b).status_code == 404


def test_the_upload_page_refuses_a_word_document_with_the_reason(world):
    res = _form(
        world,
        "uploader",
        "/upload",
        {"year": "2023"},
        files={"file": ("税务.docx", b"PK\x03\x04not really", "application/msword")},
    )
    assert res.status_code == 415
    assert "只接受 XLSX、XLS、CSV" in res.text
    assert _sql(world, "SELECT status FROM uploads ORDER BY upload_id DESC LIMIT 1")[0][0] == (
        "failed"
    )
    # With htmx a wrong type is refused at once, in a fragment with a status htmx swaps.
    res = _form(
        world,
        "uploader",
        "/upload",
        {"year": "2023"},
        files={"file": ("税务.docx", b"PK\x03\x04not really", "application/msword")},
        headers={"HX-Request": "true"},
    )
    assert res.status_code == 200 and 'id="upload-error"' in res.text
    assert "<html" not in res.text


def test_an_upload_without_a_department_header_fails_in_the_background_with_the_reason(world):
    before = _sql(world, "SELECT count(*) FROM files")[0][0]
    res = _form(
        world,
        "uploader",
        "/upload",
        {"year": "2023"},
        files={"file": ("bad.csv", "\ufeff无关,列\n1,2\n".encode(), "text/csv")},
        headers={"HX-Request": "true"},
    )
    # The answer is the progress fragment, polling the upload until it is over (or, when the
    # background job was quicker than the answer, already its outcome).
    assert res.status_code == 200 and 'id="upload-job"' in res.text
    upload_id = int(re.search(r'data-upload="(\d+)"', res.text).group(1))
    if 'data-step="failed"' not in res.text:
        assert f'hx-get="/upload/{upload_id}/progress"' in res.text
    world["app"].state.upload_jobs.wait(upload_id, timeout=60)
    done = _get(world, "uploader", f"/upload/{upload_id}/progress")
    assert done.status_code == 200 and 'data-step="failed"' in done.text
    assert 'id="upload-error"' in done.text and "表头" in done.text
    assert "hx-trigger" not in done.text  # polling stops
    assert _sql(world, "SELECT status FROM uploads WHERE upload_id = ?", [upload_id]) == [
        ("failed",)
    ]
    assert _sql(world, "SELECT count(*) FROM files")[0][0] == before
    # Another role cannot poll it.
    assert _get(world, "county2", f"/upload/{upload_id}/progress").status_code == 404


def test_a_form_without_the_csrf_token_is_refused(world):
    run = world["county_draft"]()
    res = world["clients"]["county"].post(
        f"/runs/{run}/confirmation", data={"stage": "land"}, follow_redirects=False
    )
    assert res.status_code == 403


def test_workflow_pages_load_nothing_from_other_sites(world):
    run = world["county_draft"]()
    pages = [("county", "/runs"), ("county", f"/runs/{run}"), ("county", "/objections")]
    pages += [("ent", "/confirm"), ("uploader", "/upload")]
    for user, path in pages:
        html = _get(world, user, path).text
        assert not re.search(r'(src|href|action)="(https?:)?//', html), (user, path)


# -- the English switch covers the whole page ------------------------------------------------

HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
# Visible attributes: what a user reads besides the text.
SHOWN_ATTRIBUTES = ("placeholder", "title", "aria-label", "alt", "value")


class _Text(HTMLParser):
    """The text a user reads: element text and visible attributes, without scripts, styles,
    hidden inputs and elements marked as Chinese on purpose (``lang="zh"``: the switch back)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("script", "style") or a.get("lang", "").startswith("zh"):
            self._skip.append(tag)
            return
        if tag == "input" and a.get("type") == "hidden":
            return
        if tag in ("option", "select"):  # option values are codes, their text is checked
            a.pop("value", None)
        self.parts += [a[k] for k in SHOWN_ATTRIBUTES if a.get(k)]

    def handle_endtag(self, tag):
        if self._skip and self._skip[-1] == tag:
            self._skip.pop()

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def _shown_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return "\n".join(p for p in parser.parts if p.strip())


def _data_values(world) -> list[str]:
    """Every string the store holds as data: names, addresses, regions, stored reasons and
    messages, what analysts and firms wrote, file names. Longest first."""
    from mujun.reference.divisions import load_divisions
    from mujun.reference.industries import load_industries
    from mujun.web.pages.flow import mask_name

    queries = [
        "SELECT name FROM results UNION SELECT reasons FROM results "
        "UNION SELECT status_reason FROM results",
        "SELECT name FROM enterprises UNION SELECT town FROM enterprises",
        "SELECT message FROM issues UNION SELECT value FROM issues "
        "UNION SELECT column_name FROM issues UNION SELECT file FROM issues",
        "SELECT name FROM files",
        "SELECT title FROM publications UNION SELECT procedure FROM publications "
        'UNION SELECT unnest(from_json(basis::VARCHAR, \'[{"title":"VARCHAR"}]\')).title '
        "FROM publications UNION SELECT unnest(from_json(basis::VARCHAR, "
        '\'[{"doc_no":"VARCHAR"}]\')).doc_no FROM publications',
        "SELECT reason FROM confirmations UNION SELECT note FROM confirmations "
        "UNION SELECT filename FROM evidence",
        "SELECT filename FROM uploads UNION SELECT message FROM uploads",
        "SELECT display_name FROM users",
        "SELECT parcel_id FROM land UNION SELECT lessor_name FROM land",
        "SELECT unnest(from_json(annexes::VARCHAR, '[\"VARCHAR\"]')) FROM publications",
    ]
    values = {d.name for d in load_divisions()}
    # Reference names shown as they are published (GB/T 4754 industries, traditional industries).
    values |= {i.name for i in load_industries()} | {
        str(v) for (v,) in _sql(world, "SELECT DISTINCT traditional_industry FROM enterprises") if v
    }
    for q in queries:
        values |= {str(r[0]) for r in _sql(world, q) if r[0]}
    # Stored reasons are shown one clause at a time; names of people are shown masked.
    values |= {part for v in list(values) for part in re.split("[；;]", v) if part}
    values |= {mask_name(v) for (v,) in _sql(world, "SELECT display_name FROM users") if v}
    return sorted((v for v in values if HAN.search(v)), key=len, reverse=True)


def _untranslated(html: str, data: list[str]) -> list[str]:
    text = _shown_text(html)
    for value in data:
        text = text.replace(value, " ")
    return sorted({text[max(0, m.start() - 12) : m.end() + 12] for m in HAN.finditer(text)})


def test_every_page_in_english_shows_chinese_only_in_data_values(world):
    app = world["app"]
    run = world["county_draft"]()
    # A run with rounds, an objection with evidence, published; and an upload.
    assert _form(world, "county", f"/runs/{run}/confirmation", {"stage": "land"}).status_code == 303
    assert (
        _form(world, "county", f"/runs/{run}/confirmation", {"stage": "sheet"}).status_code == 303
    )
    res = _form(
        world,
        "ent",
        f"/confirm/{run}/land_own_mu/contest",
        {"reason": "土地证面积有误", "proposed_value": "1.5"},
        files={"evidence": ("土地证.pdf", PDF, "application/pdf")},
    )
    assert res.status_code == 303
    fid = _sql(world, "SELECT max(confirmation_id) FROM confirmations")[0][0]
    _form(
        world,
        "uploader",
        "/upload",
        {"year": "2023"},
        files={"file": ("税务.docx", b"PK\x03\x04", "application/msword")},
    )
    other = world["county_draft"]()
    res = _form(
        world,
        "county",
        f"/runs/{other}/publish",
        {
            "basis_title": ["关于深化亩均论英雄改革的指导意见"],
            "basis_doc_no": ["浙政发〔2018〕5号"],
            "contact_phone": "0576-88888888",
        },
    )
    assert res.status_code == 303
    uscc = world["e1"]
    source, code = _sql(world, "SELECT source, code FROM issues ORDER BY 1, 2 LIMIT 1")[0]
    pages = {
        "prov": [
            "/",
            "/rankings",
            f"/firm/{uscc}",
            "/quality",
            f"/quality?source={source}&code={code}",
            "/runs",
            f"/runs/{other}",
            f"/runs?a={run}&b={other}",
            "/objections",
            "/upload",
            "/password",
            "/no-such-page",
        ],
        "county": [
            "/",
            "/rankings",
            f"/runs/{run}",
            f"/objections?run={run}",
            f"/objections/{fid}",
        ],
        "ent": ["/confirm", f"/confirm?run={run}", f"/firm/{uscc}", "/runs"],
        "uploader": ["/quality", "/upload"],
        "auditor": ["/"],
    }
    data = _data_values(world)
    problems = {}
    for user, paths in pages.items():
        client: TestClient = world["clients"][user]
        for path in paths:
            res = client.get(
                path, params={"lang": "en"}, headers={"Accept": "text/html"}, follow_redirects=True
            )
            assert res.headers["content-type"].startswith("text/html"), path
            assert re.search(r'<html lang="en"', res.text), (user, path)
            found = _untranslated(res.text, data)
            if found:
                problems[f"{user} {path}"] = found
    # The login page, before logging in.
    anon = TestClient(app)
    found = _untranslated(anon.get("/login", params={"lang": "en"}).text, data)
    if found:
        problems["anonymous /login"] = found[:5]
    if problems:  # the full list, to fix them all at once
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "untranslated.json").write_text(
            json.dumps(problems, ensure_ascii=False, indent=1), encoding="utf-8"
        )
    assert not problems, problems
