"""Writing and reading robustness analyses and paths (tables of store migration 9)."""

from __future__ import annotations

import getpass
import json
from dataclasses import asdict
from typing import Any

import numpy as np
import pyarrow as pa

from mujun.paths import (
    LEVER_BY_CODE,
    LEVER_NAMES_EN,
    NOTE_EN,
    NOTE_ZH,
    PathsResult,
    lever_sentence,
    path_summary,
)
from mujun.paths.text import FIRM_STATUS_EN, FIRM_STATUS_ZH
from mujun.robustness.analysis import RobustnessResult
from mujun.robustness.runscore import RunScoring, class_codes
from mujun.store import Store


def next_analysis_id(store: Store, run_id: str) -> str:
    """Sequential analysis id per run: E2023-0001/R1, /R2, …"""
    n = store.scalar("SELECT count(*) FROM robustness_analyses WHERE run_id = ?", [run_id])
    return f"{run_id}/R{int(n) + 1}"


def _num(a) -> pa.Array:
    return pa.array(np.asarray(a, dtype=np.float64), pa.float64(), from_pandas=True)


def write_analysis(
    store: Store, rs: RunScoring, result: RobustnessResult, paths: PathsResult | None
) -> str:
    """Store one analysis (and the run's paths) in one transaction; return its id."""
    with store.transaction():
        aid = next_analysis_id(store, rs.run_id)
        summary = summarise(result, paths)
        store.execute(
            "INSERT INTO robustness_analyses VALUES (?, ?, now()::TIMESTAMP, ?, ?, ?)",
            [
                aid,
                rs.run_id,
                getpass.getuser(),
                json.dumps(asdict(result.settings), ensure_ascii=False),
                json.dumps(summary, ensure_ascii=False),
            ],
        )
        for gf in result.firms:
            g = gf.group
            keep = np.flatnonzero(
                (gf.published >= 0) | (gf.probs[:, :-1].sum(axis=1) > 0)
            )  # firms classed in the run or in some draw
            labels = [*gf.classes, ""]
            probs = [
                json.dumps(
                    {labels[k]: round(float(p), 4) for k, p in enumerate(row) if p > 0},
                    ensure_ascii=False,
                )
                for row in gf.probs[keep]
            ]
            cols = g.scored.cols
            store.insert_arrow(
                "robustness_firms",
                pa.table(
                    {
                        "analysis_id": pa.array([aid] * keep.size, pa.string()),
                        "run_id": pa.array([rs.run_id] * keep.size, pa.string()),
                        "uscc": pa.array(rs.firms["uscc"][g.scored.idx][keep].astype(str)),
                        "class": pa.array(class_codes(g.rules, gf.published[keep]), pa.string()),
                        "p_class": _num(gf.p_published[keep]),
                        "probs": pa.array(probs, pa.string()),
                        "rank": pa.array(cols["rank"][keep].astype(np.int32)),
                        "rank_p05": _num(gf.rank_q[keep, 0]),
                        "rank_p50": _num(gf.rank_q[keep, 1]),
                        "rank_p95": _num(gf.rank_q[keep, 2]),
                        "cohort_size": pa.array(cols["cohort_size"][keep].astype(np.int32)),
                        "fragile": pa.array(gf.fragile[keep]),
                    }
                ),
            )
        if result.sensitivity:
            store.insert_arrow(
                "robustness_sensitivity",
                pa.Table.from_pylist(
                    [{"analysis_id": aid, **asdict(r)} for r in result.sensitivity]
                ),
            )
        if result.leave_out:
            store.insert_arrow(
                "robustness_leave_out",
                pa.Table.from_pylist([{"analysis_id": aid, **asdict(r)} for r in result.leave_out]),
            )
        if paths is not None:
            _write_paths(store, aid, rs, paths)
    return aid


def _write_paths(store: Store, aid: str, rs: RunScoring, paths: PathsResult) -> None:
    for fp, fs in paths.groups:
        g = fp.group
        uscc = rs.firms["uscc"][g.scored.idx].astype(str)
        codes = class_codes(g.rules, g.scored.cols["klass"])
        n = fp.rows.size
        lv = [LEVER_BY_CODE[c] for c in fp.lever]
        if n:
            store.insert_arrow(
                "firm_paths",
                pa.table(
                    {
                        "analysis_id": pa.array([aid] * n, pa.string()),
                        "run_id": pa.array([rs.run_id] * n, pa.string()),
                        "uscc": pa.array(uscc[fp.rows]),
                        "class": pa.array(codes[fp.rows], pa.string()),
                        "target_class": pa.array(class_codes(g.rules, fp.target), pa.string()),
                        "lever": pa.array(fp.lever.astype(str)),
                        "lever_name": pa.array([x.name for x in lv], pa.string()),
                        "lever_name_en": pa.array(
                            [LEVER_NAMES_EN[x.code] for x in lv], pa.string()
                        ),
                        "unit": pa.array([x.unit for x in lv], pa.string()),
                        "status": pa.array(fp.status.astype(str)),
                        "reason": pa.array(fp.reason.astype(str)),
                        "current_value": _num(fp.current),
                        "required_value": _num(fp.required),
                        "shown_value": _num(fp.shown),
                        "indicator": pa.array(fp.indicator.astype(str)),
                        "indicator_now": _num(fp.indicator_now),
                        "indicator_new": _num(fp.indicator_new),
                    }
                ),
            )
        m = fs.rows.size
        if m:  # one row per firm without paths, saying why (lever '')
            store.insert_arrow(
                "firm_paths",
                pa.table(
                    {
                        "analysis_id": pa.array([aid] * m, pa.string()),
                        "run_id": pa.array([rs.run_id] * m, pa.string()),
                        "uscc": pa.array(uscc[fs.rows]),
                        "class": pa.array(codes[fs.rows], pa.string()),
                        "lever": pa.array([""] * m, pa.string()),
                        "status": pa.array(fs.status.astype(str)),
                    }
                ),
            )


def summarise(result: RobustnessResult, paths: PathsResult | None) -> dict[str, Any]:
    """Counts for printing and for the analyses table."""
    classified = sum(int((gf.published >= 0).sum()) for gf in result.firms)
    fragile = sum(int(gf.fragile.sum()) for gf in result.firms)
    p = np.concatenate([gf.p_published[gf.published >= 0] for gf in result.firms] or [[]])
    out: dict[str, Any] = {
        "classified": classified,
        "fragile": fragile,
        "fragile_share": fragile / classified if classified else None,
        "mean_p_class": float(p.mean()) if p.size else None,
        "variants": result.variants,
        "timings": {k: round(v, 3) for k, v in result.timings.items()},
        "evaluations": result.evaluations,
        "fragile_by_class": {},
    }
    for gf in result.firms:
        for k, code in enumerate(gf.classes):
            n = int((gf.fragile & (gf.published == k)).sum())
            out["fragile_by_class"][code] = out["fragile_by_class"].get(code, 0) + n
    if paths is not None:
        reach: dict[str, int] = {}
        for fp, _ in paths.groups:
            for lever in np.unique(fp.lever):
                m = fp.lever == lever
                reach[str(lever)] = reach.get(str(lever), 0) + int(
                    (fp.status[m] == "reachable").sum()
                )
        out["paths_reachable"] = reach
        out["paths_firms"] = int(sum(np.unique(fp.rows).size for fp, _ in paths.groups))
    return out


# ----------------------------------------------------------------------------- reading


def latest_analysis(store: Store, run_id: str) -> dict[str, Any] | None:
    """The newest analysis of a run (settings and summary parsed), or None."""
    if not store.table_exists("robustness_analyses"):
        return None
    rows = store.rows(
        "SELECT analysis_id, created_at, created_by, settings::VARCHAR, summary::VARCHAR "
        "FROM robustness_analyses WHERE run_id = ? ORDER BY created_at DESC, analysis_id DESC "
        "LIMIT 1",
        [run_id],
    )
    if not rows:
        return None
    aid, at, by, settings, summary = rows[0]
    return {
        "analysis_id": aid,
        "created_at": at,
        "created_by": by,
        "settings": json.loads(settings),
        "summary": json.loads(summary) if summary else {},
    }


# The columns of a firm's row in ``robustness_firms`` and ``firm_paths`` as the readers use them
# (``uscc`` first: the web's read model indexes the rows by it).
FIRM_ROBUSTNESS_SQL = (
    'SELECT uscc, "class", p_class, probs::VARCHAR AS probs, rank, rank_p05, rank_p50, '
    "rank_p95, cohort_size, fragile FROM robustness_firms WHERE analysis_id = ?"
)
FIRM_PATHS_SQL = "SELECT * EXCLUDE (analysis_id, run_id) FROM firm_paths WHERE analysis_id = ?"


def firm_robustness(store: Store, run_id: str, uscc: str) -> dict[str, Any] | None:
    """A firm's class probabilities and rank interval in the run's newest analysis."""
    a = latest_analysis(store, run_id)
    if a is None:
        return None
    rows = store.arrow(f"{FIRM_ROBUSTNESS_SQL} AND uscc = ?", [a["analysis_id"], uscc])
    return robustness_of_firm(a, rows.to_pylist())


def robustness_of_firm(a: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """:func:`firm_robustness` from the analysis and the firm's rows (at most one) of
    :data:`FIRM_ROBUSTNESS_SQL`."""
    if not rows:
        return {"analysis": a, "firm": None}
    firm = {k: v for k, v in rows[0].items() if k != "uscc"}
    firm["probs"] = json.loads(firm["probs"]) if firm["probs"] else {}
    firm["threshold"] = a["settings"].get("threshold")
    return {"analysis": a, "firm": firm}


def firm_paths(store: Store, run_id: str, uscc: str, lang: str = "zh") -> dict[str, Any] | None:
    """A firm's path to the next class, per lever and in plain words (None if not computed).

    ``{"status", "target_class", "summary", "note", "levers": [{…, "text"}]}``; status is
    ``paths`` or why there are none (best-class, not-classified, landlord-class, …)."""
    a = latest_analysis(store, run_id)
    if a is None:
        return None
    rows = store.arrow(f"{FIRM_PATHS_SQL} AND uscc = ? ORDER BY lever", [a["analysis_id"], uscc])
    return paths_of_firm(a, rows.to_pylist(), lang)


def paths_of_firm(
    a: dict[str, Any], rows: list[dict[str, Any]], lang: str = "zh"
) -> dict[str, Any] | None:
    """:func:`firm_paths` from the analysis and the firm's rows of :data:`FIRM_PATHS_SQL`."""
    if not rows:
        return None
    rows = [{k: v for k, v in r.items() if k != "uscc"} for r in rows]
    note = NOTE_EN if lang == "en" else NOTE_ZH
    if len(rows) == 1 and rows[0]["lever"] == "":
        st = rows[0]["status"]
        text = (FIRM_STATUS_EN if lang == "en" else FIRM_STATUS_ZH).get(st, st)
        return {"status": st, "target_class": None, "summary": text, "note": note, "levers": []}
    order = {c: i for i, c in enumerate(LEVER_BY_CODE)}
    rows.sort(key=lambda r: order.get(r["lever"], 99))
    for r in rows:
        r["text"] = lever_sentence(r, lang)
    return {
        "status": "paths",
        "target_class": rows[0]["target_class"],
        "summary": path_summary(rows, lang),
        "note": note,
        "levers": rows,
        "analysis_id": a["analysis_id"],
    }


def path_text(p: dict[str, Any] | None) -> str | None:
    """A path of :func:`firm_paths` in one paragraph (summary and note)."""
    if p is None:
        return None
    return f"{p['summary']} {p['note']}".strip()


def firm_path_text(store: Store, run_id: str, uscc: str, lang: str = "zh") -> str | None:
    """The firm's path in one paragraph (summary and note), for pages such as the enterprise
    home page; None when no analysis has been run for the run."""
    return path_text(firm_paths(store, run_id, uscc, lang))
