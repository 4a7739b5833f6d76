"""A property-based run over the OpenAPI document: requests generated from each operation's
parameters and body schema (hypothesis), sent as a province administrator, an enterprise and an
anonymous visitor, never get a 5xx; every error has the one error shape, and every success
carries the fields its documented schema requires.

State-changing operations run too, with a valid CSRF token, on a throwaway copy of the store.
"""

from __future__ import annotations

import shutil
import string
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mujun.auth import Actor, Role, create_user
from mujun.evaluation import evaluate
from mujun.rules import load_rules
from mujun.store import open_store
from mujun.web import WebSettings, create_app
from mujun.web.testing import FakeClock, csrf_headers, logged_in_client

from .conftest import ROOT

PASSWORD = "Openapi-pass-2030"
FAST_HASH = {"argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}
EXAMPLES = 12  # per operation and role: the whole module stays well under a minute
ERROR_KEYS = {"ok", "error", "errors", "status"}
# Logging out or changing the password would end the session the rest of the run relies on.
SESSION_ENDERS = {("post", "/api/v1/logout"), ("post", "/api/v1/password")}
TEXT = st.text(alphabet=string.ascii_letters + string.digits + "中文_-. /%", max_size=20)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A small evaluated province (a draft and a published run) and, on a copy of it, a second
    app for the writes; accounts for the province administrator and one enterprise."""
    from mujun.web.demo import build_demo_store

    base = tmp_path_factory.mktemp("openapi")
    db = base / "openapi.duckdb"
    draft = build_demo_store(db, base / "data", enterprises=200)
    settings_ = WebSettings(db=db, **FAST_HASH)
    clock = FakeClock()
    with open_store(db) as store:
        rules = load_rules(ROOT / "rules" / "zhejiang-default.yaml")
        published = evaluate(store, 2023, rules=rules).run_id
        store.execute("UPDATE runs SET status = 'published' WHERE run_id = ?", [published])
        firm = store.scalar("SELECT min(uscc) FROM results WHERE run_id = ?", [published])
        other = store.scalar("SELECT max(uscc) FROM results WHERE run_id = ?", [published])
        county = store.scalar("SELECT min(county_code) FROM results WHERE county_code <> ''")
        for name, role, attrs in (
            ("prov", Role.PROVINCE_ADMIN, {}),
            ("ent", Role.ENTERPRISE, {"uscc": firm}),
        ):
            create_user(
                store,
                username=name,
                role=role,
                now=clock(),
                actor=Actor("test", "cli"),
                settings=settings_,
                password=PASSWORD,
                must_change_password=False,
                **attrs,
            )
    scratch = base / "scratch.duckdb"
    shutil.copy(db, scratch)
    read_app = create_app(settings_, clock=clock)
    write_app = create_app(WebSettings(db=scratch, **FAST_HASH), clock=clock)
    known = {
        "run_id": [draft, published],
        "uscc": [firm, other],
        "region": [county, county[:4] + "00", "330000"],
        "username": ["prov", "ent", "nobody"],
    }
    yield {"read": read_app, "write": write_app, "known": known}
    read_app.state.db.close()
    write_app.state.db.close()


def _resolve(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def strategy_for(spec: dict, schema: dict, name: str, known: dict, depth: int = 0) -> Any:
    """Values for a JSON schema: valid ones, boundary ones and plain wrong ones, mixed with
    identifiers that exist in the store (so requests reach past the 404s)."""
    schema = _resolve(spec, schema)
    wrong = st.one_of(st.none(), st.integers(-5, 5), TEXT)
    if "anyOf" in schema or "oneOf" in schema:
        options = schema.get("anyOf") or schema.get("oneOf")
        return st.one_of(*[strategy_for(spec, s, name, known, depth + 1) for s in options])
    if "enum" in schema:
        return st.one_of(st.sampled_from(schema["enum"]), wrong)
    if "const" in schema:
        return st.just(schema["const"])
    kind = schema.get("type")
    ids = [v for k, vs in known.items() if k in name for v in vs]
    if kind == "string":
        if "pattern" in schema:
            base = st.from_regex(schema["pattern"], fullmatch=True).filter(lambda s: len(s) < 80)
        elif schema.get("format") == "date":
            base = st.dates().map(str)
        elif schema.get("format") == "date-time":
            base = st.datetimes().map(lambda d: d.isoformat())
        elif schema.get("format") == "binary":
            base = st.binary(max_size=200)
        else:
            base = st.text(max_size=schema.get("maxLength", 30) + 2)
        return st.one_of(st.sampled_from(ids), base) if ids else base
    if kind == "integer":
        lo, hi = schema.get("minimum", -10), schema.get("maximum", 10_000)
        return st.one_of(st.integers(lo, min(hi, lo + 10_000)), st.integers(-3, 3))
    if kind == "number":
        return st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-3, 3))
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        if depth > 3:
            return st.just([])
        items = strategy_for(spec, schema.get("items", {}), name, known, depth + 1)
        return st.lists(items, max_size=3)
    if kind == "object" or "properties" in schema:
        if depth > 3:
            return st.just({})
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        return st.fixed_dictionaries(
            {
                k: strategy_for(spec, v, k, known, depth + 1)
                for k, v in props.items()
                if k in required
            },
            optional={
                k: strategy_for(spec, v, k, known, depth + 1)
                for k, v in props.items()
                if k not in required
            },
        )
    return wrong


def request_strategy(spec: dict, path: str, op: dict, known: dict) -> Any:
    """A request (path with its parameters filled in, query, body) for one operation."""
    path_params, query = {}, {}
    optional_query = {}
    for p in op.get("parameters", []):
        values = strategy_for(spec, p.get("schema", {}), p["name"], known)
        if p["in"] == "path":
            path_params[p["name"]] = values.map(lambda v: quote(str(v), safe=""))
        elif p["in"] == "query":
            (query if p.get("required") else optional_query)[p["name"]] = values
    body: Any = st.none()
    content = op.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        body = st.tuples(
            st.just("json"),
            strategy_for(spec, content["application/json"]["schema"], "", known),
        )
    elif "multipart/form-data" in content:
        form = _resolve(spec, content["multipart/form-data"]["schema"])
        body = st.tuples(st.just("multipart"), strategy_for(spec, form, "", known))
    return st.fixed_dictionaries(
        {
            "path": st.fixed_dictionaries(path_params).map(lambda ps: path.format(**ps)),
            "query": st.fixed_dictionaries(query, optional=optional_query),
            "body": body,
        }
    )


def send(client: TestClient, method: str, req: dict) -> Any:
    """Send one generated request (CSRF header on writes)."""
    query = {k: v for k, v in req["query"].items() if v is not None}
    kwargs: dict[str, Any] = {"params": query}
    if method != "get":
        kwargs["headers"] = csrf_headers(client)
    if req["body"] is not None:
        kind, value = req["body"]
        if kind == "json":
            kwargs["json"] = value
        else:
            files, data = {}, {}
            for k, v in (value or {}).items():
                if isinstance(v, bytes):
                    files[k] = ("f.xlsx", v, "application/octet-stream")
                elif v is not None:
                    data[k] = str(v)
            kwargs |= {"files": files or None, "data": data}
    return client.request(method.upper(), req["path"], **kwargs)


def operations(app: Any) -> list[tuple[str, str, dict]]:
    """Every (method, path, operation) of the API document."""
    spec = app.openapi()
    return [
        (method, path, op)
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]


def check_operation(app: Any, client: TestClient, method: str, path: str, op: dict, known: dict):
    """Run generated requests against one operation; the problems found."""
    spec = app.openapi()
    problems: list[str] = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(req=request_strategy(spec, path, op, known))
    def run(req: dict) -> None:
        res = send(client, method, req)
        where = f"{method.upper()} {req['path']} {req['query']}"
        if res.status_code >= 500:
            problems.append(f"{where}: {res.status_code}")
            return
        if not res.headers.get("content-type", "").startswith("application/json"):
            return
        body = res.json()
        if res.status_code >= 400:
            if set(body) != ERROR_KEYS or body["status"] != res.status_code:
                problems.append(f"{where}: error shape {sorted(body)}")
            return
        documented = op["responses"].get(str(res.status_code), {})
        schema = documented.get("content", {}).get("application/json", {}).get("schema")
        if schema:
            missing = set(_resolve(spec, schema).get("required", [])) - set(body)
            if missing:
                problems.append(f"{where}: missing {sorted(missing)}")

    run()
    return problems


def _client(app: Any, user: str | None) -> TestClient:
    return logged_in_client(app, user, PASSWORD) if user else TestClient(app)


@pytest.mark.parametrize("user", ["prov", "ent", None])
def test_generated_requests_never_get_a_server_error(world, user):
    reads = _client(world["read"], user)
    writes = _client(world["write"], user)
    problems = []
    for method, path, op in operations(world["read"]):
        if user and (method, path) in SESSION_ENDERS:
            continue
        # Writes change the store: they go to the throwaway copy.
        app, client = (world["read"], reads) if method == "get" else (world["write"], writes)
        problems += check_operation(app, client, method, path, op, world["known"])
    assert problems == []


def test_every_operation_documents_its_answer_and_the_error_shape(world):
    spec = world["read"].openapi()
    error = spec["components"]["schemas"]["ErrorOut"]
    assert set(error["properties"]) == ERROR_KEYS
    untyped = []
    for method, path, op in operations(world["read"]):
        ok = next(op["responses"][s] for s in ("200", "201") if s in op["responses"])
        content = ok.get("content", {})
        json_schema = content.get("application/json", {}).get("schema", {})
        files = set(content) - {"application/json"}
        if not (json_schema.get("$ref") or files) and path != "/api/v1/health":
            untyped.append((method, path))
        if path.startswith("/api/v1/") and path != "/api/v1/health":
            for status in ("401", "403", "404", "422"):
                if status == "422" and not op.get("parameters") and "requestBody" not in op:
                    continue
                ref = op["responses"].get(status, {}).get("content", {})
                assert ref["application/json"]["schema"]["$ref"].endswith("/ErrorOut"), (
                    method,
                    path,
                    status,
                )
    assert untyped == []
