"""The documentation keeps up with the code: profile keys, issue codes, commands."""

from __future__ import annotations

import re

from mujun.ingest.profiles import FieldSpec, MatchSpec, SourceProfile
from mujun.issue_codes import ISSUE_CODES

from .conftest import ROOT

INGEST_DOC = (ROOT / "docs" / "ingest.md").read_text(encoding="utf-8")


def test_every_source_profile_key_is_documented():
    keys = set(SourceProfile.model_fields) | set(FieldSpec.model_fields)
    keys |= {f"match.{k}" for k in MatchSpec.model_fields}
    missing = [
        k
        for k in sorted(keys)
        if f"`{k}`" not in INGEST_DOC
        and f"`fields.<name>.{k}`" not in INGEST_DOC
        and f", `{k}`" not in INGEST_DOC
    ]
    assert missing == []


def test_every_issue_code_is_documented_and_every_emitted_code_is_registered():
    for code in ISSUE_CODES:
        assert f"| `{code}` |" in INGEST_DOC
    emitted: set[str] = set()
    for path in [*(ROOT / "src" / "mujun" / "ingest").glob("*.py"), ROOT / "src/mujun/validate.py"]:
        text = path.read_text(encoding="utf-8")
        emitted |= set(
            re.findall(
                r"""(?:"|'|code=|CellProblem\(\s*name,\s*)"?([a-z]+(?:-[a-z]+)+)["']""", text
            )
        )
    not_codes = {"conflict-error", "blank-row", "totals-row", "note-row"}
    assert emitted - not_codes - set(ISSUE_CODES) == set()


def test_every_command_is_in_the_cli_docs():
    doc = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    for cmd in (
        "uscc",
        "demo-data",
        "ingest",
        "validate",
        "composite",
        "evaluate",
        "results",
        "diff",
        "publish",
        "sheet",
        "users",
        "audit",
        "runs",
        "serve",
        "loweff",
    ):
        assert f"## `mujun {cmd}" in doc


def test_every_command_and_every_docs_page_is_in_the_readme():
    from mujun.cli import app

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    names = [c.name for c in app.registered_commands] + [g.name for g in app.registered_groups]
    assert {"serve", "robustness", "users", "policy"} <= set(names)
    assert [n for n in names if f"`mujun {n}" not in readme] == []
    pages = sorted(p.name for p in (ROOT / "docs").glob("*.md"))
    assert [p for p in pages if f"(docs/{p})" not in readme] == []
