"""An upload in headless Chromium: the tax department's uploader sends its file, the page shows
the progress while the server's upload worker reads, ingests and validates it (htmx polling),
then the validation report. Screenshots go to test-artifacts/."""

from __future__ import annotations

import re

import pytest

from mujun.auth import Role
from tests.browser import login_as, screenshot

pytestmark = pytest.mark.browser

# Every data-step the upload's fragment takes, in the order the page shows them.
WATCH_STEPS = """() => {
  window.uploadSteps = [];
  new MutationObserver(() => {
    const job = document.getElementById("upload-job");
    const step = job && job.dataset.step;
    if (step && window.uploadSteps[window.uploadSteps.length - 1] !== step) {
      window.uploadSteps.push(step);
    }
  }).observe(document.body, {subtree: true, childList: true, attributes: true});
}"""


def test_an_uploaded_file_shows_its_progress_then_the_validation_report(
    live_server, page, tmp_path
):
    data = live_server.db.parent / "data" / "2023"
    original = next(p for p in data.iterdir() if "税" in p.name)
    # A corrected delivery: one firm's tax changed (an identical file would be left unchanged).
    lines = original.read_bytes().decode("gb18030").splitlines()
    fields = lines[1].split(",")
    fields[-1] = "1234567.00"
    lines[1] = ",".join(fields)
    tax_file = tmp_path / original.name
    tax_file.write_bytes("\r\n".join(lines).encode("gb18030"))
    login_as(page, live_server, Role.DEPARTMENT_UPLOADER, "/upload")
    page.evaluate(WATCH_STEPS)
    page.fill("input[name=year]", "2023")
    page.set_input_files("input[name=file]", str(tax_file))
    page.click(".upload-form button[type=submit]")

    page.wait_for_selector("#upload-job", state="attached")
    report = page.wait_for_selector("#upload-report", timeout=120_000)
    steps = page.evaluate("() => window.uploadSteps")
    # The first answer is the progress indicator; the page polled until the report came.
    assert steps[0] in ("queued", "reading", "ingesting", "validating"), steps
    assert steps[-1] == "done", steps
    order = ["queued", "reading", "ingesting", "validating", "done"]
    assert [order.index(s) for s in steps] == sorted(order.index(s) for s in steps), steps
    text = report.inner_text()
    assert "校验报告" in text and "税务" in text
    counts = re.search(r"读取 (\d+)，入库 (\d+)，隔离 (\d+)，跳过 (\d+)", text)
    read, stored, quarantined, skipped = (int(g) for g in counts.groups())
    assert stored > 0 and read == stored + quarantined + skipped
    assert page.locator("#upload-report a[href^='/quality']").count() == 1
    # Polling has stopped: the finished fragment carries no trigger.
    assert page.locator("#upload-job[hx-trigger]").count() == 0
    screenshot(page, "uploader-report")
