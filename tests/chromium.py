"""The headless Chromium the browser tests drive (Debian's `chromium` and `chromium-driver`, through Selenium; the
browser is never downloaded): one browser per session, a `page` fixture that empties its logs before a test and
leaves it on a blank page (its sockets closed) before the server stops, and the steps the tests share.
Screenshots go to tests/artifacts/ (git-ignored).

The app under test runs in the test's event loop (uvicorn), so every browser step runs in a thread
(`in_browser`).
tests/conftest.py loads this module as a plugin, so every test can ask for `browser` and `page`; `launch` starts the
same browser outside pytest (bench/console.py)."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).parent / "artifacts"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage"]
WAIT = 30
T = TypeVar("T")


def missing() -> list[str]:
    """The programs of `launch` that are not installed."""
    return [path for path in (CHROMIUM, CHROMEDRIVER) if shutil.which(path) is None]


def launch(profile: Path, *, logs: bool = True, window: str = "1400,900") -> WebDriver:
    """Debian's headless Chromium through its chromedriver, with a fresh profile in `profile` and a window of
    `window` pixels; `logs` records the console and the DevTools network events (`problems`, `network`)."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*FLAGS, f"--window-size={window}", f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    if logs:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT)
    return driver


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    """One headless Chromium for the session, with a fresh profile."""
    for path in missing():
        pytest.fail(f"{path} is missing: install Debian's chromium and chromium-driver (make test does: "
                    "apt-get install chromium chromium-driver)")
    driver = launch(tmp_path_factory.mktemp("chromium"))
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
async def page(browser: WebDriver) -> AsyncIterator[WebDriver]:
    """The browser with its logs emptied; left on a blank page (its sockets closed) before the server stops."""
    await in_browser(lambda: (network(browser), problems(browser)))
    yield browser
    await in_browser(lambda: browser.get("about:blank"))


async def in_browser(step: Callable[[], T]) -> T:
    """Run a blocking browser step off the event loop that serves the app."""
    return await asyncio.to_thread(step)


def shot(driver: WebDriver, request: pytest.FixtureRequest, name: str) -> None:
    """Save a screenshot of the page as tests/artifacts/<test>-<name>.png."""
    test = request.node.name.replace("[", "-").rstrip("]")
    driver.save_screenshot(str(ARTIFACTS / f"{test}-{name}.png"))


def network(driver: WebDriver) -> list[dict[str, Any]]:
    """The DevTools network events logged since the last call."""
    out = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"].startswith("Network."):
            out.append(message)
    return out


def problems(driver: WebDriver) -> list[str]:
    """Console errors (a refused script, style or connection under the page's policy is one)."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
