from collections import Counter

import pytest

from mujun.reference import (
    TraditionalIndustry,
    common_industry_classes,
    industry_division,
    industry_name,
    is_known_industry,
    is_utility_industry,
    load_industries,
    load_traditional_industries,
    normalise_industry_code,
    traditional_industry_of,
)
from mujun.reference import industries as industries_module

MANUFACTURING_DIVISIONS = {
    "C13": "农副食品加工业",
    "C14": "食品制造业",
    "C15": "酒、饮料和精制茶制造业",
    "C16": "烟草制品业",
    "C17": "纺织业",
    "C18": "纺织服装、服饰业",
    "C19": "皮革、毛皮、羽毛及其制品和制鞋业",
    "C20": "木材加工和木、竹、藤、棕、草制品业",
    "C21": "家具制造业",
    "C22": "造纸和纸制品业",
    "C23": "印刷和记录媒介复制业",
    "C24": "文教、工美、体育和娱乐用品制造业",
    "C25": "石油、煤炭及其他燃料加工业",
    "C26": "化学原料和化学制品制造业",
    "C27": "医药制造业",
    "C28": "化学纤维制造业",
    "C29": "橡胶和塑料制品业",
    "C30": "非金属矿物制品业",
    "C31": "黑色金属冶炼和压延加工业",
    "C32": "有色金属冶炼和压延加工业",
    "C33": "金属制品业",
    "C34": "通用设备制造业",
    "C35": "专用设备制造业",
    "C36": "汽车制造业",
    "C37": "铁路、船舶、航空航天和其他运输设备制造业",
    "C38": "电气机械和器材制造业",
    "C39": "计算机、通信和其他电子设备制造业",
    "C40": "仪器仪表制造业",
    "C41": "其他制造业",
    "C42": "废弃资源综合利用业",
    "C43": "金属制品、机械和设备修理业",
}


def test_manufacturing_has_the_31_divisions_c13_to_c43_with_exact_names():
    divisions = {i.code: i.name for i in load_industries() if i.level == "division"}
    manufacturing = {c: n for c, n in divisions.items() if c.startswith("C")}
    assert len(manufacturing) == 31
    assert manufacturing == MANUFACTURING_DIVISIONS


def test_section_c_is_complete_with_179_groups_and_609_classes():
    counts = Counter(i.level for i in load_industries() if i.code.startswith("C"))
    assert counts == {"section": 1, "division": 31, "group": 179, "class": 609}


def test_every_entry_nests_under_an_existing_parent():
    by_code = {i.code: i for i in load_industries()}
    assert len(by_code) == len(load_industries())
    expected_parent_level = {"division": "section", "group": "division", "class": "group"}
    for item in by_code.values():
        if item.level == "section":
            assert item.parent is None
            continue
        parent = by_code[item.parent]
        assert parent.level == expected_parent_level[item.level]
        assert item.code.startswith(parent.code)
        assert item.name == item.name.strip() and "(" not in item.name


def test_names_follow_the_2017_edition():
    assert industry_name("C3670") == "汽车零部件及配件制造"
    assert industry_name("C366") == "汽车车身、挂车制造"
    assert industry_name("C3981") == "电阻电容电感元件制造"
    assert industry_name("C3823") == "配电开关控制设备制造"
    assert industry_name("C3441") == "泵及真空设备制造"
    assert industry_name("C3443") == "阀门和旋塞制造"
    assert industry_name("C2822") == "涤纶纤维制造"
    assert industry_name("C1951") == "纺织面料鞋制造"
    assert industry_name("C1922") == "皮箱、包（袋）制造"
    assert industry_name("C4011") == "工业自动控制系统装置制造"


def test_utility_divisions_of_section_d_and_sanitation_are_present():
    assert industry_name("D44") == "电力、热力生产和供应业"
    assert industry_name("D4411") == "火力发电"
    assert industry_name("D4430") == "热力生产和供应"
    assert industry_name("D45") == "燃气生产和供应业"
    assert industry_name("D4511") == "天然气生产和供应业"
    assert industry_name("D46") == "水的生产和供应业"
    assert industry_name("D4610") == "自来水生产和供应"
    assert industry_name("D4620") == "污水处理及其再生利用"
    assert industry_name("N7820") == "环境卫生管理"


@pytest.mark.parametrize(
    "text",
    [
        "C3670",
        "3670",
        "c3670",
        " 3670 ",
        "3670.0",
        3670,
        3670.0,
        "Ｃ３６７０",
        "C 3670",
        "\ufeff3670",
    ],
)
def test_normalise_accepts_common_spellings_of_a_class(text):
    assert normalise_industry_code(text) == "C3670"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("C", "C"), ("c", "C"), ("36", "C36"), ("C367", "C367"), ("382", "C382"), ("13", "C13")],
)
def test_normalise_handles_every_level(text, expected):
    assert normalise_industry_code(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        None,
        "abc",
        "9999",
        "C9999",
        "D3670",
        "C4411",
        "3670.5",
        3670.5,
        float("nan"),
        True,
        "51",
    ],
)
def test_normalise_returns_none_for_unknown_codes(text):
    assert normalise_industry_code(text) is None
    assert not is_known_industry(text)


def test_bare_divisions_13_to_43_are_section_c_and_44_to_46_are_section_d():
    for number in range(13, 44):
        assert normalise_industry_code(str(number)) == f"C{number}"
    for number in (44, 45, 46):
        assert normalise_industry_code(str(number)) == f"D{number}"
    assert normalise_industry_code("4430") == "D4430"


def test_industry_division_returns_the_two_digit_division():
    assert industry_division("3670") == "C36"
    assert industry_division("C382") == "C38"
    assert industry_division("C17") == "C17"
    assert industry_division("4620") == "D46"
    assert industry_division("C") is None
    assert industry_division("9999") is None


def test_utilities_are_power_heat_gas_water_and_sanitation():
    for code in ("D4411", "D4417", "4430", "D4511", "D4610", "D4620", "N7820"):
        assert is_utility_industry(code), code
    for code in ("C3670", "N7810", "C4210", "nonsense"):
        assert not is_utility_industry(code), code


def test_common_classes_cover_every_manufacturing_division_at_least_twice():
    classes = common_industry_classes()
    assert 80 <= len(classes) <= 120
    assert len(set(classes)) == len(classes)
    assert all(normalise_industry_code(c) == c and len(c) == 5 for c in classes)
    per_division = Counter(c[:3] for c in classes)
    assert set(per_division) == set(MANUFACTURING_DIVISIONS)
    assert min(per_division.values()) >= 2


def test_there_are_17_traditional_industries_13_confirmed_10_from_2017():
    entries = load_traditional_industries()
    assert len(entries) == 17
    assert sum(e.confirmed for e in entries) == 13
    assert Counter(e.batch for e in entries) == {2017: 10, 2018: 7}
    assert all(e.confirmed for e in entries if e.batch == 2017)
    prefixes_2017 = sorted(p for e in entries if e.batch == 2017 for p in e.prefixes)
    assert prefixes_2017 == ["C13", "C17", "C18", "C19", "C22", "C26", "C28", "C29", "C30", "C32"]
    confirmed_2018 = {p for e in entries if e.batch == 2018 and e.confirmed for p in e.prefixes}
    assert confirmed_2018 == {"C3670", "C382", "C21", "C20"}
    assert all(e.note for e in entries if not e.confirmed)


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("C1711", "纺织"),
        ("C17", "纺织"),
        ("3670", "汽车零部件"),
        ("C3823", "低压电气"),
        ("C2110", "家具与竹木制品"),
        ("C2041", "家具与竹木制品"),
        ("C3811", "电机"),
        ("C3443", "泵阀"),
        ("C3660", None),
        ("C38", None),
        ("C3442", None),
        ("D4411", None),
        ("9999", None),
    ],
)
def test_traditional_industry_of_maps_codes_by_prefix(code, name):
    assert traditional_industry_of(code) == name


def test_unconfirmed_industries_can_be_left_out():
    assert traditional_industry_of("C3811", confirmed_only=True) is None
    assert traditional_industry_of("C3823", confirmed_only=True) == "低压电气"


def test_the_longest_prefix_wins(monkeypatch):
    entries = (
        TraditionalIndustry("电气", "electrical", ("C38",), 2018, True),
        TraditionalIndustry("低压电气", "low-voltage", ("C382",), 2018, True),
        TraditionalIndustry("开关", "switchgear", ("C3823",), 2018, False),
    )
    monkeypatch.setattr(industries_module, "_traditional", lambda: entries)
    assert traditional_industry_of("C3823") == "开关"
    assert traditional_industry_of("C3823", confirmed_only=True) == "低压电气"
    assert traditional_industry_of("C3821") == "低压电气"
    assert traditional_industry_of("C3811") == "电气"
