"""Low-efficiency tracking on hand-made firms (tests/loweff_world.py): identification with
literal expected results, cases followed across years, the status workflow with its refusals,
the audit, the summary, the rule-set schema and the command line."""

from __future__ import annotations

import io
import shutil
from datetime import date, datetime

import pytest
import yaml
from python_calamine import CalamineWorkbook
from typer.testing import CliRunner

from mujun.auth.audit import Actor, verify_audit_chain
from mujun.cli import app
from mujun.errors import ConfigError, InputError
from mujun.loweff import Transition, change_status, get_case, identify, load_loweff_rules
from mujun.loweff.cases import EntryQuery, list_entries, summarise, visible_list_ids
from mujun.loweff.export import list_workbook
from mujun.loweff.rules import parse_loweff_rules
from mujun.store import open_store
from mujun.workflow import WorkflowError

from .conftest import ROOT
from .loweff_world import USCC, build_world

HUZHOU = load_loweff_rules(ROOT / "rules" / "low-efficiency" / "huzhou-three-low.yaml")
TAX1 = load_loweff_rules(ROOT / "rules" / "low-efficiency" / "tax-under-1.yaml")
COMBINED = load_loweff_rules(ROOT / "rules" / "low-efficiency" / "d-and-energy.yaml")
ACTOR = Actor("analyst", "county_analyst")
NOW = datetime(2025, 6, 1, 2, 0)
NAME = {v: k for k, v in USCC.items()}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The hand-made store (built once) and its run ids."""
    return build_world(tmp_path_factory.mktemp("loweff"))


@pytest.fixture
def store(world, tmp_path):
    """A fresh copy of the hand-made store for one test."""
    db = tmp_path / "copy.duckdb"
    shutil.copy(world[0], db)
    s = open_store(db)
    yield s
    s.close()


def entries(store, year: int, listed: bool | None = True) -> dict[str, dict]:
    """The year's entries by firm label (A1, B2 …)."""
    ids = visible_list_ids(store, lambda status, region: True)
    _, rows = list_entries(store, EntryQuery(year=year, listed=listed), "TRUE", [], ids)
    return {NAME[r["uscc"]]: r for r in rows}


def test_huzhou_three_low_lists_the_hand_worked_firms_with_the_rule_that_hit(store, world):
    rep = identify(store, 2022, HUZHOU, actor=ACTOR, now=NOW)
    assert (rep.run_id, rep.region) == (world[1][2022], "330500")
    # Huzhou firms the run evaluated: A1 A2 A3 B1 B2 B3 (B4 has under 3 mu, U1 is a utility).
    assert rep.screened == 6
    got = entries(store, 2022)
    assert {k: v["hits"] for k, v in got.items()} == {
        "A1": "above_tax_under_6",  # 50 / 10 = 5.0 < 6
        "A3": "above_tax_under_6",  # 8 / 10 = 0.8 < 6
        "B1": "below_size_10_mu",  # 12 mu, still below size; 60 / 12 = 5.0 ≥ 3
        "B2": "below_tax_under_3",  # 10 / 5 = 2.0 < 3
    }
    assert got["A1"]["figures"]["tax_mu"] == pytest.approx(5.0)
    assert got["A3"]["figures"]["tax_mu"] == pytest.approx(0.8)
    assert got["B2"]["figures"]["tax_mu"] == pytest.approx(2.0)
    assert got["B1"]["figures"]["land_mu"] == pytest.approx(12.0)
    assert got["B1"]["hit_names"] == "用地10亩及以上仍为规下企业"
    assert got["B2"]["county_code"] == "330503"
    assert rep.by_rule == {"above_tax_under_6": 2, "below_tax_under_3": 1, "below_size_10_mu": 1}
    assert {v["effective_status"] for v in got.values()} == {"identified"}


def test_the_huzhou_preset_agrees_with_the_evaluations_own_three_low_flag(store, world):
    """Two code paths: the evaluation flags 三低 from raw tax and land; the list screens the
    run's results. On Huzhou's evaluated firms they must agree."""
    identify(store, 2023, HUZHOU, actor=ACTOR, now=NOW)
    flagged = {
        NAME[u]
        for (u,) in store.rows(
            "SELECT uscc FROM results WHERE run_id = ? AND city_code = '330500' "
            "AND status = 'evaluated' AND flags LIKE '%three_low%'",
            [world[1][2023]],
        )
    }
    assert set(entries(store, 2023)) == flagged == {"A2", "A3", "B1"}


def test_tax_under_one_wan_per_mu_lists_firms_across_the_province(store):
    rep = identify(store, 2022, TAX1, actor=ACTOR, now=NOW)
    got = entries(store, 2022)
    # A3 (0.8) in Huzhou and H1 (0.5) in Hangzhou; B4 (0.5) and U1 (0.5) are not evaluated.
    assert set(got) == {"A3", "H1"}
    assert got["H1"]["figures"]["tax_mu"] == pytest.approx(0.5)
    assert got["H1"]["county_code"] == "330102"
    assert rep.region == "330000" and rep.screened == 7


def test_conditions_combine_within_a_rule_and_rules_combine_into_the_list(store):
    identify(store, 2022, COMBINED, actor=ACTOR, now=NOW)
    got = entries(store, 2022)
    hits = {k: set(v["hits"].split(",")) for k, v in got.items()}
    # Class D firms, and A2: energy 60 × 20 = 1,200 tce ÷ value added 800 = 1.5 > 1 with value
    # added per mu 40 < 50. The other above-size firms use 0.5 tce per 万元: no hit.
    assert hits["A2"] == {"energy_heavy_low_va"}
    assert got["A2"]["figures"]["energy_intensity"] == pytest.approx(1.5)
    assert got["A2"]["figures"]["va_mu"] == pytest.approx(40.0)
    d_firms = {
        NAME[u]
        for (u,) in store.rows(
            "SELECT uscc FROM results r JOIN runs USING (run_id) "
            "WHERE runs.year = 2022 AND class = 'D'"
        )
    }
    assert d_firms and all(hits[f] >= {"class_d"} for f in d_firms)
    assert set(got) == d_firms | {"A2"}
    # match: all — only firms every rule hits (none here: A2 is not class D).
    strict = COMBINED.model_copy(update={"match": "all"})
    identify(store, 2022, strict, actor=ACTOR, now=NOW)
    assert entries(store, 2022) == {}


def test_a_firm_still_low_next_year_keeps_its_case_and_one_that_left_shows_upgraded_by_data(
    store,
):
    identify(store, 2022, HUZHOU, actor=ACTOR, now=NOW)
    first = {k: v["case_id"] for k, v in entries(store, 2022).items()}
    rep = identify(store, 2023, HUZHOU, actor=ACTOR, now=NOW)
    listed = entries(store, 2023)
    left = entries(store, 2023, listed=False)
    assert set(listed) == {"A2", "A3", "B1"}  # A2: 100 / 20 = 5.0 < 6 in 2023
    assert set(left) == {"A1", "B2"}  # A1: 8.0; B2: 4.0
    assert (rep.new_cases, rep.continuing, rep.left_list) == (1, 2, 2)
    assert listed["A3"]["case_id"] == first["A3"] and listed["B1"]["case_id"] == first["B1"]
    assert listed["A2"]["case_id"] not in first.values()
    assert left["A1"]["figures"]["tax_mu"] == pytest.approx(8.0)
    assert {k: v["effective_status"] for k, v in left.items()} == {
        "A1": "upgraded_by_data",
        "B2": "upgraded_by_data",
    }
    a3 = get_case(store, first["A3"])
    assert [(e["year"], e["listed"]) for e in a3["entries"]] == [(2022, True), (2023, True)]
    assert (a3["first_year"], a3["last_listed_year"], a3["effective_status"]) == (
        2022,
        2023,
        "identified",
    )
    # The 2022 list shows each case's current status.
    assert entries(store, 2022)["A1"]["effective_status"] == "upgraded_by_data"
    # Identifying 2023 again replaces its entries and keeps the case numbers.
    again = identify(store, 2023, HUZHOU, actor=ACTOR, now=NOW)
    assert (again.replaced, again.new_cases) == (5, 0)
    assert {k: v["case_id"] for k, v in entries(store, 2023).items()} == {
        k: v["case_id"] for k, v in listed.items()
    }
    assert store.scalar("SELECT count(*) FROM loweff_cases") == 5


def test_status_moves_one_way_with_dates_notes_land_and_clear_refusals(store):
    identify(store, 2022, HUZHOU, actor=ACTOR, now=NOW)
    case = entries(store, 2022)["B1"]["case_id"]

    def move(to, on, note="整治方案", land=None):
        return change_status(store, case, Transition(to, on, note, land), actor=ACTOR, now=NOW)

    with pytest.raises(WorkflowError) as exc:
        move("exited", date(2024, 3, 1), land=12)
    assert exc.value.kind == "conflict"
    assert "案件" in exc.value.message and "只能改为「已定整治方案」" in exc.value.message
    assert "it can only become plan_agreed" in exc.value.message
    with pytest.raises(WorkflowError, match="a note is required"):
        move("plan_agreed", date(2024, 3, 1), note="  ")
    with pytest.raises(WorkflowError, match="in the future"):
        move("plan_agreed", date(2025, 6, 2))
    with pytest.raises(WorkflowError, match="land freed only for merged or exited"):
        move("plan_agreed", date(2024, 3, 1), land=3)
    after = move(
        "plan_agreed", date(2024, 3, 1), note="吴兴区经信局批复整治方案（吴经信〔2024〕5号）"
    )
    assert after["status"] == "plan_agreed" and after["status_date"] == date(2024, 3, 1)
    with pytest.raises(WorkflowError, match="needs the land freed"):
        move("exited", date(2024, 9, 1))
    with pytest.raises(WorkflowError, match=r"exceeds the firm's land 12\.00 mu"):
        move("exited", date(2024, 9, 1), land=12.5)
    with pytest.raises(WorkflowError, match="before the last change"):
        move("exited", date(2024, 2, 1), land=12)
    done = move("exited", date(2024, 9, 1), note="关停腾退，土地收回", land=12)
    assert (done["status"], done["land_freed_mu"], done["effective_status"]) == (
        "exited",
        12.0,
        "exited",
    )
    assert [(e["from_status"], e["to_status"], e["land_freed_mu"]) for e in done["events"]] == [
        ("identified", "plan_agreed", None),
        ("plan_agreed", "exited", 12.0),
    ]
    assert done["events"][1]["actor"] == "analyst"
    with pytest.raises(WorkflowError, match="is closed") as exc:
        move("upgraded", date(2024, 10, 1))
    assert "已办结" in exc.value.message
    audit = store.rows(
        "SELECT action, object, before::VARCHAR, after::VARCHAR FROM audit_log "
        "WHERE action = 'loweff.status' ORDER BY seq"
    )
    assert len(audit) == 2 and {a[1] for a in audit} == {f"loweff-case:{case}"}
    assert '"status":"plan_agreed"' in audit[1][2] and '"land_freed_mu":12' in audit[1][3]
    assert store.scalar("SELECT count(*) FROM audit_log WHERE action = 'loweff.identify'") == 1
    assert verify_audit_chain(store) == []


def test_a_closed_case_found_low_again_opens_a_new_case(store):
    for year in (2022, 2023):
        identify(store, year, HUZHOU, actor=ACTOR, now=NOW)
    old = entries(store, 2023)["A3"]["case_id"]
    for to, on in (("plan_agreed", date(2024, 2, 1)), ("upgraded", date(2024, 11, 1))):
        change_status(store, old, Transition(to, on, "技改提升"), actor=ACTOR, now=NOW)
    identify(store, 2024, HUZHOU, actor=ACTOR, now=NOW)
    now_2024 = entries(store, 2024)
    assert now_2024["A3"]["case_id"] != old
    assert now_2024["A3"]["effective_status"] == "identified"
    # B1 (never acted on) stays one case over the three years.
    b1 = get_case(store, now_2024["B1"]["case_id"])
    assert [e["year"] for e in b1["entries"]] == [2022, 2023, 2024]
    assert get_case(store, old)["status"] == "upgraded"


def test_summary_counts_cases_by_status_and_land_freed_per_year_and_area(store):
    identify(store, 2022, HUZHOU, actor=ACTOR, now=NOW)
    identify(store, 2023, HUZHOU, actor=ACTOR, now=NOW)
    b1 = entries(store, 2022)["B1"]["case_id"]
    change_status(
        store, b1, Transition("plan_agreed", date(2024, 1, 5), "方案"), actor=ACTOR, now=NOW
    )
    change_status(
        store, b1, Transition("exited", date(2024, 6, 5), "腾退", 11.5), actor=ACTOR, now=NOW
    )
    ids = visible_list_ids(store, lambda s, r: True)
    rows = summarise(store, "TRUE", [], ids, "330500", None)
    by = {(r["year"], r["area"]): r for r in rows}
    total22, total23 = by[(2022, None)], by[(2023, None)]
    assert (total22["cases"], total22["new_cases"]) == (4, 4)
    assert (total22["identified"], total22["upgraded_by_data"], total22["exited"]) == (1, 2, 1)
    assert total22["land_freed_mu"] == 11.5
    assert (total23["cases"], total23["new_cases"], total23["exited"]) == (3, 1, 1)
    assert by[(2022, "330502")]["cases"] == 3 and by[(2022, "330503")]["cases"] == 1
    assert by[(2022, "330503")]["area_name"] == "南浔区"


def test_the_export_writes_codes_as_text_with_the_figures(store):
    identify(store, 2022, HUZHOU, actor=ACTOR, now=NOW)
    identify(store, 2023, HUZHOU, actor=ACTOR, now=NOW)
    ids = visible_list_ids(store, lambda s, r: True)
    _, rows = list_entries(
        store, EntryQuery(year=2023, listed=None), "TRUE", [], ids, everything=True
    )
    book = CalamineWorkbook.from_filelike(io.BytesIO(list_workbook("低效企业2023", rows)))
    sheet = book.get_sheet_by_name("低效企业2023").to_python()
    head = sheet[0]
    assert head[:4] == ["案件编号", "年度", "统一社会信用代码", "企业名称"]
    assert "亩均税收（万元/亩）" in head and "认定依据" in head and "腾出土地（亩）" in head
    body = {r[2]: dict(zip(head, r, strict=True)) for r in sheet[1:]}
    assert set(body) == {USCC[k] for k in ("A1", "A2", "A3", "B1", "B2")}
    a2 = body[USCC["A2"]]
    assert isinstance(a2["统一社会信用代码"], str) and a2["区县代码"] == "330502"
    assert a2["亩均税收（万元/亩）"] == pytest.approx(5.0)
    assert a2["本年度"] == "在列" and a2["案件状态"] == "已认定"
    assert body[USCC["A1"]]["本年度"] == "已出列"
    assert body[USCC["A1"]]["案件状态"] == "数据达标出列"


def test_rule_sets_name_the_file_and_key_path_of_every_mistake(store, tmp_path):
    data = yaml.safe_load(
        (ROOT / "rules" / "low-efficiency" / "huzhou-three-low.yaml").read_text(encoding="utf-8")
    )
    data["rules"][1]["all"][0]["belwo"] = 3
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_loweff_rules(bad)
    assert str(bad) in exc.value.message and "rules.1.all.0.belwo" in exc.value.message
    with pytest.raises(ConfigError, match=r"rules\.0\.all\.0: .*exactly one of"):
        parse_loweff_rules(
            {
                **data,
                "rules": [
                    {
                        "code": "x",
                        "name": "x",
                        "all": [{"indicator": "tax_mu", "below": 1, "above": 0}],
                    }
                ],
            },
            "inline",
        )
    typo = parse_loweff_rules(
        {
            **data,
            "rules": [{"code": "x", "name": "x", "all": [{"indicator": "tax_per_mu", "below": 1}]}],
        },
        "typo.yaml",
    )
    with pytest.raises(ConfigError) as exc:
        identify(store, 2022, typo, actor=ACTOR, now=NOW, origin="typo.yaml")
    assert "typo.yaml" in exc.value.message
    assert "rules.0.all.0.indicator: unknown indicator 'tax_per_mu'" in exc.value.message
    assert "tax_mu" in (exc.value.hint or "")
    with pytest.raises(InputError, match="no evaluation run for 2019"):
        identify(store, 2019, HUZHOU, actor=ACTOR, now=NOW)
    hangzhou = HUZHOU.model_copy(update={"region": "330100"})
    assert identify(store, 2022, hangzhou, actor=ACTOR, now=NOW).region == "330100"


def run_mujun(*args: str):
    """The real command line, in process (a subprocess per command costs seconds on 2 cores)."""
    return CliRunner().invoke(app, list(args))


def test_the_command_line_identifies_lists_changes_status_and_exports(world, tmp_path):
    db = tmp_path / "cli.duckdb"
    shutil.copy(world[0], db)
    rules = str(ROOT / "rules" / "low-efficiency" / "huzhou-three-low.yaml")
    res = run_mujun("loweff", "identify", "--year", "2022", "--rules", rules, "--db", str(db))
    assert res.exit_code == 0, res.output
    assert "listed 4 (new cases 4, continuing 0)" in res.stdout
    res = run_mujun("loweff", "list", "--year", "2022", "--region", "330503", "--db", str(db))
    assert res.exit_code == 0, res.output
    assert USCC["B2"] in res.stdout and USCC["A1"] not in res.stdout
    case = next(
        line.split("│")[1].strip() for line in res.stdout.splitlines() if USCC["B2"] in line
    )
    res = run_mujun("loweff", "status", case, "--to", "upgraded", "--note", "x", "--db", str(db))
    assert res.exit_code == 2
    assert "只能改为「已定整治方案」" in res.stderr and "hint:" in res.stderr
    res = run_mujun(
        "loweff",
        "status",
        case,
        "--to",
        "plan_agreed",
        "--date",
        "2024-04-01",
        "--note",
        "整治方案",
        "--db",
        str(db),
    )
    assert res.exit_code == 0, res.output
    out = tmp_path / "list.xlsx"
    res = run_mujun("loweff", "export", "--year", "2022", "--out", str(out), "--db", str(db))
    assert res.exit_code == 0, res.output
    sheet = CalamineWorkbook.from_path(str(out)).get_sheet_by_name("低效企业2022").to_python()
    statuses = {r[2]: r[sheet[0].index("案件状态")] for r in sheet[1:]}
    assert statuses[USCC["B2"]] == "已定整治方案" and len(statuses) == 4
    res = run_mujun("loweff", "show", case, "--db", str(db))
    assert res.exit_code == 0 and "整治方案" in res.stdout and "cli:" in res.stdout


def test_every_preset_loads_and_every_rule_key_is_documented():
    from mujun.loweff.rules import Condition, LowEffRule, LowEffRuleSet, preset_paths

    assert {p.name for p in preset_paths(ROOT / "rules")} == {
        "tax-under-1.yaml",
        "huzhou-three-low.yaml",
        "d-and-energy.yaml",
    }
    for path in preset_paths(ROOT / "rules"):
        assert load_loweff_rules(path).reading
    doc = (ROOT / "docs" / "loweff.md").read_text(encoding="utf-8")
    keys = set(LowEffRuleSet.model_fields) | set(LowEffRule.model_fields)
    keys |= set(Condition.model_fields)
    forms = ("`{k}`", "`{k}:", "`{k}[", ".{k}`", "].{k}`")
    assert [k for k in sorted(keys) if not any(f.format(k=k) in doc for f in forms)] == []
