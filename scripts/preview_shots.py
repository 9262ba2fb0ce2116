#!/usr/bin/env python3
"""Screenshot a rendered HTML issue in headless Chromium and check that nothing overflows.

    python3 scripts/preview_shots.py HTML_FILE OUT_DIR [--widths 600,375]

For each width the viewport is set exactly (CDP Emulation.setDeviceMetricsOverride: that width,
800 px high, scale 1, mobile below 500 px), the file is loaded, document.documentElement
.scrollWidth is compared with window.innerWidth, and every element whose right edge lies past
the viewport is collected. A full-page screenshot goes to OUT_DIR/preview-<width>.png, and one
more at 600 px with prefers-color-scheme: dark to OUT_DIR/preview-600-dark.png.

Prints one line per width; exits 1 if anything overflows (naming the elements), 2 if Chromium,
chromedriver or selenium is missing (scripts/setup-browser.sh installs them). Uses Debian's
/usr/bin/chromium and /usr/bin/chromedriver; nothing but file:// and loopback is reached.
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
from pathlib import Path
from typing import NoReturn

# Before selenium is imported: no usage statistics, and Selenium Manager stays offline.
os.environ["SE_AVOID_STATS"] = "true"
os.environ["SE_OFFLINE"] = "true"

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
VIEWPORT_HEIGHT = 800
DARK_WIDTH = 600
MAX_REPORTED = 20

# The elements sticking out past the viewport, innermost first: an element is reported only if
# none of its descendants is (an overflowing cell makes its row and table overflow too).
OVERFLOW_JS = """
const limit = arguments[0];
const all = Array.from(document.body ? document.body.querySelectorAll('*') : []);
const offending = new Set(all.filter(el => {
  const r = el.getBoundingClientRect();
  return (r.width > 0 || r.height > 0) && r.right > limit + 1;
}));
const leaves = [...offending].filter(el => ![...el.querySelectorAll('*')].some(d => offending.has(d)));
return leaves.map(el => ({
  tag: el.tagName.toLowerCase(),
  right: Math.round(el.getBoundingClientRect().right),
  text: (el.textContent || '').replace(/\\s+/g, ' ').trim().slice(0, 60),
}));
"""


def fail_missing(message: str) -> NoReturn:
    print(f"preview_shots: {message}; run scripts/setup-browser.sh", file=sys.stderr)
    sys.exit(2)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("html_file", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--widths", default="600,375",
                        help="comma-separated viewport widths in CSS pixels (default 600,375)")
    args = parser.parse_args(argv)
    try:
        args.widths = [int(w) for w in args.widths.split(",") if w.strip()]
    except ValueError:
        parser.error(f"--widths: not a list of integers: {args.widths!r}")
    if not args.widths or any(w < 100 or w > 4000 for w in args.widths):
        parser.error("--widths: each width must be between 100 and 4000")
    if not args.html_file.is_file():
        parser.error(f"no such file: {args.html_file}")
    return args


def start_driver(extra_flags: tuple[str, ...] = ()):
    for binary in (CHROMIUM, CHROMEDRIVER):
        if not os.access(binary, os.X_OK):
            fail_missing(f"{binary} not found")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        fail_missing(f"the selenium package is not installed for {sys.executable}")

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--hide-scrollbars", "--force-color-profile=srgb", "--window-size=1200,800",
        # Nothing leaves the machine: no name resolves except loopback, no background traffic.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-default-apps", "--disable-extensions", "--no-first-run",
        "--no-default-browser-check", "--disable-features=Translate,OptimizationHints,MediaRouter",
        *extra_flags,
    ):
        options.add_argument(flag)
    service = Service(executable_path=CHROMEDRIVER)
    return webdriver.Chrome(service=service, options=options)


def set_viewport(driver, width: int, height: int) -> None:
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 500,
    })


def full_page_screenshot(driver, width: int, path: Path) -> None:
    height = driver.execute_script("return document.documentElement.scrollHeight")
    set_viewport(driver, width, max(int(height), 1))
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "fromSurface": True})
    path.write_bytes(base64.b64decode(shot["data"]))
    set_viewport(driver, width, VIEWPORT_HEIGHT)


def check_width(driver, url: str, width: int, out_dir: Path, suffix: str = "", name: str = "preview") -> bool:
    set_viewport(driver, width, VIEWPORT_HEIGHT)
    driver.get(url)
    scroll_width, inner_width = driver.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth]")
    # The emulated width is the limit even if a mobile viewport widened itself to fit content.
    limit = min(int(inner_width), width)
    offenders = driver.execute_script(OVERFLOW_JS, limit)
    overflow = scroll_width > limit or bool(offenders)
    shot = out_dir / f"{name}-{width}{suffix}.png"
    full_page_screenshot(driver, width, shot)
    scheme = " scheme=dark" if suffix else ""
    widened = f" innerWidth={inner_width}" if inner_width != width else ""
    print(f"width={width} scrollWidth={scroll_width} overflow={'yes' if overflow else 'no'} "
          f"screenshot={shot}{scheme}{widened}")
    for item in offenders[:MAX_REPORTED]:
        print(f"  overflowing at width={width}{scheme}: <{item['tag']}> right={item['right']}px "
              f"{item['text']!r}")
    if len(offenders) > MAX_REPORTED:
        print(f"  … and {len(offenders) - MAX_REPORTED} more")
    return not overflow


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    url = args.html_file.resolve().as_uri()
    driver = start_driver()
    ok = True
    try:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {
            "features": [{"name": "prefers-color-scheme", "value": "light"}]})
        for width in args.widths:
            ok = check_width(driver, url, width, args.out_dir) and ok
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {
            "features": [{"name": "prefers-color-scheme", "value": "dark"}]})
        ok = check_width(driver, url, DARK_WIDTH, args.out_dir, suffix="-dark") and ok
    finally:
        driver.quit()
    if not ok:
        print("preview_shots: content overflows the viewport (see above)", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
