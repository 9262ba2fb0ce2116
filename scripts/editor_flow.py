#!/usr/bin/env python3
"""Drive the editor page of a running `newsletter serve` in headless Chromium, as an editor would.

    python3 scripts/editor_flow.py EDITOR_ISSUE_URL TEXT SHOT_DIR   (URL with user:token@)

Opens the issue page, reads the first comparison's generated summary, types TEXT into its form
and saves it, rebuilds the draft, and expects TEXT (headed "Written by the editor") in the
600 px preview frame and in the plain text, and the generated summary gone from them. Then it
goes back to the generated summary, rebuilds again, and expects the generated text back and
TEXT gone. Each step prints `step=... ok` and saves a screenshot; exit 1 with the page's text on
a mismatch, 2 if Chromium, chromedriver or selenium is missing (scripts/setup-browser.sh).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from preview_shots import start_driver  # noqa: E402  (sets SE_AVOID_STATS and SE_OFFLINE first)


def words(text: str) -> str:
    """Whitespace made single spaces: the text version wraps at 72 columns, HTML collapses lines."""
    return re.sub(r"\s+", " ", text).strip()


def fail(driver, step: str, message: str) -> None:
    from selenium.webdriver.common.by import By
    driver.switch_to.default_content()
    print(f"step={step} {message}\n{driver.find_element(By.TAG_NAME, 'body').text[:3000]}", file=sys.stderr)
    sys.exit(1)


def wait_for_notice(driver, wanted: str, step: str) -> None:
    """After a post the page is replaced (303 to the page); wait for its notice."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def notice(d) -> str:
        try:
            return d.find_element(By.CSS_SELECTOR, "p.notice").text
        except (NoSuchElementException, StaleElementReferenceException):
            return ""
    try:
        # Generous: a page on a busy machine can take long; the wait ends as soon as it is there.
        WebDriverWait(driver, 60).until(lambda d: wanted in notice(d))
    except TimeoutException:
        fail(driver, step, f"expected a notice containing {wanted!r}, got {notice(driver)!r}")


def press(driver, css: str, step: str) -> None:
    from selenium.webdriver.common.by import By
    buttons = driver.find_elements(By.CSS_SELECTOR, css)
    if not buttons:
        fail(driver, step, f"no button {css!r} on the page")
    buttons[0].click()


def previews(driver) -> tuple[str, str]:
    """The desktop frame's text and the plain-text version, as the editor sees them."""
    from selenium.webdriver.common.by import By
    frames = driver.find_elements(By.TAG_NAME, "iframe")
    driver.switch_to.frame(frames[0])
    html = driver.find_element(By.TAG_NAME, "body").text
    driver.switch_to.default_content()
    text = driver.find_element(By.CSS_SELECTOR, "figure.text pre").text
    return words(html), words(text)


def expect_in_previews(driver, present: str, absent: str, label: str | None, step: str) -> None:
    html, text = previews(driver)
    for name, shown in (("HTML frame", html), ("plain text", text)):
        if words(present) not in shown:
            fail(driver, step, f"the {name} does not show {present[:80]!r}: {shown[:600]!r}")
        if words(absent) in shown:
            fail(driver, step, f"the {name} still shows {absent[:80]!r}")
    # The label is styled in capitals in the HTML; compare without case.
    if label and label.lower() not in html.lower():
        fail(driver, step, f"the HTML frame has no heading {label!r}")


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 64
    url, mine, shots = argv[1], argv[2], Path(argv[3])
    shots.mkdir(parents=True, exist_ok=True)
    from selenium.webdriver.common.by import By
    driver = start_driver()
    try:
        driver.set_window_size(1400, 1000)
        driver.get(url)
        step = "open"
        summaries = driver.find_elements(By.CSS_SELECTOR, "ul.summaries li blockquote")
        if not summaries:
            fail(driver, step, "no summaries on the page")
        generated = summaries[0].text
        expect_in_previews(driver, generated, mine, None, step)
        print(f"step=open ok summaries={len(summaries)}")

        step = "replace"
        box = driver.find_element(By.CSS_SELECTOR, "form.edit textarea")
        if words(box.get_property("value")) != words(generated):
            fail(driver, step, "the form does not start from the summary it replaces")
        box.clear()
        box.send_keys(mine)
        driver.save_screenshot(str(shots / "editor-replace.png"))
        press(driver, "form.edit button[type=submit]", step)
        wait_for_notice(driver, "Your summary is saved", step)
        if "Your text is saved but not in the draft yet" not in driver.find_element(By.TAG_NAME, "body").text:
            fail(driver, step, "the page does not say the saved text is not in the draft yet")
        # Saved, not rebuilt: the previews still show the draft as it was.
        expect_in_previews(driver, generated, mine, None, step)
        print("step=replace ok")

        step = "rebuild"
        press(driver, "form.rebuild button[type=submit]", step)
        wait_for_notice(driver, "The draft was rebuilt", step)
        expect_in_previews(driver, mine, generated, "Written by the editor", step)
        driver.save_screenshot(str(shots / "editor-rebuilt.png"))
        print("step=rebuild ok")

        step = "revert"
        press(driver, "form.revert button[type=submit]", step)
        wait_for_notice(driver, "Back to the generated summary", step)
        press(driver, "form.rebuild button[type=submit]", step)
        wait_for_notice(driver, "The draft was rebuilt", step)
        expect_in_previews(driver, generated, mine, None, step)
        if driver.find_elements(By.CSS_SELECTOR, "form.revert"):
            fail(driver, step, "a revert button is still there")
        driver.save_screenshot(str(shots / "editor-reverted.png"))
        print("step=revert ok")
    finally:
        driver.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
