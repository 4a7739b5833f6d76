"""`mujun runs` through the real command line: last year's results recorded as a past
publication and made final, this year's published with its window open, refusals in one line."""

from __future__ import annotations

import getpass
import re
import shutil

from mujun.auth import list_audit
from mujun.evaluation import evaluate
from mujun.rules import load_rules
from mujun.store import open_store

from .conftest import ROOT, run_mujun

BASIS = "浙江省人民政府关于深化“亩均论英雄”改革的指导意见|浙政发〔2018〕5号"


def test_runs_are_published_made_final_and_listed_from_the_command_line(small_province, tmp_path):
    _, db = small_province
    copy = tmp_path / "r.duckdb"
    shutil.copy(db, copy)
    rules = load_rules(ROOT / "rules" / "zhejiang-default.yaml")
    with open_store(copy) as store:
        runs = {year: evaluate(store, year, rules=rules).run_id for year in (2022, 2023)}

    # Nothing is published without its basis documents; a malformed one says how to write it.
    res = run_mujun("runs", "publish", "--year", "2023", "--contact", "0571-1", "--db", str(copy))
    assert res.returncode == 2 and "--basis" in res.stderr
    res = run_mujun(
        "runs",
        "publish",
        runs[2023],
        "--basis",
        "no number",
        "--contact",
        "0571-1",
        "--db",
        str(copy),
    )
    assert res.returncode == 2 and "TITLE|DOCUMENT-NUMBER" in res.stderr

    # Last year's publication happened before the platform: recorded with its own dates.
    res = run_mujun(
        "runs",
        "publish",
        "--year",
        "2022",
        "--historical",
        "--start",
        "2023-06-05",
        "--end",
        "2023-06-11",
        "--basis",
        BASIS,
        "--contact",
        "0571-87051234",
        "--db",
        str(copy),
    )
    assert res.returncode == 0, res.stderr
    assert f"published {runs[2022]}" in res.stdout and "2023-06-05 – 2023-06-11" in res.stdout
    # Without --historical a window in the past is refused.
    res = run_mujun(
        "runs",
        "publish",
        runs[2023],
        "--start",
        "2023-06-05",
        "--basis",
        BASIS,
        "--contact",
        "0571-87051234",
        "--db",
        str(copy),
    )
    assert res.returncode == 2 and "早于今天" in res.stderr

    res = run_mujun("runs", "settle", "--db", str(copy))
    assert res.returncode == 0 and f"final now: {runs[2022]}" in res.stdout
    res = run_mujun(
        "runs",
        "publish",
        "--year",
        "2023",
        "--basis",
        BASIS,
        "--contact",
        "0571-87051234",
        "--db",
        str(copy),
    )
    assert res.returncode == 0, res.stderr
    res = run_mujun("runs", "finalise", runs[2023], "--db", str(copy))
    assert res.returncode == 2 and "公示期至" in res.stderr  # the window is open

    listing = run_mujun("runs", "list", "--db", str(copy))
    assert listing.returncode == 0, listing.stderr
    lines = {
        m.group(0): line
        for line in listing.stdout.splitlines()
        if (m := re.search(r"E20\d\d-\d{4}", line))
    }
    assert "final" in lines[runs[2022]] and "2023-06-05 – 2023-06-11" in lines[runs[2022]]
    assert "published" in lines[runs[2023]] and "open" in lines[runs[2023]]

    with open_store(copy, read_only=True) as store:
        pubs = store.rows(
            "SELECT run_id, title, contact_phone, published_by, finalised_by FROM publications "
            "ORDER BY publication_id"
        )
        annexes = store.scalar("SELECT count(*) FROM publications WHERE annexes IS NOT NULL")
        actions = [
            (e.action, e.actor) for e in reversed(list_audit(store, action="run.", limit=10)[1])
        ]
    actor = f"cli:{getpass.getuser()}"
    assert pubs == [
        (
            runs[2022],
            "浙江省2022年度工业企业亩均效益综合评价结果公示",
            "0571-87051234",
            actor,
            actor,
        ),
        (
            runs[2023],
            "浙江省2023年度工业企业亩均效益综合评价结果公示",
            "0571-87051234",
            actor,
            None,
        ),
    ]
    assert annexes == 2
    assert actions == [("run.publish", actor), ("run.finalise", actor), ("run.publish", actor)]
