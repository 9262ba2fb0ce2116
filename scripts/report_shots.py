#!/usr/bin/env python3
"""Check the editor's report pages of a running `newsletter serve` in headless Chromium.

    python3 scripts/report_shots.py BASE_URL WEEK OUT_DIR   (BASE_URL with user:token@)

Loads the week's report (/editor/issues/WEEK/report), the charts (/editor/reports) and the
week's draft page (/editor/issues/WEEK) at 1000 and 375 px, checks that nothing overflows
(document scrollWidth within innerWidth, and no element past the viewport's right edge), that
each page has its charts as <svg> with a <title> and a table below, and saves a full-page
screenshot of each to OUT_DIR/editor-<page>-<width>.png. Prints one line per page and width;
exits 1 on an overflow or a missing chart, 2 if Chromium, chromedriver or selenium is missing.
"""

from __future__ import annotations

import sys
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


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 64
    base, week, out = argv[1].rstrip("/"), argv[2], Path(argv[3])
    out.mkdir(parents=True, exist_ok=True)
    pages = {
        "report": (f"{base}/editor/issues/{week}/report", 1),
        "charts": (f"{base}/editor/reports", 6),
        "issue": (f"{base}/editor/issues/{week}", 0),
    }
    driver = start_driver()
    ok = True
    try:
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
