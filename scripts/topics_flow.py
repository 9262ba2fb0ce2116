#!/usr/bin/env python3
"""Drive the topic choice and the archive of a running `newsletter serve` in headless Chromium.

    python3 scripts/topics_flow.py signup BASE_URL EMAIL TOPIC TOPIC SHOT_DIR
    python3 scripts/topics_flow.py preferences PREFERENCES_URL UNTICK TICK SHOT_DIR
    python3 scripts/topics_flow.py pages URL NAME SHOT_DIR

signup: opens BASE_URL/, ticks the two topics by their labels, types the address, presses
Subscribe and expects "Check your inbox"; the form with its ticks is screenshotted first.
preferences: opens the page, expects exactly the signup's two topics ticked, unticks one, ticks
another, saves, expects "Saved.", then loads the page again and prints what is ticked.
pages: loads URL at 1000 and 375 px (CDP device metrics, as preview_shots.py does), checks that
nothing sticks out past the viewport and saves full-page screenshots NAME-1000.png, NAME-375.png.
Each step prints `step=... ok ...`; exit 1 on a mismatch (with the page's text), 2 if Chromium,
chromedriver or selenium is missing (scripts/setup-browser.sh).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from preview_shots import check_width, full_page_screenshot, set_viewport, start_driver  # noqa: E402
from signup_flow import expect_heading  # noqa: E402


def checkbox(driver, topic: str):
    """The topic checkbox whose label reads `topic`."""
    from selenium.webdriver.common.by import By
    for label in driver.find_elements(By.CSS_SELECTOR, "label.topic"):
        if label.text.strip() == topic:
            return label.find_element(By.CSS_SELECTOR, "input[type=checkbox]")
    print(f"no topic checkbox labelled {topic!r}", file=sys.stderr)
    sys.exit(1)


def ticked(driver) -> list[str]:
    from selenium.webdriver.common.by import By
    return sorted(label.text.strip() for label in driver.find_elements(By.CSS_SELECTOR, "label.topic")
                  if label.find_element(By.CSS_SELECTOR, "input").is_selected())


def pages(driver, url: str, name: str, shots: Path) -> int:
    fitting = [check_width(driver, url, width, shots, name=name) for width in (1000, 375)]
    if all(fitting):
        print(f"step=pages ok name={name}")
        return 0
    return 1


def main(argv: list[str]) -> int:
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 64
    step = argv[1]
    shots = Path(argv[-1])
    shots.mkdir(parents=True, exist_ok=True)
    driver = start_driver()
    try:
        from selenium.webdriver.common.by import By
        driver.set_window_size(1000, 1000)
        if step == "signup":
            base, email, first, second = argv[2:6]
            driver.get(base + "/")
            expect_heading(driver, "Subscribe to", step)
            driver.find_element(By.ID, "email").send_keys(email)
            for topic in (first, second):
                box = checkbox(driver, topic)
                box.click()
            if ticked(driver) != sorted([first, second]):
                print(f"step=signup ticked {ticked(driver)}", file=sys.stderr)
                return 1
            for width in (1000, 375):
                set_viewport(driver, width, 800)
                full_page_screenshot(driver, width, shots / f"signup-topics-{width}.png")
            driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            expect_heading(driver, "Check your inbox", step)
            print("step=signup ok")
        elif step == "preferences":
            url, untick, tick = argv[2:5]
            driver.get(url)
            expect_heading(driver, "Your preferences", step)
            before = ticked(driver)
            checkbox(driver, untick).click()
            checkbox(driver, tick).click()
            driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            expect_heading(driver, "Your preferences", step)
            if "Saved." not in driver.find_element(By.TAG_NAME, "body").text:
                print("step=preferences no 'Saved.'", file=sys.stderr)
                return 1
            driver.get(url)
            expect_heading(driver, "Your preferences", step)
            for width in (1000, 375):
                set_viewport(driver, width, 800)
                full_page_screenshot(driver, width, shots / f"preferences-topics-{width}.png")
            print(f"step=preferences ok before={json.dumps(before)} after={json.dumps(ticked(driver))}")
        elif step == "pages":
            return pages(driver, argv[2], argv[3], shots)
        else:
            print(f"unknown step {step!r}", file=sys.stderr)
            return 64
    finally:
        driver.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
