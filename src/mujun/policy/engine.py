"""The policy engine: what each lever of a policy set means for each firm, as arrays.

Pure functions over numpy arrays (no store, no Python loop over firms), so the ledger writer, the
what-if simulation and the robustness analysis share them:

- :func:`consecutive_years` — years in a row a firm has been in its current class;
- :func:`compute_amounts` — per lever and firm: base quantity, rate, amount (and 万元);
- :func:`compute_ledger` — the same as a long Arrow table, one row per firm and lever applied,
  with the rule in words;
- :func:`fiscal_totals` — per lever: firms concerned and the total in 万元 (or the quota cut).

Sign convention: ``amount_wan`` is seen from the firm: positive = it pays more (surcharges),
negative = it saves (tax relief). Quota cuts are physical (吨标煤, 吨) and have no 万元 amount.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mujun.policy.spec import (
    ElectricitySurcharge,
    LandUseTaxRelief,
    Measure,
    PolicySet,
    QuotaCut,
    WaterSurcharge,
)

M2_PER_MU = 10000.0 / 15.0
YUAN_PER_WAN = 10000.0

# Per-firm quantities the levers read (canonical units); NaN = no data.
QUANTITIES: dict[str, str] = {
    "own_land_m2": "自有土地使用权面积（平方米）: the firm holds the land-use right",
    "leased_land_m2": "租赁土地面积（平方米）: only to explain why a tenant gets no relief",
    "electricity_kwh": "用电量（千瓦时）from the power file",
    "water_m3": "年用水量（立方米）from the water file",
    "energy_tce": "综合能耗（吨标煤）from statistics",
    "emissions_t": "主要污染物排放量（吨）: COD + 氨氮 + SO₂ + NOx from environment",
}

LEDGER_SCHEMA = pa.schema(
    [
        ("row", pa.int64()),
        ("uscc", pa.string()),
        ("class", pa.string()),
        ("consecutive_years", pa.int32()),
        ("lever", pa.string()),
        ("lever_name", pa.string()),
        ("kind", pa.string()),
        ("base_quantity", pa.float64()),
        ("base_unit", pa.string()),
        ("rate", pa.float64()),
        ("rate_unit", pa.string()),
        ("amount", pa.float64()),
        ("amount_unit", pa.string()),
        ("amount_wan", pa.float64()),
        ("rule", pa.string()),
    ]
)


@dataclass
class LeverAmounts:
    """One lever over all firms (arrays aligned with the input; ``applies`` marks ledger rows)."""

    code: str
    name: str
    kind: str
    applies: np.ndarray  # bool: the firm's class is in the lever's table with a non-zero rate
    base: np.ndarray  # base quantity (NaN = missing)
    base_unit: str
    rate: np.ndarray  # rate applied (NaN where it does not apply or no local rate)
    rate_unit: str
    amount: np.ndarray  # in amount_unit (NaN where not computable)
    amount_unit: str
    amount_wan: np.ndarray  # 万元, signed from the firm's side (NaN for quota cuts)
    rule: np.ndarray  # object: the rule applied, in words ("" where it does not apply)


def consecutive_years(classes: np.ndarray, previous: Sequence[np.ndarray]) -> np.ndarray:
    """Years in a row each firm has been in its current class: 1 + the number of immediately
    preceding years (``previous[0]`` = last year, ``previous[1]`` = the year before, …, each
    aligned with ``classes``, "" where unknown) with the same class. 0 for unclassed firms."""
    classes = np.asarray(classes, dtype=object)
    classed = classes != ""
    out = classed.astype(np.int32)
    still = classed.copy()
    for prev in previous:
        still &= np.asarray(prev, dtype=object) == classes
        out += still
    return out


def _by_class(
    classes: np.ndarray, streak: np.ndarray, table: Mapping[str, Sequence[float]]
) -> np.ndarray:
    """The class's value for each firm, the entry for its consecutive year (the last repeats)."""
    out = np.full(classes.size, np.nan)
    for code, values in table.items():
        m = classes == code
        if not m.any():
            continue
        seq = np.asarray(values, dtype=float)
        out[m] = seq[np.clip(streak[m] - 1, 0, seq.size - 1)]
    return out


def factorize_counties(counties: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct county codes and each firm's position among them: pass it as ``counties`` to
    :func:`compute_amounts` when the same firms are computed many times (simulations)."""
    return np.unique(np.asarray(counties).astype(str), return_inverse=True)


def _local(counties: tuple[np.ndarray, np.ndarray], table: Mapping[str, float]) -> np.ndarray:
    """A per-county value: the county's, else its city's, else ``default`` (NaN if none)."""
    uniq, inv = counties
    vals = np.array(
        [
            table.get(c, table.get(c[:4] + "00", table.get("default", np.nan)))
            if c
            else table.get("default", np.nan)
            for c in uniq
        ],
        dtype=float,
    )
    return vals[inv] if uniq.size else np.zeros(0)


def _texts(keys: list[np.ndarray], make) -> np.ndarray:
    """Words per firm from a few key columns, built once per distinct combination."""
    n = keys[0].size
    if n == 0:
        return np.zeros(0, dtype=object)
    combined = np.zeros(n, dtype=np.int64)
    for k in keys:
        arr = np.asarray(k)
        arr = arr.astype(str) if arr.dtype == object else arr
        uniq, inv = np.unique(arr, return_inverse=True)
        combined = combined * uniq.size + inv
    _, first, inv = np.unique(combined, return_index=True, return_inverse=True)
    words = np.array(
        [make(*(str(np.asarray(k)[i]) for k in keys)) for i in first.tolist()], dtype=object
    )
    return words[inv]


def _q(quantities: Mapping[str, np.ndarray], key: str, n: int) -> np.ndarray:
    v = quantities.get(key)
    return np.full(n, np.nan) if v is None else np.asarray(v, dtype=float)


def compute_amounts(
    policy: PolicySet,
    classes: np.ndarray,
    quantities: Mapping[str, np.ndarray],
    counties: np.ndarray | tuple[np.ndarray, np.ndarray] | None = None,
    consecutive: np.ndarray | None = None,
    *,
    words: bool = True,
) -> list[LeverAmounts]:
    """Every lever of ``policy`` for firms of the given class codes ("" = unclassed).

    ``quantities`` holds per-firm arrays named as in :data:`QUANTITIES` (missing keys count as no
    data); ``counties`` (division codes, or :func:`factorize_counties` of them) pick the local
    land-tax rate and water price;
    ``consecutive`` (from :func:`consecutive_years`) picks escalating rates, 1 when omitted;
    ``words=False`` skips the rule texts (for simulations that only need the amounts).
    """
    classes = np.asarray(classes).astype(str)
    n = classes.size
    if counties is None:
        counties = np.full(n, "")
    if not isinstance(counties, tuple):
        counties = factorize_counties(counties)
    streak = (
        np.where(classes != "", 1, 0).astype(np.int32)
        if consecutive is None
        else np.asarray(consecutive, dtype=np.int32)
    )
    out = []
    for lv in policy.levers:
        if isinstance(lv, LandUseTaxRelief):
            out.append(_land_relief(lv, classes, streak, quantities, counties, with_words=words))
        elif isinstance(lv, ElectricitySurcharge):
            out.append(_electricity(lv, classes, streak, quantities, with_words=words))
        elif isinstance(lv, WaterSurcharge):
            out.append(_water(lv, classes, streak, quantities, counties, with_words=words))
        elif isinstance(lv, QuotaCut):
            out.append(_quota(lv, classes, streak, quantities, with_words=words))
        else:
            out.append(_measure(lv, classes, streak, with_words=words))
    return out


def _land_relief(
    lv: LandUseTaxRelief, classes, streak, quantities, counties, with_words=True
) -> LeverAmounts:
    n = classes.size
    share = _by_class(classes, streak, {k: [v] for k, v in lv.relief.items()})
    applies = share > 0
    own = _q(quantities, "own_land_m2", n)
    leased = np.nan_to_num(_q(quantities, "leased_land_m2", n))
    rate = _local(counties, {k: r.rate for k, r in lv.rates.items()})
    rate = np.where(applies, rate, np.nan)
    # Relief goes to the holder of the land-use right: the base is own land only.
    base = np.where(applies, own, np.nan)
    status = np.select(
        [np.isnan(rate), np.isnan(own), (own <= 0) & (leased > 0), own <= 0],
        ["no-rate", "no-data", "tenant", "no-land"],
        "ok",
    )
    # A saving for the firm (negative); none for tenants; not computable without data or rate.
    amount = np.where(
        status == "ok",
        -base * rate * share / YUAN_PER_WAN,
        np.where(np.isin(status, ["tenant", "no-land"]), 0.0, np.nan),
    )

    def words(k: str, sh: str, st: str) -> str:
        head = f"{k}类企业减免城镇土地使用税{float(sh):.0%}"
        return (
            head
            + {
                "ok": "：自有土地面积 × 本地税率 × 减免比例",
                "no-rate": "；未配置本地城镇土地使用税税率，未计算",
                "no-data": "；缺少自有土地面积，未计算",
                "tenant": "；无自有土地（承租），土地使用税由土地使用权人缴纳，不享受减免",
                "no-land": "；无自有土地，无减免",
            }[st]
        )

    rule = np.full(n, "", dtype=object)
    if with_words and applies.any():
        rule[applies] = _texts([classes[applies], share[applies], status[applies]], words)
    return LeverAmounts(
        lv.code, lv.name, lv.kind, applies, base, "平方米", rate, "元/平方米·年",
        np.where(applies, amount, np.nan), "万元", np.where(applies, amount, np.nan), rule,
    )  # fmt: skip


def _electricity(
    lv: ElectricitySurcharge, classes, streak, quantities, with_words=True
) -> LeverAmounts:
    n = classes.size
    rate = _by_class(classes, streak, lv.rates)
    applies = rate > 0
    kwh = _q(quantities, "electricity_kwh", n)
    base = np.where(applies, kwh, np.nan)
    amount = np.where(applies, base * rate / YUAN_PER_WAN, np.nan)
    rate = np.where(applies, rate, np.nan)

    def words(k: str, r: str, s: str, missing: str) -> str:
        text = f"{k}类企业差别电价加价{float(r):g}元/千瓦时（连续第{s}年{k}类）"
        return text + ("；缺少用电量，未计算" if missing == "True" else "")

    rule = np.full(n, "", dtype=object)
    if with_words and applies.any():
        rule[applies] = _texts(
            [classes[applies], rate[applies], streak[applies], np.isnan(kwh[applies])], words
        )
    return LeverAmounts(
        lv.code, lv.name, lv.kind, applies, base, "千瓦时", rate, "元/千瓦时",
        amount, "万元", amount, rule,
    )  # fmt: skip


def _water(
    lv: WaterSurcharge, classes, streak, quantities, counties, with_words=True
) -> LeverAmounts:
    n = classes.size
    markup = _by_class(classes, streak, lv.markup)
    applies = markup > 0
    price = _local(counties, lv.prices)
    m3 = _q(quantities, "water_m3", n)
    base = np.where(applies, m3, np.nan)
    rate = np.where(applies, price * markup, np.nan)  # 元/m³ added
    amount = np.where(applies, base * rate / YUAN_PER_WAN, np.nan)

    def words(k: str, mk: str, p: str, missing: str) -> str:
        text = f"{k}类企业水价加价{float(mk):.0%}"
        text += "" if p == "nan" else f"（基准水价{float(p):g}元/立方米）"
        if p == "nan":
            return text + "；未配置本地水价，未计算"
        return text + ("；缺少用水量，未计算" if missing == "True" else "")

    rule = np.full(n, "", dtype=object)
    if with_words and applies.any():
        rule[applies] = _texts(
            [classes[applies], markup[applies], price[applies], np.isnan(m3[applies])], words
        )
    return LeverAmounts(
        lv.code, lv.name, lv.kind, applies, base, "立方米", rate, "元/立方米",
        amount, "万元", amount, rule,
    )  # fmt: skip


def _quota(lv: QuotaCut, classes, streak, quantities, with_words=True) -> LeverAmounts:
    n = classes.size
    energy = lv.kind == "energy-quota-cut"
    key, unit, what = (
        ("energy_tce", "吨标煤", "用能指标")
        if energy
        else ("emissions_t", "吨", "主要污染物排放指标")
    )
    cut = _by_class(classes, streak, lv.cuts)
    applies = cut > 0
    use = _q(quantities, key, n)
    base = np.where(applies, use, np.nan)
    rate = np.where(applies, cut, np.nan)
    amount = np.where(applies, base * cut, np.nan)

    def words(k: str, c: str, missing: str) -> str:
        text = f"{k}类企业{what}按现状核减{float(c):.0%}"
        return text + ("；缺少现状数据，未计算" if missing == "True" else "")

    rule = np.full(n, "", dtype=object)
    if with_words and applies.any():
        rule[applies] = _texts([classes[applies], cut[applies], np.isnan(use[applies])], words)
    return LeverAmounts(
        lv.code, lv.name, lv.kind, applies, base, unit, rate, "比例",
        amount, unit, np.full(n, np.nan), rule,
    )  # fmt: skip


def _measure(lv: Measure, classes, streak, with_words=True) -> LeverAmounts:
    n = classes.size
    applies = np.isin(classes, list(lv.texts))
    rule = np.full(n, "", dtype=object)
    if with_words and applies.any():
        rule[applies] = _texts([classes[applies]], lambda k: f"{k}类：{lv.texts[k]}")
    nan = np.full(n, np.nan)
    return LeverAmounts(lv.code, lv.name, lv.kind, applies, nan, "", nan, "", nan, "", nan, rule)


def compute_ledger(
    policy: PolicySet,
    firms: pa.Table | Mapping[str, np.ndarray],
    consecutive: np.ndarray | None = None,
) -> pa.Table:
    """The policy ledger of ``firms``: one row per firm and lever that applies to its class.

    ``firms`` (Arrow table or mapping of arrays) needs ``uscc`` and ``class``; ``county_code``
    and the :data:`QUANTITIES` columns are used when present, and ``consecutive_years`` when
    ``consecutive`` is not given. The ``row`` column is the firm's position in ``firms``.
    """
    cols = _columns(firms)
    classes = np.asarray(cols["class"], dtype=object)
    if consecutive is None and "consecutive_years" in cols:
        consecutive = np.asarray(cols["consecutive_years"], dtype=np.int32)
    if consecutive is None:
        consecutive = np.where(classes != "", 1, 0).astype(np.int32)
    amounts = compute_amounts(
        policy, classes, cols, counties=cols.get("county_code"), consecutive=consecutive
    )
    uscc = np.asarray(cols["uscc"], dtype=object)
    parts = []
    for a in amounts:
        rows = np.flatnonzero(a.applies)
        if rows.size == 0:
            continue
        k = rows.size

        def same(v: str, k: int = k) -> pa.Array:
            return pa.DictionaryArray.from_arrays(
                pa.array(np.zeros(k, dtype=np.int32)), pa.array([v])
            ).cast(pa.string())

        parts.append(
            pa.table(
                {
                    "row": pa.array(rows.astype(np.int64)),
                    "uscc": pa.array(uscc[rows], pa.string()),
                    "class": pa.array(classes[rows], pa.string()),
                    "consecutive_years": pa.array(consecutive[rows].astype(np.int32)),
                    "lever": same(a.code),
                    "lever_name": same(a.name),
                    "kind": same(a.kind),
                    "base_quantity": pa.array(a.base[rows], from_pandas=True),
                    "base_unit": same(a.base_unit),
                    "rate": pa.array(a.rate[rows], from_pandas=True),
                    "rate_unit": same(a.rate_unit),
                    "amount": pa.array(a.amount[rows], from_pandas=True),
                    "amount_unit": same(a.amount_unit),
                    "amount_wan": pa.array(a.amount_wan[rows], from_pandas=True),
                    "rule": pa.array(a.rule[rows], pa.string()),
                },
                schema=LEDGER_SCHEMA,
            )
        )
    return pa.concat_tables(parts) if parts else LEDGER_SCHEMA.empty_table()


def _columns(firms: pa.Table | Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    if isinstance(firms, pa.Table):
        out = {}
        for name in firms.column_names:
            col = firms.column(name)
            if pa.types.is_floating(col.type) or pa.types.is_integer(col.type):
                out[name] = col.to_numpy(zero_copy_only=False).astype(float)
            elif pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
                out[name] = pc.fill_null(col, "").to_numpy(zero_copy_only=False)
            else:
                out[name] = np.asarray(col.to_pylist(), dtype=object)
        if "consecutive_years" in out:
            out["consecutive_years"] = np.nan_to_num(out["consecutive_years"]).astype(np.int32)
        return out
    return dict(firms)


def fiscal_totals(amounts: Sequence[LeverAmounts]) -> list[dict]:
    """Per lever: firms concerned, firms without the data to compute it, and the total amount
    (万元 for money levers, the unit's quantity for quota cuts)."""
    out = []
    for a in amounts:
        amt = a.amount[a.applies]
        out.append(
            {
                "lever": a.code,
                "name": a.name,
                "kind": a.kind,
                "firms": int(a.applies.sum()),
                "not_computed": int(np.isnan(amt).sum()) if a.kind != "measure" else 0,
                "amount": float(np.nansum(amt)) if a.kind != "measure" else None,
                "unit": a.amount_unit,
            }
        )
    return out
