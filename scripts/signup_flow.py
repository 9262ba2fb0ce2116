#!/usr/bin/env python3
"""Drive the subscriber pages of a running `newsletter serve` in headless Chromium, as a person would.

    python3 scripts/signup_flow.py signup BASE_URL EMAIL NAME SHOT_DIR
    python3 scripts/signup_flow.py confirm CONFIRM_URL SHOT_DIR
    python3 scripts/signup_flow.py unsubscribe UNSUBSCRIBE_URL SHOT_DIR
    python3 scripts/signup_flow.py editor EDITOR_ISSUE_URL SHOT_DIR   (URL with user:token@)

signup: opens BASE_URL/, checks that the hidden trap field is not visible, types the address
and name into the labelled fields, presses Subscribe and expects "Check your inbox".
confirm / unsubscribe: open the link from the mail, expect a page with one button (a GET
changes nothing), press it, expect "You are subscribed" / "You are unsubscribed".
editor: opens an editor issue page (Basic credentials in the URL) at 1400 px and expects the
draft in two frames, 600 and 375 px wide, and the plain text.
Each step prints `step=... ok` and saves a screenshot; exit 1 with the page's text on a
mismatch, 2 if Chromium, chromedriver or selenium is missing (scripts/setup-browser.sh).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from preview_shots import start_driver  # noqa: E402  (sets SE_AVOID_STATS and SE_OFFLINE first)


def heading(driver) -> str:
    """The page's h1, or "" while a navigation is replacing the page."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.common.by import By
    try:
        return driver.find_element(By.TAG_NAME, "h1").text
    except (NoSuchElementException, StaleElementReferenceException):
        return ""


def expect_heading(driver, wanted: str, step: str) -> None:
    """Waits (after a click the next page may still be loading) for an h1 containing `wanted`."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait
    try:
        # Generous: a page on a busy machine can take long; the wait ends as soon as it is there.
        WebDriverWait(driver, 60).until(lambda d: wanted in heading(d))
    except TimeoutException:
        from selenium.webdriver.common.by import By
        print(f"step={step} expected heading containing {wanted!r}, got {heading(driver)!r}\n"
              f"{driver.find_element(By.TAG_NAME, 'body').text}", file=sys.stderr)
        sys.exit(1)


def press_the_button(driver, url: str, before: str, after: str, step: str, shots: Path) -> None:
    from selenium.webdriver.common.by import By
    driver.get(url)
    expect_heading(driver, before, step)
    buttons = driver.find_elements(By.CSS_SELECTOR, "form[method=post] button[type=submit]")
    if len(buttons) != 1:
        print(f"step={step} expected one button, found {len(buttons)}", file=sys.stderr)
        sys.exit(1)
    buttons[0].click()
    expect_heading(driver, after, step)
    driver.save_screenshot(str(shots / f"{step}.png"))
    print(f"step={step} ok")


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 64
    step = argv[1]
    shots = Path(argv[-1])
    shots.mkdir(parents=True, exist_ok=True)
    driver = start_driver()
    try:
        driver.set_window_size(420, 900)
        if step == "signup":
            from selenium.webdriver.common.by import By
            base, email, name = argv[2], argv[3], argv[4]
            driver.get(base + "/")
            expect_heading(driver, "Subscribe to", step)
            if driver.find_element(By.ID, "website").is_displayed():
                print("step=signup the trap field is visible", file=sys.stderr)
                return 1
            driver.find_element(By.CSS_SELECTOR, "label[for=email]")
            driver.find_element(By.ID, "email").send_keys(email)
            driver.find_element(By.ID, "name").send_keys(name)
            driver.save_screenshot(str(shots / "signup-form.png"))
            driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            expect_heading(driver, "Check your inbox", step)
            driver.save_screenshot(str(shots / "signup.png"))
            print("step=signup ok")
        elif step == "confirm":
            press_the_button(driver, argv[2], "Confirm your subscription", "You are subscribed", step, shots)
        elif step == "unsubscribe":
            press_the_button(driver, argv[2], "Unsubscribe from", "You are unsubscribed", step, shots)
        elif step == "editor":
            from selenium.webdriver.common.by import By
            driver.set_window_size(1400, 1000)
            driver.get(argv[2])
            frames = driver.find_elements(By.TAG_NAME, "iframe")
            widths = sorted(frame.get_property("clientWidth") for frame in frames)
            if len(frames) != 2 or not driver.find_elements(By.TAG_NAME, "pre"):
                print(f"step=editor expected two frames and the text, got {len(frames)} frames", file=sys.stderr)
                return 1
            driver.switch_to.frame(frames[0])
            inside = driver.find_element(By.TAG_NAME, "body").text
            driver.switch_to.default_content()
            if "Hi Sample Reader" not in inside:
                print(f"step=editor the frame does not show the draft: {inside[:200]!r}", file=sys.stderr)
                return 1
            driver.save_screenshot(str(shots / "editor-issue.png"))
            print(f"step=editor ok widths={widths}")
        else:
            print(f"unknown step {step!r}", file=sys.stderr)
            return 64
    finally:
        driver.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
