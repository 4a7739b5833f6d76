"""Yearly event lists: recognitions (high-tech, R&D centre), accidents, penalties, exemptions.

Shares per year: high-tech ~12 % of above-size firms (persistent, the more efficient firms),
provincial R&D centre ~2 % of above-size firms, safety accidents ~0.3 % of firms,
environmental penalties ~1 % (more often firms that report emissions), unmet energy task
~0.2 % of firms (above-size), approved exemptions ~0.5 % (utilities, new firms, new land).
Event names are the ``choices`` of rules/sources/events.yaml.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from mujun.demo import regions
from mujun.demo.assets import zfill

if TYPE_CHECKING:
    from mujun.demo.population import Population

EVENT_LABELS = {
    "high-tech": "高新技术企业",
    "rd-centre": "省级企业研发中心",
    "safety-accident": "安全生产事故",
    "safety-accident-major": "较大安全生产事故",
    "env-penalty": "环境行政处罚",
    "env-accident": "重大环境污染事故",
    "energy-task-unmet": "未完成节能任务",
    "exemption-approved": "豁免申请获批",
}
ENV_REASONS = ("超标排放水污染物", "未按规定运行污染防治设施", "未批先建", "超标排放大气污染物")


def _pick(rng: np.random.Generator, pool: np.ndarray, share_of: int, rate: float) -> np.ndarray:
    m = min(len(pool), round(rate * share_of))
    return np.sort(rng.choice(pool, m, replace=False)) if m else np.zeros(0, dtype=np.int64)


def build_events(
    rng: np.random.Generator, pop: Population, eff: np.ndarray
) -> dict[int, dict[str, np.ndarray]]:
    """Event rows per year: arrays firm, key, event (Chinese), doc_no, detail."""
    n = len(pop.uscc)
    shorts = np.array([c.short for c in regions.load_counties()], dtype=object)[pop.county]
    ht_noise = rng.standard_normal(n)
    rd_noise = rng.standard_normal(n)
    ht_age = rng.integers(0, 3, n)
    p = pop.parcels
    out = {}
    for k, year in enumerate(pop.years):
        pres = np.flatnonzero(pop.present[k])
        above = np.flatnonzero(pop.present[k] & pop.above[k])
        n_pres = len(pres)
        rows: list[tuple[np.ndarray, str, np.ndarray, np.ndarray]] = []

        h = eff[k, above] + 0.7 * ht_noise[above]
        ht = above[h >= np.quantile(h, 0.88)] if len(above) else above
        ry = year - ht_age[ht]
        rows.append(
            (ht, "high-tech", _doc("国科火字〔", ry, ht, "〕", "号"), _s(ry, "年认定，有效期三年"))
        )
        h2 = eff[k, above] + 0.7 * rd_noise[above]
        rc = above[h2 >= np.quantile(h2, 0.98)] if len(above) else above
        rows.append(
            (
                rc,
                "rd-centre",
                _doc("浙经信技术〔", year, rc, "〕", "号"),
                _fill(rc, "省级企业研究开发中心"),
            )
        )

        acc = _pick(rng, pres, n_pres, 0.003)
        major = rng.random(len(acc)) < 0.12
        for sel, key, text in ((~major, "safety-accident", "一般生产安全事故"),
                               (major, "safety-accident-major", "较大生产安全事故")):  # fmt: skip
            f = acc[sel]
            rows.append(
                (f, key, _doc(shorts[f] + "应急罚〔", year, f, "〕", "号", 3), _fill(f, text))
            )

        weight = np.where(pop.in_env[pres], 3.0, 1.0)
        m = min(n_pres, round(0.01 * n_pres))
        pen = np.sort(rng.choice(pres, m, replace=False, p=weight / weight.sum()))
        grave = rng.random(len(pen)) < 0.04
        f = pen[~grave]
        reasons = np.array(ENV_REASONS, dtype=object)[rng.integers(0, len(ENV_REASONS), len(f))]
        rows.append((f, "env-penalty", _doc(shorts[f] + "环罚〔", year, f, "〕", "号", 3), reasons))
        f = pen[grave]
        rows.append(
            (
                f,
                "env-accident",
                _doc(shorts[f] + "环罚〔", year, f, "〕", "号", 3),
                _fill(f, "突发环境事件"),
            )
        )

        un = _pick(rng, above, n_pres, 0.002)
        rows.append(
            (
                un,
                "energy-task-unmet",
                _doc(shorts[un] + "发改能源〔", year, un, "〕", "号"),
                _fill(un, "未完成年度节能目标责任考核"),
            )
        )

        new_firm = pop.established >= np.datetime64(f"{year - 1}-01-01")
        recent = (p.supply >= np.datetime64(f"{year - 2}-01-01")) & (
            p.supply <= np.datetime64(f"{year}-12-31")
        )
        new_land = np.bincount(p.firm[recent & ~p.leased], minlength=n) > 0
        reason = np.where(
            pop.utility,
            "公用事业",
            np.where(
                new_firm,
                "新办企业（成立未满2年）",
                np.where(new_land, "新供地未满3年", "政策性搬迁"),
            ),
        ).astype(object)
        cand = pres[(pop.utility | new_firm | new_land)[pres]]
        m = round(0.005 * n_pres)
        ex = (
            np.sort(rng.choice(cand, min(m, len(cand)), replace=False))
            if m and len(cand)
            else cand[:0]
        )
        if len(ex) < m:
            rest = np.setdiff1d(pres, ex)
            ex = np.sort(
                np.concatenate([ex, rng.choice(rest, min(m - len(ex), len(rest)), replace=False)])
            )
        rows.append(
            (
                ex,
                "exemption-approved",
                _doc(shorts[ex] + "经信〔", year, ex, "〕", "号"),
                reason[ex],
            )
        )

        firm = np.concatenate([r[0] for r in rows]).astype(np.int64)
        key = np.concatenate([np.full(len(r[0]), r[1], dtype=object) for r in rows])
        out[year] = {
            "firm": firm,
            "key": np.array([x.replace("-major", "") for x in key.tolist()], dtype=object),
            "event": np.array([EVENT_LABELS[x] for x in key.tolist()], dtype=object),
            "doc_no": np.concatenate([r[2] for r in rows]),
            "detail": np.concatenate([r[3] for r in rows]),
        }
    return out


def _doc(prefix, year, firms: np.ndarray, middle: str, suffix: str, width: int = 0) -> np.ndarray:
    """Document numbers such as 温岭应急罚〔2023〕015号, unique within the list."""
    seq = np.arange(1, len(firms) + 1)
    nums = zfill(seq, width) if width else seq.astype(str).astype(object)
    years = np.asarray(year).astype(str).astype(object) if np.ndim(year) else str(year)
    return prefix + years + middle + nums + suffix


def _fill(firms: np.ndarray, text: str) -> np.ndarray:
    return np.full(len(firms), text, dtype=object)


def _s(values: np.ndarray, suffix: str) -> np.ndarray:
    return values.astype(str).astype(object) + suffix
