import typer
from typer.testing import CliRunner

from mujun.cli_uscc import uscc_command

runner = CliRunner()


def make_app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Test app."""

    app.command("uscc")(uscc_command)
    return app


def test_a_valid_code_prints_valid_and_exits_zero():
    result = runner.invoke(make_app(), ["uscc", "91330000142944445H"])
    assert result.exit_code == 0
    assert result.output.splitlines() == ["91330000142944445H  valid"]


def test_an_invalid_code_prints_the_reason_and_exits_one():
    result = runner.invoke(make_app(), ["uscc", "91330000142944445H", "9133000014294444XH"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == "91330000142944445H  valid"
    assert lines[1].startswith("9133000014294444XH  invalid: organisation code check failed")
    assert "expected '5'" in lines[1]
    assert len(lines) == 2


def test_a_code_that_only_needs_cleaning_gets_a_hint():
    result = runner.invoke(make_app(), ["uscc", "91330000142944445h"])
    assert result.exit_code == 1
    assert "invalid: illegal character 'h' at position 18" in result.output
    assert "91330000142944445H is valid" in result.output


def test_the_help_is_chinese_first_then_english():
    result = runner.invoke(make_app(), ["uscc", "--help"])
    assert result.exit_code == 0
    assert "校验统一社会信用代码" in result.output
    assert result.output.index("校验统一社会信用代码") < result.output.index("Check unified")


def test_no_code_is_a_usage_error():
    result = runner.invoke(make_app(), ["uscc"])
    assert result.exit_code == 2
