"""A province administrator in headless Chromium applies the default policy preset to a run on
the ledger page; a county analyst then sees what a firm's class triggers in its portrait (loaded
by htmx) and runs a what-if whose result updates in place when a weight changes."""

from __future__ import annotations

import pytest

from mujun.auth import Role
from tests.browser import login_as, screenshot

pytestmark = pytest.mark.browser


def test_apply_policy_then_portrait_and_whatif(live_server, page, browser):
    login_as(page, live_server, Role.PROVINCE_ADMIN, next_path="/policy")
    if page.locator("text=本批次尚未应用差别化政策").count():
        page.select_option("select[name=preset]", "zhejiang-default")
        with page.expect_navigation():
            page.click("form[action='/policy/apply'] button[type=submit]")
    assert "城镇土地使用税减免" in page.inner_text("main")
    screenshot(page, "policy-ledger")
    # The portrait of a firm in the ledger shows its levers, loaded after the page by htmx.
    link = page.locator("main table.grid td.code a").first
    with page.expect_navigation():
        link.click()
    page.wait_for_selector("#firm-policy")
    assert "万元" in page.inner_text("#firm-policy")
    # What-if: a weight change re-scores the province and swaps in the new result.
    analyst = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 1000})
    p2 = analyst.new_page()
    try:
        login_as(p2, live_server, Role.COUNTY_ANALYST, next_path="/whatif")
        assert "没有企业的分类发生变化" in p2.inner_text("#whatif-result")
        p2.fill("input[name=w_above_tax_mu]", "70")
        p2.fill("input[name=w_above_va_mu]", "0")
        p2.dispatch_event("input[name=w_above_va_mu]", "change")
        p2.wait_for_selector("#whatif-matrix", timeout=30_000)
        text = p2.inner_text("#whatif-result")
        assert "家企业分类变化" in text and "weights.above.tax_mu=70" in text
        screenshot(p2, "policy-whatif")
    finally:
        analyst.close()
