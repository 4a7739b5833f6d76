"""A county analyst in headless Chromium: the overview map with all 90 county tiles, rankings
filtered by class and search (the table updates in place), and a portrait with its radar chart
and class reasons. Screenshots go to test-artifacts/."""

from __future__ import annotations

import re

import pytest

from mujun.auth import Role
from mujun.reference import counties
from tests.browser import login_as, screenshot

pytestmark = pytest.mark.browser

MAP_POINTS = """() => {
  const chart = window.echarts && echarts.getInstanceByDom(document.getElementById('county-map'));
  if (!chart) return null;
  const series = chart.getOption().series[0];
  const canvas = document.querySelector('#county-map canvas');
  return {points: series.data.length, width: canvas ? canvas.width : 0,
          height: canvas ? canvas.height : 0};
}"""

RADAR = """() => {
  const chart = window.echarts && echarts.getInstanceByDom(document.getElementById('radar'));
  if (!chart) return null;
  const option = chart.getOption();
  const canvas = document.querySelector('#radar canvas');
  return {axes: option.radar[0].indicator.length, values: option.series[0].data[0].value.length,
          width: canvas ? canvas.width : 0};
}"""


CHANGED = "(before) => document.getElementById('rankings-table').dataset.total !== before"


def _total(page) -> int:
    return int(page.get_attribute("#rankings-table", "data-total"))


def test_county_analyst_sees_map_of_all_90_counties(live_server, page):
    login_as(page, live_server, Role.COUNTY_ANALYST)
    page.wait_for_selector("#county-map canvas")
    page.wait_for_function(f"() => ({MAP_POINTS})() !== null")
    drawn = page.evaluate(MAP_POINTS)
    assert drawn["points"] == len(counties()) == 90
    assert drawn["width"] > 200 and drawn["height"] > 200
    data = page.evaluate("JSON.parse(document.getElementById('charts-data').textContent)")
    tiles = data["map"]["tiles"]
    assert len({t["code"] for t in tiles}) == 90
    # Only the analyst's own county carries a value; the others are grey.
    assert [t["code"] for t in tiles if t["in_scope"]] == [live_server.county]
    assert "总览" in page.inner_text("h1")
    page.wait_for_timeout(600)  # let ECharts finish its entry animation before the shot
    screenshot(page, "analyst-overview")


def test_county_analyst_filters_rankings_in_place(live_server, page):
    login_as(page, live_server, Role.COUNTY_ANALYST, next_path="/rankings")
    page.wait_for_selector("#rankings-table")
    everyone = _total(page)
    assert everyone > 0
    url_before = page.url

    page.select_option("select[name=class]", "A")
    page.click("form.querybar button[type=submit]")
    page.wait_for_function(CHANGED, arg=str(everyone))
    class_a = _total(page)
    assert 0 < class_a < everyone
    classes = page.locator("#rankings-table tbody td span.cls").all_inner_texts()
    assert classes and all(c.startswith("A") for c in classes)
    assert "class=A" in page.url and page.url != url_before  # htmx pushed the view's URL

    name = page.locator("#rankings-table tbody tr td:nth-child(3) a").first.inner_text()
    page.fill("input[name=q]", name)
    page.click("form.querybar button[type=submit]")
    page.wait_for_function(CHANGED, arg=str(class_a))
    names = page.locator("#rankings-table tbody tr td:nth-child(3) a").all_inner_texts()
    assert names and all(name in n for n in names)
    screenshot(page, "analyst-rankings-filtered")


def test_county_analyst_opens_portrait_with_radar_and_reasons(live_server, page):
    login_as(page, live_server, Role.COUNTY_ANALYST, next_path="/rankings?class=B&size=above")
    link = page.locator("#rankings-table tbody tr td:nth-child(3) a").first
    name = link.inner_text()
    with page.expect_navigation():
        link.click()
    assert re.search(r"/firm/[0-9A-Z]{18}", page.url)
    assert name in page.inner_text("main")
    page.wait_for_selector("#radar canvas")
    page.wait_for_function(f"() => ({RADAR})() !== null")
    radar = page.evaluate(RADAR)
    assert radar["axes"] >= 3 and radar["values"] == radar["axes"] and radar["width"] > 100
    body = page.inner_text("main")
    assert "B类" in body
    reasons = page.locator("dt:has-text('分类理由') + dd").first
    assert reasons.inner_text().strip() not in ("", "—")
    page.wait_for_timeout(600)
    screenshot(page, "analyst-portrait")
