#!/usr/bin/env python3
"""Click a link of a received issue in headless Chromium, as a reader would.

    python3 scripts/click_flow.py MESSAGE_FILE LINK_TEXT EXPECTED_TEXT SHOT_DIR

Reads MESSAGE_FILE (a message as smtp-sink dumped it), takes its text/html part as a mail
client would show it, opens it, clicks the first link whose text is LINK_TEXT and waits for a
page whose body contains EXPECTED_TEXT. Prints `step=click ok href=... landed=...`; exit 1 with
what was found on a mismatch, 2 if Chromium, chromedriver or selenium is missing.
"""

from __future__ import annotations

import email
import email.policy
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from preview_shots import start_driver  # noqa: E402  (sets SE_AVOID_STATS and SE_OFFLINE first)


def html_part(path: Path) -> str:
    raw = path.read_bytes()
    # smtp-sink writes its own X- lines before the message's headers; they parse as headers too.
    message = email.message_from_bytes(raw, policy=email.policy.default)
    part = message.get_body(preferencelist=("html",))
    if part is None:
        print(f"no text/html part in {path}")
        sys.exit(1)
    return part.get_content()


def main() -> None:
    if len(sys.argv) != 5:
        print(__doc__)
        sys.exit(64)
    message, link_text, expected, shots = Path(sys.argv[1]), sys.argv[2], sys.argv[3], Path(sys.argv[4])
    shots.mkdir(parents=True, exist_ok=True)
    page = Path(tempfile.mkdtemp()) / "message.html"
    page.write_text(html_part(message), encoding="utf-8")

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver = start_driver()
    try:
        driver.get(page.as_uri())
        link = driver.find_element(By.LINK_TEXT, link_text)
        href = link.get_attribute("href")
        link.click()
        try:
            WebDriverWait(driver, 30).until(lambda d: expected in d.find_element(By.TAG_NAME, "body").text)
        except Exception:
            print(f"after clicking {href}: {driver.current_url}: {driver.find_element(By.TAG_NAME, 'body').text[:500]}")
            sys.exit(1)
        driver.save_screenshot(str(shots / "click-landed.png"))
        print(f"step=click ok href={href} landed={driver.current_url}")
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
