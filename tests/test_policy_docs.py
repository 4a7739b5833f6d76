"""The policy and what-if documentation keeps up with the code."""

from __future__ import annotations

from mujun.policy.doc import render_policy_doc

from .conftest import ROOT


def test_policies_reference_is_generated_from_the_models():
    assert (ROOT / "docs" / "policies.md").read_text(encoding="utf-8") == render_policy_doc(), (
        "regenerate with: python -m mujun.policy.doc > docs/policies.md"
    )


def test_policy_and_whatif_commands_are_in_the_cli_docs_and_the_readme():
    cli = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for cmd in ("policy apply", "policy export", "whatif"):
        assert f"## `mujun {cmd}" in cli
        assert f"`mujun {cmd}" in readme
    whatif = (ROOT / "docs" / "whatif.md").read_text(encoding="utf-8")
    for key in ("weights.IND", "benchmark=", "cap=", "bands=", "policy.LEVER.CLASS", "rules.PATH"):
        assert key in whatif
