#!/usr/bin/env python3
"""Log in to the editor of a running `newsletter serve` in headless Chromium, as editors would.

    python3 scripts/editor_login_flow.py BASE_URL WEEK EDITOR_EMAIL VIEWER_EMAIL PASSWORD SHOT_DIR

1. `login-csrf`: a login form posted without the login page's form_token (made in the page by a
   script, as another site's forged form would be) is refused, the page saying so, with no session.
   `login`: the editor logs in on /editor/login and lands on the issues page, named as logged in.
2. `csrf`: a form posted to the approval without the page's form_token (made in the page by a
   script, as another page's forged form would be) is refused: the page says the form has no
   form_token.
3. `viewer`: the editor logs out; the viewer logs in, opens the week's page and presses
   Approve: refused, the page naming the role needed.
Each step prints `step=... ok` and saves a screenshot; exit 1 with the page's text on a
mismatch, 2 if Chromium, chromedriver or selenium is missing (scripts/setup-browser.sh).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from preview_shots import start_driver  # noqa: E402  (sets SE_AVOID_STATS and SE_OFFLINE first)


def body_text(driver) -> str:
    """The page's text; empty while a navigation replaces the page (the old body goes stale)."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.common.by import By
    try:
        return driver.find_element(By.TAG_NAME, "body").text
    except (NoSuchElementException, StaleElementReferenceException):
        return ""


def fail(driver, step: str, message: str) -> None:
    print(f"step={step} {message}\n{body_text(driver)[:3000]}", file=sys.stderr)
    sys.exit(1)


def wait_for_text(driver, wanted: str, step: str) -> None:
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait
    try:
        # Generous: a page on a busy machine can take long; the wait ends as soon as it is there.
        WebDriverWait(driver, 60).until(lambda d: wanted in body_text(d))
    except TimeoutException:
        fail(driver, step, f"expected the page to say {wanted!r}")


def log_in(driver, base: str, email: str, password: str, step: str) -> None:
    from selenium.webdriver.common.by import By
    driver.get(f"{base}/editor/login")
    driver.find_element(By.ID, "email").send_keys(email)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "form[action='/editor/login'] button[type=submit]").click()
    wait_for_text(driver, f"{email} (", step)


def post_script_form(driver, action: str, fields: dict[str, str]) -> None:
    """Posts a form made by a script in the page: no form_token, as a forged one would lack."""
    driver.execute_script(
        """
        const form = document.createElement('form');
        form.method = 'post';
        form.action = arguments[0];
        for (const [name, value] of Object.entries(arguments[1])) {
            const input = document.createElement('input');
            input.type = 'hidden'; input.name = name; input.value = value;
            form.appendChild(input);
        }
        document.body.appendChild(form);
        form.submit();
        """,
        action, fields,
    )


def main(argv: list[str]) -> int:
    if len(argv) != 7:
        print(__doc__, file=sys.stderr)
        return 64
    base, week, editor, viewer, password, shots = argv[1:6] + [Path(argv[6])]
    shots.mkdir(parents=True, exist_ok=True)
    from selenium.webdriver.common.by import By
    driver = start_driver()
    try:
        step = "login-csrf"
        driver.get(f"{base}/editor/login")
        post_script_form(driver, "/editor/login", {"email": editor, "password": password})
        wait_for_text(driver, "The post did not come from this server's form in this browser", step)
        if driver.get_cookie("newsletter_editor") is not None:
            fail(driver, step, "a session cookie was set")
        driver.save_screenshot(str(shots / "login-csrf-refused.png"))
        print("step=login-csrf ok")

        step = "login"
        log_in(driver, base, editor, password, step)
        if "/editor/issues" not in driver.current_url:
            fail(driver, step, f"landed on {driver.current_url}")
        driver.save_screenshot(str(shots / "login.png"))
        print("step=login ok")

        step = "csrf"
        driver.get(f"{base}/editor/issues/{week}")
        page_hash = driver.find_element(By.CSS_SELECTOR, "form[action$='/approve'] input[name=hash]").get_attribute("value")
        post_script_form(driver, f"/editor/issues/{week}/approve", {"hash": page_hash})
        wait_for_text(driver, 'the form has no "form_token"', step)
        driver.save_screenshot(str(shots / "csrf-refused.png"))
        print("step=csrf ok")

        step = "viewer"
        driver.get(f"{base}/editor/issues")
        driver.find_element(By.CSS_SELECTOR, "form[action='/editor/logout'] button[type=submit]").click()
        wait_for_text(driver, "Log in to the editor", step)
        log_in(driver, base, viewer, password, step)
        driver.get(f"{base}/editor/issues/{week}")
        driver.find_element(By.CSS_SELECTOR, "form[action$='/approve'] button[type=submit]").click()
        wait_for_text(driver, "this needs the editor role", step)
        driver.save_screenshot(str(shots / "viewer-refused.png"))
        print("step=viewer ok")
        return 0
    finally:
        driver.quit()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
