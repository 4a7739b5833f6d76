"""An objection in headless Chromium: the enterprise contests its land area with an evidence
file on the confirmation page, the county analyst accepts it, the province administrator makes a
new draft run from it and sees the correction on the new run's page. Screenshots go to
test-artifacts/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from mujun.auth import Role
from tests.browser import login_as, screenshot

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@contextmanager
def _page_as(browser: Any, server: Any, role: Role, next_path: str, **context: Any) -> Iterator:
    """A page in a fresh context, logged in as the demo account of ``role``."""
    ctx = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", **context)
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()
    try:
        login_as(page, server, role, next_path)
        yield page
    finally:
        ctx.close()


def test_enterprise_contests_land_analyst_accepts_and_the_new_run_shows_it(live_server, browser):
    run = live_server.runs[max(live_server.runs)]
    # The enterprise, on a phone-sized window: land first, large type.
    phone = {"viewport": {"width": 390, "height": 844}, "is_mobile": True}
    with _page_as(browser, live_server, Role.ENTERPRISE, f"/confirm?run={run}", **phone) as page:
        assert "确认与异议" in page.inner_text("h1")
        figure = page.locator("#fig-land_own_mu")
        assert "待确认" in figure.inner_text()
        screenshot(page, "enterprise-confirm")
        figure.locator("details.contest summary").click()
        figure.locator("textarea[name=reason]").fill("土地证面积与登记不符")
        figure.locator("input[name=proposed_value]").fill("1.5")
        figure.locator("input[name=evidence]").set_input_files(
            {"name": "土地证.pdf", "mimeType": "application/pdf", "buffer": PDF}
        )
        with page.expect_navigation():
            figure.locator(".contest-form button[type=submit]").click()
        assert "异议已提交" in page.inner_text("main")
        assert "已提出异议" in page.locator("#fig-land_own_mu").inner_text()
        screenshot(page, "enterprise-contested")

    with _page_as(browser, live_server, Role.COUNTY_ANALYST, f"/objections?run={run}") as page:
        row = page.locator("#objections tbody tr", has_text=live_server.enterprise)
        assert "待审核" in row.inner_text()
        with page.expect_navigation():
            row.locator("a").first.click()
        assert "土地证.pdf" in page.inner_text("main")
        page.fill("#review form[action$='/accept'] textarea[name=note]", "核对土地证，予以采纳")
        with page.expect_navigation():
            page.click("#accept")
        assert "已采纳" in page.inner_text("h1")
        screenshot(page, "analyst-objection-accepted")

    # The run covers the province, so the province administrator makes the new draft run.
    with _page_as(browser, live_server, Role.PROVINCE_ADMIN, f"/objections?run={run}") as page:
        with page.expect_navigation(timeout=60_000):
            page.click("#rerun")
        assert re.search(r"/runs/[^/?]+\?done=rerun", page.url)
        assert "草稿" in page.inner_text("h1")
        row = page.locator(f'#changes tr[data-uscc="{live_server.enterprise}"]')
        assert "异议 #" in row.inner_text() and "1.50亩" in row.inner_text()
        screenshot(page, "analyst-new-run")
