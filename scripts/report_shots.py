#!/usr/bin/env python3
"""Check the editor's report pages of a running `newsletter serve` in headless Chromium.

    python3 scripts/report_shots.py BASE_URL WEEK OUT_DIR [CLICK_URL]   (BASE_URL with user:token@)

Loads the week's report (/editor/issues/WEEK/report), the charts (/editor/reports) and the
week's draft page (/editor/issues/WEEK) at 1000 and 375 px, checks that nothing overflows
(document scrollWidth within innerWidth, and no element past the viewport's right edge), that
each page has its charts as <svg> with a <title> and a table below, and saves a full-page
screenshot of each to OUT_DIR/editor-<page>-<width>.png. Prints one line per page and width;
exits 1 on an overflow or a missing chart, 2 if Chromium, chromedriver or selenium is missing.

With CLICK_URL (a tracked link from a sent copy, /r/ID) it first opens that link as a reader
would, then reloads the report until it counts clicks (`click counted=yes clicks=N`, within
30 s: the server writes its counts every tracking.flush_seconds), or says it never did. Its
target (a real site) does not resolve here, and Chromium may follow the link again on the
error: N is at least one.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from preview_shots import check_width, start_driver  # noqa: E402  (sets SE_AVOID_STATS and SE_OFFLINE first)

WIDTHS = (1000, 375)

# Each chart: an <svg> whose <title> names it, then a table of its numbers.
CHARTS_JS = """
return Array.from(document.querySelectorAll('figure.chart')).map(f => ({
  title: (f.querySelector('svg > title') || {}).textContent || '',
  heading: (f.querySelector('h2') || {}).textContent || '',
  table: !!f.querySelector('svg ~ table.chart-data'),
  scripts: document.querySelectorAll('script').length,
}));
"""


def click_and_see_it_counted(driver, link: str, report: str) -> bool:
    """Follows the link as a reader (its target need not load), then waits for the report to count it."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    try:
        driver.get(link)
        landed = driver.current_url
    except WebDriverException as error:
        # The redirect was answered; its target (a real site) is not reachable from here.
        if "ERR_NAME_NOT_RESOLVED" not in str(error):
            raise
        landed = "an unreachable target"
    driver.get("about:blank")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        driver.get(report)
        text = driver.find_element(By.TAG_NAME, "body").text
        counted = re.search(r"(\d+) clicks \(", text)
        if counted and int(counted.group(1)) > 0:
            print(f"click counted=yes clicks={counted.group(1)} landed={landed}")
            return True
        time.sleep(0.5)
    print(f"click counted=no landed={landed}")
    return False


def main(argv: list[str]) -> int:
    if len(argv) not in (4, 5):
        print(__doc__, file=sys.stderr)
        return 64
    base, week, out = argv[1].rstrip("/"), argv[2], Path(argv[3])
    click = argv[4] if len(argv) == 5 else None
    out.mkdir(parents=True, exist_ok=True)
    pages = {
        "report": (f"{base}/editor/issues/{week}/report", 1),
        "charts": (f"{base}/editor/reports", 6),
        "issue": (f"{base}/editor/issues/{week}", 0),
    }
    # An error page that reloads itself would follow the link again and count more clicks.
    driver = start_driver(("--disable-offline-auto-reload", "--disable-offline-auto-reload-visible-only"))
    ok = True
    try:
        if click:
            ok = click_and_see_it_counted(driver, click, pages["report"][0])
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {
            "features": [{"name": "prefers-color-scheme", "value": "light"}]})
        for name, (url, charts_expected) in pages.items():
            for width in WIDTHS:
                ok = check_width(driver, url, width, out, name=f"editor-{name}") and ok
                charts = driver.execute_script(CHARTS_JS)
                complete = [c for c in charts if c["title"] and c["heading"] and c["table"] and not c["scripts"]]
                print(f"page={name} width={width} charts={len(charts)} complete={len(complete)}")
                if len(complete) < charts_expected or len(complete) != len(charts):
                    print(f"  expected {charts_expected} charts, each with a title, a heading and a table: {charts}")
                    ok = False
    finally:
        driver.quit()
    if not ok:
        print("report_shots: a page overflows or lacks a chart (see above)", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
