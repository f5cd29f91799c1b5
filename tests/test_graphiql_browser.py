"""GraphiQL and /docs in a real headless Chromium (Debian's `chromium` and `chromium-driver`, driven by
Selenium; the browser is never downloaded): the page loads from this server alone, runs a query and a
subscription, and signs in on the page (Basic with a tenant, then a Bearer token) when access control is on. Screenshots go to
tests/artifacts/ (git-ignored).

The app runs in this event loop (uvicorn), so every browser step runs in a thread."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.test_access import PASSWORD, TOKEN, basic
from tests.test_clients_gql import TENANT2_CONFIG
from tests.test_subscriptions import served_app

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).parent / "artifacts"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1400,900"]
WAIT = 30
T = TypeVar("T")


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    """One headless Chromium for the session, with a fresh profile."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if shutil.which(path) is None:
            pytest.fail(f"{path} is missing: install Debian's chromium and chromium-driver (make test does: "
                        "apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT)
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
async def served(database_url: str) -> AsyncIterator[dict[str, Any]]:
    async with served_app(database_url) as got:
        yield got


@pytest.fixture
async def guarded(database_url: str, tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    cfg = tmp_path / "ucs.toml"
    cfg.write_text(TENANT2_CONFIG)
    async with served_app(database_url, config_file=str(cfg)) as got:
        yield got


async def _in_browser(step: Callable[[], T]) -> T:
    return await asyncio.to_thread(step)


@pytest.fixture
async def page(browser: WebDriver) -> AsyncIterator[WebDriver]:
    """The browser with its logs emptied; left on a blank page (its sockets closed) before the server stops."""
    await _in_browser(lambda: (_network(browser), _problems(browser)))
    yield browser
    await _in_browser(lambda: browser.get("about:blank"))


def _shot(driver: WebDriver, request: pytest.FixtureRequest, name: str) -> None:
    test = request.node.name.replace("[", "-").rstrip("]")
    driver.save_screenshot(str(ARTIFACTS / f"{test}-{name}.png"))


def _open_graphiql(driver: WebDriver, url: str) -> None:
    driver.get(url)
    WebDriverWait(driver, WAIT).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, ".graphiql-query-editor .CodeMirror"))


def _run(driver: WebDriver, query: str | None = None) -> None:
    if query is not None:
        driver.execute_script("document.querySelector('.graphiql-query-editor .CodeMirror')"
                              ".CodeMirror.setValue(arguments[0])", query)
    driver.find_element(By.CSS_SELECTOR, ".graphiql-execute-button").click()


def _answer_shows(driver: WebDriver, *texts: str) -> str:
    """The response pane's text once it shows every one of `texts`."""
    def shown(d: WebDriver) -> str | None:
        got = str(d.find_element(By.CSS_SELECTOR, ".graphiql-response").text)
        return got if all(t in got for t in texts) else None
    return str(WebDriverWait(driver, WAIT).until(shown))


def _network(driver: WebDriver) -> list[dict[str, Any]]:
    """The DevTools network events logged since the last call."""
    out = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"].startswith("Network."):
            out.append(message)
    return out


def _problems(driver: WebDriver) -> list[str]:
    """Console errors (a refused script, style or connection under the page's policy is one)."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def _assert_same_origin(events: list[dict[str, Any]], base: str) -> None:
    origins = (base, base.replace("http://", "ws://"), "data:")
    urls = [e["params"]["request"]["url"] for e in events if e["method"] == "Network.requestWillBeSent"]
    urls += [e["params"]["url"] for e in events if e["method"] == "Network.webSocketCreated"]
    urls = [u for u in urls if not u.startswith(("chrome:", "about:"))]  # the browser's own start pages
    assert urls, "no request seen"
    assert [u for u in urls if not u.startswith(origins)] == []


async def _wait_for_subscriber(rt: Any, before: int) -> None:
    for _ in range(WAIT * 100):
        if rt.parts["events"].subscribers > before:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("GraphiQL's subscription never started")


SUBSCRIPTION = 'subscription { journeyEvents(customerId: "G1") { kind serviceId customerId } }'


async def test_graphiql_runs_a_query_and_a_subscription_offline(page, served, request):
    browser = page
    base = served["http"]
    await _in_browser(lambda: _open_graphiql(browser, base + "/graphql"))
    await _in_browser(lambda: _run(browser))
    await _in_browser(lambda: _answer_shows(browser, '"mode": "PRODUCTION"'))
    await _in_browser(lambda: _shot(browser, request, "query"))

    before = served["rt"].parts["events"].subscribers
    await _in_browser(lambda: _run(browser, SUBSCRIPTION))
    await _wait_for_subscriber(served["rt"], before)
    async with httpx.AsyncClient(base_url=base) as http:
        started = await http.post("/services/start", json={"service_type": 1, "customer_id": "G1"})
    shown = await _in_browser(lambda: _answer_shows(browser, "SERVICE_STARTED"))
    assert str(started.json()["service_id"]) in shown
    await _in_browser(lambda: _shot(browser, request, "subscription"))

    def open_panels() -> None:
        for label, shows in (("Show Documentation Explorer", ".graphiql-doc-explorer"),
                             ("Show GraphiQL Explorer", ".graphiql-plugin .graphiql-explorer-root")):
            browser.find_element(By.CSS_SELECTOR, f'.graphiql-sidebar button[aria-label="{label}"]').click()
            WebDriverWait(browser, WAIT).until(lambda d, shows=shows: d.find_elements(By.CSS_SELECTOR, shows))
        _shot(browser, request, "explorer")

    await _in_browser(open_panels)
    events = await _in_browser(lambda: _network(browser))
    _assert_same_origin(events, base)
    assert any(e["method"] == "Network.webSocketCreated" for e in events)
    assert await _in_browser(lambda: _problems(browser)) == []


async def test_graphiql_signs_in_on_the_page_with_a_tenant(page, guarded, request):
    browser = page
    base = guarded["http"]
    # The page loads without credentials; the query it runs before signing in is refused, without a challenge
    # that would open the browser's password prompt.
    await _in_browser(lambda: _open_graphiql(browser, base + "/graphql"))
    await _in_browser(lambda: _run(browser))
    await _in_browser(lambda: _answer_shows(browser, "UNAUTHENTICATED"))
    await _in_browser(lambda: _shot(browser, request, "signed-out"))
    early = await _in_browser(lambda: _problems(browser))
    assert early and all("status of 401" in p for p in early), early
    refused = [e for e in await _in_browser(lambda: _network(browser))
               if e["method"] == "Network.responseReceived" and e["params"]["response"]["status"] == 401]
    assert refused, "no 401 seen"
    for event in refused:
        headers = {k.lower(): v for k, v in event["params"]["response"]["headers"].items()}
        assert "basic" not in headers.get("www-authenticate", "").lower(), headers

    def sign_in() -> None:
        browser.find_element(By.ID, "ucs-user").send_keys("agent2")
        browser.find_element(By.ID, "ucs-password").send_keys(PASSWORD)
        browser.find_element(By.ID, "ucs-tenant").send_keys("2")
        browser.find_element(By.ID, "ucs-signin-button").click()
        WebDriverWait(browser, WAIT).until(
            lambda d: d.find_element(By.ID, "ucs-who").text == "signed in as agent2, tenant 2")
        _open_graphiql(browser, base + "/graphql")  # the sign-in lasts for the tab

    await _in_browser(sign_in)
    await _in_browser(lambda: _run(browser, "{ serverStatus { mode } }"))
    await _in_browser(lambda: _answer_shows(browser, '"mode": "PRODUCTION"'))

    before = guarded["rt"].parts["events"].subscribers
    await _in_browser(lambda: _run(browser, SUBSCRIPTION))
    await _wait_for_subscriber(guarded["rt"], before)
    async with httpx.AsyncClient(base_url=base) as http:
        other = await http.post("/services/start", json={"service_type": 1, "customer_id": "G1"},
                                headers=basic("root"))
        own = await http.post("/services/start", json={"service_type": 2, "customer_id": "G1"},
                              headers={**basic("agent2"), "X-Genesys-TenantId": "2"})
        assert other.status_code == own.status_code == 201
    shown = await _in_browser(lambda: _answer_shows(browser, "SERVICE_STARTED", str(own.json()["service_id"])))
    assert f'"serviceId": {other.json()["service_id"]},' not in shown  # tenant 1's event is not tenant 2's
    await _in_browser(lambda: _shot(browser, request, "signed-in-subscription"))
    assert await _in_browser(lambda: _problems(browser)) == []

    def token_sign_in() -> None:
        browser.find_element(By.ID, "ucs-signout").click()
        WebDriverWait(browser, WAIT).until(lambda d: d.find_element(By.ID, "ucs-who").text == "not signed in")
        browser.find_element(By.ID, "ucs-token").send_keys(TOKEN)
        browser.find_element(By.ID, "ucs-tenant").clear()
        browser.find_element(By.ID, "ucs-signin-button").click()
        WebDriverWait(browser, WAIT).until(lambda d: d.find_element(By.ID, "ucs-who").text == "signed in as token ivr")
        _open_graphiql(browser, base + "/graphql")

    await _in_browser(token_sign_in)
    await _in_browser(lambda: _run(browser, "{ serverStatus { mode } }"))
    await _in_browser(lambda: _answer_shows(browser, '"mode": "PRODUCTION"'))
    _assert_same_origin(await _in_browser(lambda: _network(browser)), base)
    # Signed out, the page reloaded the schema without credentials: refused, and nothing else went wrong.
    late = await _in_browser(lambda: _problems(browser))
    assert all("status of 401" in p for p in late), late


async def test_docs_open_in_the_browser(page, served, request):
    browser = page
    base = served["http"]

    def read_docs() -> list[str]:
        browser.get(base + "/docs")
        rows = WebDriverWait(browser, WAIT).until(lambda d: d.find_elements(By.CSS_SELECTOR, "table tr"))
        _shot(browser, request, "docs")
        return [str(r.text) for r in rows]

    rows = await _in_browser(read_docs)
    assert rows[0].startswith("Method Path Reference id Task")
    assert len(rows) > 50 and any("/server/status" in r for r in rows)
    assert await _in_browser(lambda: _problems(browser)) == []
