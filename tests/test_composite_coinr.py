"""COINr golden results: the ASEM example coin and the overview variant, from the repo copy."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from typer.testing import CliRunner

from mujun.composite import load_spec, load_unit_table, mean_rank_shift_when_removed, run_rules

from .conftest import ROOT

DATA = ROOT / "tests" / "data" / "coinr-asem"
RULES = ROOT / "rules" / "examples"


@pytest.fixture(scope="module")
def coin():
    return run_rules(RULES / "coinr-asem.yaml", DATA)


@pytest.fixture(scope="module")
def overview():
    return run_rules(RULES / "coinr-asem-overview.yaml", DATA)


def top(result, n):
    order = np.argsort(result.rank, kind="stable")
    return [(str(result.units[i]), round(float(result.total[i]), 2)) for i in order[:n]]


def test_the_data_copy_carries_its_mit_notice_and_origin():
    notice = (DATA / "LICENSE-NOTICE.md").read_text(encoding="utf-8")
    assert "Copyright (c) 2022 William Becker" in notice
    assert "b9682034635df03279896b6cb025cd3534f82cbb" in notice
    assert "1.1.14" in notice


def test_meta_file_gives_49_indicators_under_one_index():
    spec = load_spec(RULES / "coinr-asem.yaml", data_dir=DATA)
    assert len(spec.indicators) == 49
    assert len(spec.aggregates) == 11
    flights = next(i for i in spec.indicators if i.code == "Flights")
    assert (flights.denominator, flights.parent, flights.direction) == ("Population", "Physical", 1)
    assert next(i for i in spec.indicators if i.code == "Tariff").direction == -1


def test_example_coin_ranks_che_first_with_68_38(coin):
    che = list(coin.units).index("CHE")
    assert coin.rank[che] == 1
    assert round(float(coin.total[che]), 2) == 68.38


def test_example_coin_top_five_match(coin):
    assert top(coin, 5) == [
        ("CHE", 68.38),
        ("NLD", 64.82),
        ("DNK", 64.80),
        ("NOR", 64.47),
        ("BEL", 63.54),
    ]


def test_example_coin_every_aggregate_of_che(coin):
    che = list(coin.units).index("CHE")
    got = {code: round(float(v[che]), 2) for code, v in coin.aggregates.items()}
    assert got == {
        "Physical": 63.41,
        "ConEcFin": 32.87,
        "Political": 74.78,
        "Instit": 85.94,
        "P2P": 56.93,
        "Environ": 77.21,
        "Social": 87.85,
        "SusEcFin": 56.88,
        "Conn": 62.79,
        "Sust": 73.98,
        "Index": 68.38,
    }


def test_example_coin_winsorises_fifteen_indicators_and_logs_none(coin):
    treated = {k: v.points for k, v in coin.log.outliers.items() if v.status == "winsorised"}
    assert treated == {
        "Flights": 1,
        "Bord": 3,
        "Gas": 3,
        "Services": 4,
        "FDI": 2,
        "ForPort": 3,
        "CostImpEx": 1,
        "Tariff": 3,
        "StMob": 2,
        "CultServ": 3,
        "Forest": 2,
        "Poverty": 3,
        "NGOs": 3,
        "FemLab": 1,
        "PubDebt": 1,
    }
    assert [k for k, v in coin.log.outliers.items() if v.status == "log-transformed"] == []
    assert len(coin.log.outliers) == 49


def test_example_coin_imputes_the_63_missing_cells_plus_laos_energy_ratios(coin):
    assert sum(coin.log.imputed.values()) == 65
    assert coin.log.imputed["Elec"] == 1 and coin.log.imputed["Gas"] == 1
    assert len(coin.units) == 51
    assert len(coin.log.screened_out) == 0


def test_denominated_values_divide_by_the_meta_denominator(coin):
    table = load_unit_table(DATA)
    aut = list(table.units).index("AUT")
    j = coin.indicators.index("Flights")
    assert coin.denominated[list(coin.units).index("AUT"), j] == (
        table.columns["Flights"][aut] / table.columns["Population"][aut]
    )


def test_overview_variant_keeps_46_units_and_che_scores_68_33(overview):
    assert len(overview.units) == 46
    assert sorted(overview.log.screened_out.tolist()) == ["BGD", "BRN", "KHM", "LAO", "MMR"]
    assert top(overview, 5) == [
        ("CHE", 68.33),
        ("DNK", 64.47),
        ("NLD", 64.46),
        ("NOR", 64.23),
        ("BEL", 63.11),
    ]
    # Missing values flow through: nothing was imputed, some normalised cells stay missing.
    assert overview.log.imputed == {}
    assert np.isnan(overview.normalised).any()


def test_removing_each_pillar_shifts_ranks_by_the_published_check(coin):
    shifts = mean_rank_shift_when_removed(coin, 2)
    assert {k: round(v, 2) for k, v in shifts.items()} == {
        "Physical": 1.53,
        "ConEcFin": 2.63,
        "Political": 2.90,
        "Instit": 1.18,
        "P2P": 1.69,
        "Environ": 3.10,
        "Social": 3.96,
        "SusEcFin": 2.63,
    }


def test_composite_command_writes_scores_by_rank_with_two_decimals(tmp_path):
    import typer

    from mujun.composite.cli import composite_command

    app = typer.Typer()
    app.command("composite")(composite_command)
    app.callback()(lambda: None)
    out = tmp_path / "asem.csv"
    res = CliRunner().invoke(
        app, ["composite", str(RULES / "coinr-asem.yaml"), str(DATA), "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert "Bord" in res.output and "winsorised" in res.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == 51
    assert rows[0]["uCode"] == "CHE" and rows[0]["Index"] == "68.38" and rows[0]["rank"] == "1"
    assert list(rows[0])[-2:] == ["Index", "rank"]
    help_text = CliRunner().invoke(app, ["composite", "--help"]).output
    assert "运行综合指数规则" in help_text
