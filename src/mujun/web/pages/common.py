"""What every page shares: the logged-in viewer, the page language, the year and run, the
region in view, the region tree, rendering, and the audit of confidential reads.

Scope decisions come from ``mujun.auth.scope`` (the same rules as the JSON API): a page never
reads a row outside the viewer's scope, and a region outside it answers 403.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import Depends, Request, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from mujun.auth.audit import Actor
from mujun.auth.roles import PROVINCE_CODE, RESULT_READERS, ROLE_NAMES, Role
from mujun.auth.scope import DataScope, covers, data_scope, region_tree
from mujun.auth.users import User, password_change_reason
from mujun.reference.divisions import division_name
from mujun.reference.industries import industry_name
from mujun.store import Store
from mujun.web.db import Database
from mujun.web.deps import AuthSession, OptionalSessionDep, client_ip
from mujun.web.errors import forbidden
from mujun.web.pages.i18n import (
    DEPARTMENTS_EN,
    FIELDS_EN,
    INDICATORS_EN,
    LANG_COOKIE,
    class_label,
    count_label,
    request_lang,
    state_label,
    term,
    translator,
    unit_label,
)
from mujun.web.queries import RunRow, visible_runs
from mujun.web.readmodel import unread_notices
from mujun.web.security import CSRF_COOKIE


class LoginRequired(Exception):
    """No live session: the page sends the browser to ``/login`` (and back afterwards)."""

    def __init__(self, next_url: str, problem: str | None = None) -> None:
        super().__init__(next_url)
        self.next_url = next_url
        self.problem = problem


class PasswordChangeRequired(Exception):
    """A password change is pending: every page but the change form sends the browser there."""


@dataclass(frozen=True)
class Viewer:
    """The logged-in user of a page, with the CSRF token of the session and the data scope."""

    user: User
    csrf_token: str
    scope: DataScope

    @property
    def reads_results(self) -> bool:
        """Whether the role reads evaluation results at all."""
        return self.user.role in RESULT_READERS

    @property
    def root(self) -> str | None:
        """The top of the viewer's region tree (None for roles without a region)."""
        return self.user.region

    def actor(self, request: Request) -> Actor:
        """The viewer as the actor of audit entries."""
        return Actor(self.user.username, self.user.role.value, client_ip(request))


def _local_path(request: Request) -> str:
    """The requested path and query, as a safe ``next`` target after logging in."""
    url = request.url.path
    if request.url.query:
        url += "?" + request.url.query
    return url


async def page_session(request: Request, session: OptionalSessionDep) -> AuthSession:
    """The live session of a page request; without one, off to the login page."""
    if session is None:
        raise LoginRequired(_local_path(request), getattr(request.state, "session_problem", None))
    return session


async def page_viewer(
    request: Request, session: Annotated[AuthSession, Depends(page_session)]
) -> Viewer:
    """The viewer of a page, once no password change is pending."""
    now = request.app.state.clock()
    if password_change_reason(session.user, now, request.app.state.settings):
        raise PasswordChangeRequired()
    return Viewer(session.user, session.csrf_token, data_scope(session.user))


ViewerDep = Annotated[Viewer, Depends(page_viewer)]
SessionPageDep = Annotated[AuthSession, Depends(page_session)]


def safe_next(target: str | None) -> str:
    """A local path to go to after logging in (anything else goes home)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def login_url(next_url: str) -> str:
    """The login page, coming back to ``next_url`` afterwards."""
    return "/login" if next_url == "/" else f"/login?next={quote(next_url, safe='/')}"


# -- years, runs, regions ----------------------------------------------------------------------


def runs_by_year(store: Store, scope: DataScope) -> dict[int, RunRow]:
    """The run of each year that the viewer may see: the newest one in force (published or
    final), else the newest draft."""
    out: dict[int, RunRow] = {}
    for run, firms in visible_runs(store, scope, in_force_first=True):
        if run.kind == "evaluation" and run.year is not None and firms > 0:
            out.setdefault(run.year, run)
    return out


@dataclass
class YearChoice:
    """The years with visible runs, the selected year and its run (None when there is none)."""

    years: list[int]
    year: int | None
    run: RunRow | None
    runs: dict[int, RunRow] = field(default_factory=dict)


def choose_year(request: Request, store: Store, scope: DataScope) -> YearChoice:
    """The year asked for (``?year=``) among those with runs, else the latest one."""
    runs = runs_by_year(store, scope)
    years = sorted(runs, reverse=True)
    asked = request.query_params.get("year", "")
    year = int(asked) if asked.isdigit() and int(asked) in runs else (years[0] if years else None)
    return YearChoice(years, year, runs.get(year) if year is not None else None, runs)


def region_in_view(request: Request, viewer: Viewer) -> str | None:
    """The region asked for (``?region=``) if within the scope (403 outside it), else the
    viewer's own region."""
    asked = request.query_params.get("region") or ""
    root = viewer.root
    if not asked:
        return root
    if not (len(asked) == 6 and asked.isdigit()) or root is None or not covers(root, asked):
        raise forbidden(f"地区 {asked} 不在您的权限范围内 / region outside your scope")
    return asked


def region_label(code: str | None) -> str:
    """A region's name (or its code when unknown)."""
    if not code:
        return ""
    return division_name(code) or code


def tree_for(viewer: Viewer, year: int | None) -> dict | None:
    """The viewer's region tree as at the end of ``year`` (None for roles without a region);
    shared between requests, so callers must not change it."""
    if viewer.root is None:
        return None
    if year is None:
        return region_tree(viewer.root)
    return _tree_at(viewer.root, date(year, 12, 31))


@functools.lru_cache(maxsize=512)
def _tree_at(root: str, on: date) -> dict:
    """``region_tree`` for a fixed date (reference data: the same answer every time), marked
    with that date so that its rendering can be reused too."""
    tree = region_tree(root, on)
    tree["as_of"] = on
    return tree


class TreeRenderer:
    """Renders the region tree of the left column (``_region_tree.html``), once for each tree,
    year, selected region and page it is shown with: a province has about a hundred nodes."""

    def __init__(self, templates: Jinja2Templates) -> None:
        self._template = templates.env.get_template("_region_tree.html")
        self._cached = functools.lru_cache(maxsize=1024)(self._render_dated)
        self._trees: dict[tuple[str, date], dict] = {}

    def _render(self, tree: dict, root: str | None, year: int | None, region, tree_path) -> str:
        return self._template.render(
            tree=tree, root=root, year=year, region=region, tree_path=tree_path, query_url=query_url
        )

    def _render_dated(self, code: str, on: date, root, year, region, tree_path) -> str:
        return self._render(_tree_at(code, on), root, year, region, tree_path)

    def html(self, tree: dict, root: str | None, year, region, tree_path: str) -> Markup:
        """The tree's HTML (from the cache when the tree is one of a fixed date)."""
        on = tree.get("as_of")
        if on is not None and _tree_at(tree["code"], on) is tree:
            return Markup(self._cached(tree["code"], on, root, year, region, tree_path))
        return Markup(self._render(tree, root, year, region, tree_path))


# -- rendering ---------------------------------------------------------------------------------


def query_url(path: str, params: dict[str, Any], **changes: Any) -> str:
    """``path`` with ``params`` updated by ``changes`` (None or "" drops a parameter)."""
    merged = {**params, **changes}
    kept = {k: v for k, v in merged.items() if v is not None and v != ""}
    return f"{path}?{urlencode(kept)}" if kept else path


@functools.lru_cache(maxsize=4096)
def _options_html(options: tuple[tuple[str, str], ...], selected: str) -> str:
    return "".join(
        f'<option value="{escape(value)}"{" selected" if value == selected else ""}>'
        f"{escape(label)}</option>"
        for value, label in options
    )


def options_html(options: Iterable[tuple[str, str]], selected: Any) -> Markup:
    """The ``<option>`` elements of a select, the one whose value is ``selected`` selected.

    Made once for each list and choice: a province's region list has about a hundred entries,
    which cost more to render on every request than the rest of the query bar."""
    chosen = "" if selected is None else str(selected)
    return Markup(_options_html(tuple((str(v), str(label)) for v, label in options), chosen))


def region_options(tree: dict) -> tuple[tuple[str, str], ...]:
    """(code, label) of the cities of a region tree, each followed by its counties, indented."""
    on = tree.get("as_of")
    if on is not None and _tree_at(tree["code"], on) is tree:
        return _dated_region_options(tree["code"], on)
    return _region_options(tree)


def _region_options(tree: dict) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for city in tree.get("children") or ():
        out.append((city["code"], city["name"]))
        out.extend((county["code"], "\u3000" + county["name"]) for county in city["children"])
    return tuple(out)


@functools.lru_cache(maxsize=512)
def _dated_region_options(code: str, on: date) -> tuple[tuple[str, str], ...]:
    return _region_options(_tree_at(code, on))


def plain_options(values: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """(value, value): options labelled with their own value."""
    return tuple((v, v) for v in values)


def industry_options(codes: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """(code, "code name") of industry codes, for a select."""
    return _industry_options(tuple(codes))


@functools.lru_cache(maxsize=1024)
def _industry_options(codes: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple((c, f"{c} {industry_name(c) or ''}") for c in codes)


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    viewer: Viewer | None = None,
    status: int = 200,
) -> Response:
    """A page from the templates, in the viewer's language, with the shared chrome."""
    lang, chosen = request_lang(request)
    templates: Jinja2Templates = request.app.state.page_templates
    user = viewer.user if viewer else None
    base = {
        "t": translator(lang),
        "lang": lang,
        "class_label": lambda k: class_label(k, lang),
        "run_status": lambda s: state_label("run_status", s, lang),
        "unit": lambda u: unit_label(u, lang),
        "field_label": lambda key, stored=None: term(FIELDS_EN, key, stored, lang),
        "indicator_label": lambda key, stored=None: term(INDICATORS_EN, key, stored, lang),
        "count_label": lambda entry: count_label(entry, lang),
        "result_status": lambda s: state_label("result_status", s, lang),
        "viewer": viewer,
        "user": user,
        "role_name": ROLE_NAMES[user.role] if user else "",
        "role_value": user.role.value if user else "",
        "csrf_token": viewer.csrf_token if viewer else request.cookies.get(CSRF_COOKIE, ""),
        "vendor": request.app.state.vendor_assets,
        "path": request.url.path,
        "is_htmx": request.headers.get("HX-Request") == "true",
        "region_label": region_label,
        "query_url": query_url,
        "options_html": options_html,
        "region_options": region_options,
        "industry_options": industry_options,
        "plain_options": plain_options,
        "province": PROVINCE_CODE,
        "is_enterprise": user is not None and user.role == Role.ENTERPRISE,
        "unread_notices": _unread(request, user),
    }
    tree = context.get("tree")
    if tree:
        choice = context.get("choice")
        year = choice.get("year") if isinstance(choice, dict) else getattr(choice, "year", None)
        renderer: TreeRenderer = request.app.state.tree_renderer
        base["region_tree_html"] = renderer.html(
            tree,
            viewer.root if viewer else None,
            year,
            context.get("region"),
            context.get("tree_path")
            or ("/rankings" if request.url.path.startswith("/rankings") else "/"),
        )
    if lang == "en" and "departments" in context:
        context = {
            **context,
            "departments": {k: DEPARTMENTS_EN.get(k, v) for k, v in context["departments"].items()},
        }
    response = templates.TemplateResponse(request, name, {**base, **context}, status_code=status)
    if chosen:
        response.set_cookie(LANG_COOKIE, lang, path="/", samesite="lax", max_age=365 * 86400)
    return response


def _unread(request: Request, user: User | None) -> int:
    """The viewer's unread notifications, for the bell in the top bar."""
    if user is None:
        return 0
    db: Database = request.app.state.db
    with db.reader() as r:
        return unread_notices(r, user.username)


def audit_read(request: Request, viewer: Viewer, action: str, obj: str, result: str = "ok") -> None:
    """Record a read or export of confidential data by the viewer."""
    db: Database = request.app.state.db
    db.audit(viewer.actor(request), request.app.state.clock(), action, obj, result)


def require_official(viewer: Viewer) -> None:
    """403 for roles that do not read lists of firms (enterprises see their own portrait)."""
    if not viewer.reads_results or viewer.user.role == Role.ENTERPRISE:
        raise forbidden("您的角色无权查看企业名单 / your role may not read lists of firms")


def require_result_reader(viewer: Viewer) -> None:
    """403 for roles that do not read evaluation results."""
    if not viewer.reads_results:
        raise forbidden("您的角色无权查看评价结果 / your role may not read evaluation results")
