"""Hand-made firms for the low-efficiency tests: department files for 2022–2024 written here,
ingested, validated and evaluated through the real pipeline (zhejiang-default rules).

Huzhou 吴兴区 (330502) and 南浔区 (330503), plus one Hangzhou firm. Tax (万元) per year and land:

| firm | size  | county | land (亩) | tax 2022 | 2023 | 2024 | tax/mu 2022 / 2023 / 2024 |
|------|-------|--------|-----------|----------|------|------|---------------------------|
| A1   | above | 330502 | 10        | 50       | 80   | 80   | 5.0 / 8.0 / 8.0           |
| A2   | above | 330502 | 20        | 200      | 100  | 100  | 10.0 / 5.0 / 5.0          |
| A3   | above | 330502 | 10        | 8        | 8    | 8    | 0.8 / 0.8 / 0.8           |
| B1   | below | 330502 | 12        | 60       | 60   | 60   | 5.0 (≥ 10 mu, still below)|
| B2   | below | 330503 | 5         | 10       | 20   | 20   | 2.0 / 4.0 / 4.0           |
| B3   | below | 330502 | 4         | 20       | 20   | 20   | 5.0                       |
| B4   | below | 330502 | 2         | 1        | 1    | 1    | 0.5 (under 3 mu: not evaluated) |
| U1   | above | 330502 | 10 (utility D4411) | 5 | 5 | 5 | 0.5 (exempt: not evaluated) |
| H1   | above | 330102 | 10        | 5        | 5    | 5    | 0.5 (Hangzhou)            |

Above-size firms add 40 万元 of value added per 亩 and 20 吨标煤 of energy per 亩 (A2: 60), so
their energy use per 万元 of value added is 0.5 (A2: 1.5).
"""

from __future__ import annotations

from pathlib import Path

from mujun.evaluation import evaluate
from mujun.ingest import ingest_directory, load_profiles
from mujun.reference.uscc import make_uscc
from mujun.rules import load_rules
from mujun.store import open_store
from mujun.validate import validate_year

ROOT = Path(__file__).resolve().parents[1]
M2 = 10000 / 15  # m² per 亩
YEARS = (2022, 2023, 2024)

# name: (county, above?, industry, land mu, {year: tax})
FIRMS: dict[str, tuple[str, bool, str, float, tuple[float, float, float]]] = {
    "A1": ("330502", True, "C3441", 10, (50, 80, 80)),
    "A2": ("330502", True, "C3441", 20, (200, 100, 100)),
    "A3": ("330502", True, "C3441", 10, (8, 8, 8)),
    "B1": ("330502", False, "C3443", 12, (60, 60, 60)),
    "B2": ("330503", False, "C3443", 5, (10, 20, 20)),
    "B3": ("330502", False, "C3443", 4, (20, 20, 20)),
    "B4": ("330502", False, "C3443", 2, (1, 1, 1)),
    "U1": ("330502", True, "D4411", 10, (5, 5, 5)),
    "H1": ("330102", True, "C3441", 10, (5, 5, 5)),
}
USCC = {
    name: make_uscc("91", county, f"MA2LW{i:03d}")
    for i, (name, (county, *_)) in enumerate(FIRMS.items(), start=1)
}
NAMES = {name: f"低效测试企业{name}有限公司" for name in FIRMS}


def write_year(folder: Path, year: int) -> None:
    """One year's register, tax, statistics, power and land files for the firms above."""
    folder.mkdir(parents=True)
    k = YEARS.index(year)
    (folder / f"企业名录{year}.csv").write_text(
        "统一社会信用代码,企业名称,区县代码,行业代码,是否规上,成立日期\n"
        + "".join(
            f"{USCC[n]},{NAMES[n]},{c},{ind},{'是' if above else '否'},2005-01-01\n"
            for n, (c, above, ind, _, _) in FIRMS.items()
        ),
        encoding="utf-8",
    )
    (folder / f"税务{year}.csv").write_text(
        "统一社会信用代码,实缴税金（万元）\n"
        + "".join(f"{USCC[n]},{tax[k]}\n" for n, (*_, tax) in FIRMS.items()),
        encoding="utf-8",
    )
    (folder / f"统计{year}.csv").write_text(
        "统一社会信用代码,工业增加值,主营业务收入,年平均从业人员,综合能耗,R&D经费支出\n"
        + "".join(
            f"{USCC[n]},{40 * mu:g},{150 * mu:g},{3 * mu:g},{(60 if n == 'A2' else 20) * mu:g},"
            f"{2 * mu:g}\n"
            for n, (_, above, _, mu, _) in FIRMS.items()
            if above
        ),
        encoding="utf-8",
    )
    (folder / f"用电{year}.csv").write_text(
        "户号,统一社会信用代码,用电量\n"
        + "".join(f"{i:03d},{USCC[n]},400000\n" for i, n in enumerate(FIRMS)),
        encoding="utf-8",
    )
    (folder / f"用地{year}.csv").write_text(
        "统一社会信用代码,不动产权证号,土地使用权面积（平方米）,使用方式,出租方信用代码,租赁建筑面积,供地日期\n"
        + "".join(
            f"{USCC[n]},浙(2005)湖州市不动产权第{i:07d}号,{mu * M2:.4f},自有,,,2005-01-01\n"
            for i, (n, (_, _, _, mu, _)) in enumerate(FIRMS.items(), start=1)
        ),
        encoding="utf-8",
    )


def build_world(base: Path) -> tuple[Path, dict[int, str]]:
    """The store with the three years evaluated (2022 and 2023 published, 2024 a draft);
    returns (store path, run id per year)."""
    profiles = load_profiles(ROOT / "rules" / "sources")
    rules = load_rules(ROOT / "rules" / "zhejiang-default.yaml")
    db = base / "loweff.duckdb"
    runs = {}
    with open_store(db) as store:
        for year in YEARS:
            write_year(base / str(year), year)
            ingest_directory(store, base / str(year), year, profiles)
            validate_year(store, year, profiles)
            runs[year] = evaluate(store, year, rules=rules).run_id
        for year in (2022, 2023):
            store.execute("UPDATE runs SET status = 'published' WHERE run_id = ?", [runs[year]])
    return db, runs
