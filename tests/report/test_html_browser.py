"""The HTML report in a real headless Chromium: loads offline, no errors, charts drawn, screenshot kept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.report import write_run_reports
from tests.report.chromium import Browser, find_chromium
from tests.report.factories import canary_report

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium binary (install Debian's `chromium` or set HARNESS_CHROMIUM=/path/to/chromium)",
)

CHART_SIZES = """
Array.from(document.querySelectorAll('svg.chart')).map(svg => {
  const box = svg.getBoundingClientRect();
  const lines = Array.from(svg.querySelectorAll('polyline.series'));
  return {w: box.width, h: box.height, lines: lines.length,
          drawn: lines.filter(p => p.getTotalLength() > 0).length,
          faults: svg.querySelectorAll('rect.fault').length,
          decisions: svg.querySelectorAll('g.decision').length};
})
"""


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    assert CHROMIUM is not None
    driver = Browser(CHROMIUM, tmp_path / "profile")
    try:
        driver.open_page()
        yield driver
    finally:
        driver.close()


@pytest.mark.slow
def test_report_renders_offline_without_errors(browser: Browser, tmp_path: Path) -> None:
    """No console errors, no request beyond the file itself, three non-empty charts, a screenshot."""
    paths = write_run_reports(canary_report(), tmp_path / "run")
    url = paths["html"].resolve().as_uri()
    browser.navigate(url)
    charts = browser.evaluate(CHART_SIZES)
    shot = browser.screenshot(tmp_path / "report.png")

    assert browser.console_errors() == []
    assert browser.requested_urls() == [url]
    assert len(charts) == 3
    for chart in charts:
        assert chart["w"] > 100
        assert chart["h"] > 50
        assert chart["drawn"] == chart["lines"] > 0
        assert chart["faults"] == 1
        assert chart["decisions"] == 3
    assert shot.read_bytes().startswith(b"\x89PNG")
    assert shot.stat().st_size > 10_000
