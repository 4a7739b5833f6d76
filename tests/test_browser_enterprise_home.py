"""An enterprise on a phone, in headless Chromium: the system administrator registers the firm's
designated phone, the firm asks for an SMS code on the login page, the code arrives in the SMS
outbox, the firm logs in with it and lands on its home page — class, rank, the score breakdown,
its 一企一单, notifications and the slot for policies — readable at a phone's width with large type
and the phone number masked. Screenshot: test-artifacts/enterprise-home-phone.png."""

from __future__ import annotations

import re

import pytest

from mujun.auth import Role
from tests.browser import login_as, screenshot

pytestmark = pytest.mark.browser

PHONE = "13712345678"
PHONE_VIEW = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def _csrf(page) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == "mujun_csrf")


def test_an_enterprise_logs_in_by_sms_on_a_phone_and_sees_its_home_page(live_server, browser):
    run = live_server.runs[max(live_server.runs)]
    admin_ctx = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    admin_ctx.set_default_timeout(15_000)
    admin = admin_ctx.new_page()
    phone_ctx = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", **PHONE_VIEW)
    phone_ctx.set_default_timeout(15_000)
    phone = phone_ctx.new_page()
    try:
        # A classed firm of the county, other than the demo enterprise (kept on its password).
        login_as(admin, live_server, Role.PROVINCE_ADMIN)
        rows = admin.request.get(
            f"{live_server.url}/api/v1/runs/{run}/results",
            params={"region": live_server.county, "class": "B", "page_size": 5},
        ).json()["rows"]
        firm = next(r for r in rows if r["uscc"] != live_server.enterprise)
        detail = admin.request.get(
            f"{live_server.url}/api/v1/runs/{run}/results/{firm['uscc']}"
        ).json()
        items = {i["indicator"]: i for i in detail["items"]}
        admin_ctx.clear_cookies()

        # The system administrator creates its account and registers the designated phone.
        login_as(admin, live_server, Role.SYSTEM_ADMIN, "/admin/sms")
        headers = {"X-CSRF-Token": _csrf(admin)}
        made = admin.request.post(
            f"{live_server.url}/api/v1/users",
            data={"username": firm["uscc"], "role": "enterprise", "uscc": firm["uscc"]},
            headers=headers,
        )
        assert made.status == 201, made.text()
        set_phone = admin.request.put(
            f"{live_server.url}/api/v1/users/{firm['uscc']}/phone",
            data={"phone": PHONE},
            headers=headers,
        )
        assert set_phone.status == 200 and set_phone.json()["phone"] == "137****5678"

        # On the phone: credit code, 获取验证码.
        phone.goto(f"{live_server.url}/login")
        with phone.expect_navigation():
            phone.click("text=企业短信登录")
        phone.fill("input[name=username]", firm["uscc"])
        with phone.expect_navigation():
            phone.click("button[value=send]")
        assert "验证码已发送至 137****5678" in phone.inner_text(".info")

        # The code as the gateway would deliver it: the newest message in the outbox page.
        admin.goto(f"{live_server.url}/admin/sms")
        text = admin.locator("table.grid tbody tr").first.inner_text()
        assert PHONE in text and "login-code" in text
        code = re.search(r"验证码为 (\d{6})", text).group(1)

        phone.fill("input[name=code]", code)
        with phone.expect_navigation():
            phone.click("button[value=login]")
        phone.wait_for_url(re.compile(r"/home$"))

        # The home page: the firm's class, total, rank and every indicator's points.
        assert firm["name"] in phone.inner_text("h1")
        assert phone.locator("[data-class]").get_attribute("data-class") == "B"
        total = float(phone.locator("[data-total]").inner_text().replace(",", ""))
        assert total == pytest.approx(firm["total"], abs=0.01)
        indicators = phone.locator("#breakdown tbody tr[data-indicator]")
        assert indicators.count() == len(items) >= 2
        for i in range(indicators.count()):
            row = indicators.nth(i)
            item = items[row.get_attribute("data-indicator")]
            points = row.locator("td").nth(3).inner_text().split("/")[0].replace(",", "")
            assert float(points) == pytest.approx(item["score"], abs=0.01)
        assert phone.locator("a", has_text="下载一企一单").get_attribute("href") == (
            f"/firm/{firm['uscc']}/sheet.xlsx?run={run}"
        )
        assert phone.locator("a", has_text="确认或提出异议").count() == 1
        assert phone.locator("#policy-path[data-slot='mujun.policy']").count() == 1
        assert phone.locator("#notices").count() == 1
        # Masked personal data, large type, and nothing wider than the phone.
        content = phone.content()
        assert "137****5678" in content and PHONE not in content
        font = phone.evaluate("() => parseFloat(getComputedStyle(document.body).fontSize)")
        assert font >= 17
        width = phone.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390
        sheet = phone.request.get(f"{live_server.url}/firm/{firm['uscc']}/sheet.xlsx?run={run}")
        assert sheet.status == 200 and sheet.body()[:2] == b"PK"
        screenshot(phone, "enterprise-home-phone")
    finally:
        admin_ctx.close()
        phone_ctx.close()
