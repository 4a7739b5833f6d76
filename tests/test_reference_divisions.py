from collections import Counter
from dataclasses import FrozenInstanceError
from datetime import date

import pytest

from mujun.reference import (
    cities,
    city_of,
    counties,
    dev_zones,
    division_name,
    division_status,
    division_status_many,
    is_dev_zone_code,
    load_divisions,
)

CITY_NAMES = {
    "330100": "杭州市",
    "330200": "宁波市",
    "330300": "温州市",
    "330400": "嘉兴市",
    "330500": "湖州市",
    "330600": "绍兴市",
    "330700": "金华市",
    "330800": "衢州市",
    "330900": "舟山市",
    "331000": "台州市",
    "331100": "丽水市",
}
# County-level units per city today (published by the province).
UNITS_PER_CITY = {
    "330100": 13,
    "330200": 10,
    "330300": 12,
    "330400": 7,
    "330500": 5,
    "330600": 6,
    "330700": 9,
    "330800": 6,
    "330900": 4,
    "331000": 9,
    "331100": 9,
}


def kinds_on(day: date) -> Counter:
    return Counter(d.kind for d in counties(on=day))


def test_zhejiang_has_exactly_90_current_county_level_units():
    assert len(counties()) == 90


def test_current_units_are_37_districts_20_county_level_cities_and_33_counties():
    assert kinds_on(date.today()) == {"district": 37, "county_city": 20, "county": 33}


def test_there_are_exactly_the_11_cities_from_hangzhou_to_lishui():
    assert {c.code: c.name for c in cities()} == CITY_NAMES
    assert all(c.parent == "330000" for c in cities())


def test_each_city_has_its_published_number_of_county_level_units():
    per_city = Counter(d.parent for d in counties())
    assert dict(per_city) == UNITS_PER_CITY


def test_codes_are_unique_six_digit_and_nest_under_their_city():
    divisions = load_divisions()
    codes = [d.code for d in divisions]
    assert len(codes) == len(set(codes))
    assert all(len(c) == 6 and c.isdigit() and c.startswith("33") for c in codes)
    for d in divisions:
        if d.level == "county":
            assert d.parent in CITY_NAMES
            assert d.code[:4] == d.parent[:4]


def test_known_names_are_exact():
    expected = {
        "330102": "上城区",
        "330105": "拱墅区",
        "330112": "临安区",
        "330113": "临平区",
        "330114": "钱塘区",
        "330182": "建德市",
        "330383": "龙港市",
        "331002": "椒江区",
        "331083": "玉环市",
        "331127": "景宁畲族自治县",
        "331181": "龙泉市",
    }
    assert {code: division_name(code) for code in expected} == expected


def test_hangzhou_2021_reorganisation_swaps_two_districts_on_9_april():
    before = {d.code for d in counties(on=date(2021, 4, 8))}
    after = {d.code for d in counties(on=date(2021, 4, 9))}
    assert before - after == {"330103", "330104"}
    assert after - before == {"330113", "330114"}
    assert len(before) == len(after) == 90


def test_longgang_brings_the_count_from_89_to_90_in_2019():
    assert len(counties(on=date(2019, 8, 29))) == 89
    assert len(counties(on=date(2019, 8, 30))) == 90


def test_historic_periods_reproduce_the_published_2015_and_2012_structure():
    # Published: end of 2015, 36 districts, 20 county-level cities and 34 counties;
    # end of 2012, 32 districts, 22 county-level cities and 36 counties.
    assert kinds_on(date(2015, 12, 31)) == {"district": 36, "county_city": 20, "county": 34}
    assert kinds_on(date(2012, 12, 31)) == {"district": 32, "county_city": 22, "county": 36}


@pytest.mark.parametrize(
    ("code", "year", "status"),
    [
        ("330102", 2015, "current"),
        ("330102", None, "current"),
        ("330103", 2020, "current"),
        ("330103", 2021, "current"),
        ("330103", 2022, "historic"),
        ("330103", None, "historic"),
        ("330113", 2021, "current"),
        ("330113", 2020, "historic"),
        ("330383", 2019, "current"),
        ("330383", 2018, "historic"),
        ("330185", 2016, "current"),
        ("330185", 2018, "historic"),
        ("330100", 2023, "current"),
        ("330000", 2023, "current"),
        ("330371", 2023, "dev-zone"),
        ("331172", 2023, "dev-zone"),
        ("330199", 2023, "unknown"),
        ("110101", 2023, "unknown"),
        ("3301", 2023, "unknown"),
        ("", 2023, "unknown"),
    ],
)
def test_division_status_tells_current_historic_dev_zone_and_unknown(code, year, status):
    assert division_status(code, year) == status


def test_division_status_many_agrees_with_the_scalar_function():
    codes = ["330102", "330103", "330113", "330371", "331172", "999999", "", "330383"]
    for year in (2012, 2016, 2019, 2021, 2024):
        assert division_status_many(codes, year) == [division_status(c, year) for c in codes]


def test_any_33xx7x_code_is_a_development_zone_even_if_unlisted():
    assert [z.code for z in dev_zones()] == ["330371"]
    assert is_dev_zone_code("330371")
    assert is_dev_zone_code("330972")
    assert not is_dev_zone_code("330381")
    assert not is_dev_zone_code("320571")
    assert not is_dev_zone_code("33037")


def test_city_of_finds_the_city_of_counties_dev_zones_and_cities():
    assert city_of("330383") == "330300"
    assert city_of("330103") == "330100"
    assert city_of("330371") == "330300"
    assert city_of("330100") == "330100"
    assert city_of("330000") is None
    assert city_of("331271") is None
    assert city_of("999999") is None


def test_unlisted_codes_have_no_name():
    assert division_name("330371") == "温州经济技术开发区"
    assert division_name("330972") is None
    assert division_name("999999") is None


def test_divisions_are_immutable_and_loading_returns_fresh_lists():
    first = load_divisions()
    with pytest.raises(FrozenInstanceError):
        first[0].name = "x"  # type: ignore[misc]
    first.clear()
    assert len(load_divisions()) > 100
