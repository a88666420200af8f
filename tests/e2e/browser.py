"""Headless Debian chromium driven by Selenium (its own chromedriver: nothing is downloaded).

Also makes the dashboard screenshots under docs/screenshots against a running gateway:
    python -m tests.e2e.browser http://127.0.0.1:8080 USER PASSWORD docs/screenshots
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = os.environ.get("HUIMIN_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("HUIMIN_CHROMEDRIVER", "/usr/bin/chromedriver")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--lang=zh-CN"]


def available() -> bool:
    """Whether chromium and its driver are installed."""
    return Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists() and shutil.which("chromium") is not None


@contextmanager
def chromium(width: int = 1366, height: int = 900) -> Iterator[object]:
    """A fresh headless chromium (own profile directory), closed afterwards."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="huimin-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def login(driver: object, base: str, username: str, password: str) -> None:
    """Log in through the form."""
    from selenium.webdriver.common.by import By

    driver.get(f"{base}/login")
    driver.find_element(By.NAME, "username").send_keys(username)
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "form.login button[type=submit]").click()
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 15).until(lambda d: "/login" not in d.current_url or d.find_elements(By.CSS_SELECTOR,
                                                                                                ".problem"))
    problems = driver.find_elements(By.CSS_SELECTOR, ".problem")
    if problems:
        raise AssertionError(f"login failed: {problems[0].text}")


def full_page(driver: object, path: Path, width: int = 1366) -> None:
    """A screenshot of the whole page height."""
    height = driver.execute_script("return Math.min(document.documentElement.scrollHeight, 2400)")
    driver.set_window_size(width, max(700, height))
    driver.save_screenshot(str(path))


PAGES = [("board", "/board?year=2026"), ("project", "/projects/project-2026-01"), ("groups", "/groups?year=2026"),
         ("delegate-record", "/delegates/d001?year=2026"), ("activity", "/activities/2026-insp-08"),
         ("calendar", "/calendar?month=2026-09"), ("feedback", "/feedback?year=2026"), ("map", "/map?year=2026"),
         ("work", "/work"), ("form-schedule", "/forms/activities/schedule_activity?kind=inspection")]


def screenshots(base: str, username: str, password: str, out: Path, extra: list[tuple[str, str]] | None = None) -> None:
    """Screenshots of the main pages."""
    import time

    out.mkdir(parents=True, exist_ok=True)
    with chromium() as driver:
        login(driver, base, username, password)
        for name, path in PAGES + (extra or []):
            driver.set_window_size(1366, 800)  # measure each page from a normal window, not the last page's
            driver.get(base + path)
            time.sleep(1.2)  # let ECharts finish its entry animation
            full_page(driver, out / f"{name}.png")
            print("saved", out / f"{name}.png")


if __name__ == "__main__":
    base_url, user, pw, folder = sys.argv[1:5]
    more = [tuple(a.split("=", 1)) for a in sys.argv[5:]]
    screenshots(base_url.rstrip("/"), user, pw, Path(folder), more)  # type: ignore[arg-type]
