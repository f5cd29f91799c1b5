"""GraphiQL and /docs in a real headless Chromium (tests/chromium.py): the page loads from this server alone,
runs a query and a subscription, and signs in on the page (Basic with a tenant, then a Bearer token) when access
control is on, holding the sign-in in the page's memory only (web storage stays empty; a reload asks again).
Screenshots go to tests/artifacts/ (git-ignored)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.chromium import WAIT, in_browser, network, problems, shot
from tests.test_access import PASSWORD, TOKEN, basic
from tests.test_clients_gql import TENANT2_CONFIG
from tests.test_subscriptions import served_app


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


def _open_graphiql(driver: WebDriver, url: str) -> None:
    driver.get(url)
    WebDriverWait(driver, WAIT).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, ".graphiql-query-editor .CodeMirror"))


def _run(driver: WebDriver, query: str | None = None) -> None:
    if query is not None:
        driver.execute_script("document.querySelector('.graphiql-query-editor .CodeMirror')"
                              ".CodeMirror.setValue(arguments[0])", query)
    driver.find_element(By.CSS_SELECTOR, ".graphiql-execute-button").click()


def _storage(driver: WebDriver) -> list[Any]:
    """What the page keeps in web storage and cookies: [sessionStorage keys, localStorage keys, cookies]."""
    return list(driver.execute_script(
        "return [Object.keys(sessionStorage), Object.keys(localStorage), document.cookie]"))


def _answer_shows(driver: WebDriver, *texts: str) -> str:
    """The response pane's text once it shows every one of `texts`."""
    def shown(d: WebDriver) -> str | None:
        got = str(d.find_element(By.CSS_SELECTOR, ".graphiql-response").text)
        return got if all(t in got for t in texts) else None
    return str(WebDriverWait(driver, WAIT).until(shown))


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
    await in_browser(lambda: _open_graphiql(browser, base + "/graphql"))
    await in_browser(lambda: _run(browser))
    await in_browser(lambda: _answer_shows(browser, '"mode": "PRODUCTION"'))
    await in_browser(lambda: shot(browser, request, "query"))

    before = served["rt"].parts["events"].subscribers
    await in_browser(lambda: _run(browser, SUBSCRIPTION))
    await _wait_for_subscriber(served["rt"], before)
    async with httpx.AsyncClient(base_url=base) as http:
        started = await http.post("/services/start", json={"service_type": 1, "customer_id": "G1"})
    shown = await in_browser(lambda: _answer_shows(browser, "SERVICE_STARTED"))
    assert str(started.json()["service_id"]) in shown
    await in_browser(lambda: shot(browser, request, "subscription"))

    def open_panels() -> None:
        for label, shows in (("Show Documentation Explorer", ".graphiql-doc-explorer"),
                             ("Show GraphiQL Explorer", ".graphiql-plugin .graphiql-explorer-root")):
            browser.find_element(By.CSS_SELECTOR, f'.graphiql-sidebar button[aria-label="{label}"]').click()
            WebDriverWait(browser, WAIT).until(lambda d, shows=shows: d.find_elements(By.CSS_SELECTOR, shows))
        shot(browser, request, "explorer")

    await in_browser(open_panels)
    events = await in_browser(lambda: network(browser))
    _assert_same_origin(events, base)
    assert any(e["method"] == "Network.webSocketCreated" for e in events)
    assert await in_browser(lambda: _storage(browser)) == [[], [], ""]  # tabs and queries in memory only
    assert await in_browser(lambda: problems(browser)) == []


async def test_graphiql_signs_in_on_the_page_with_a_tenant(page, guarded, request):
    browser = page
    base = guarded["http"]
    # The page loads without credentials; the query it runs before signing in is refused, without a challenge
    # that would open the browser's password prompt.
    await in_browser(lambda: _open_graphiql(browser, base + "/graphql"))
    await in_browser(lambda: _run(browser))
    await in_browser(lambda: _answer_shows(browser, "UNAUTHENTICATED"))
    await in_browser(lambda: shot(browser, request, "signed-out"))
    early = await in_browser(lambda: problems(browser))
    assert early and all("status of 401" in p for p in early), early
    refused = [e for e in await in_browser(lambda: network(browser))
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

    await in_browser(sign_in)
    await in_browser(lambda: _run(browser, "{ serverStatus { mode } }"))
    await in_browser(lambda: _answer_shows(browser, '"mode": "PRODUCTION"'))

    before = guarded["rt"].parts["events"].subscribers
    await in_browser(lambda: _run(browser, SUBSCRIPTION))
    await _wait_for_subscriber(guarded["rt"], before)
    async with httpx.AsyncClient(base_url=base) as http:
        other = await http.post("/services/start", json={"service_type": 1, "customer_id": "G1"},
                                headers=basic("root"))
        own = await http.post("/services/start", json={"service_type": 2, "customer_id": "G1"},
                              headers={**basic("agent2"), "X-Genesys-TenantId": "2"})
        assert other.status_code == own.status_code == 201
    shown = await in_browser(lambda: _answer_shows(browser, "SERVICE_STARTED", str(own.json()["service_id"])))
    assert f'"serviceId": {other.json()["service_id"]},' not in shown  # tenant 1's event is not tenant 2's
    await in_browser(lambda: shot(browser, request, "signed-in-subscription"))
    assert await in_browser(lambda: problems(browser)) == []

    def token_sign_in() -> None:
        browser.find_element(By.ID, "ucs-signout").click()
        WebDriverWait(browser, WAIT).until(lambda d: d.find_element(By.ID, "ucs-who").text == "not signed in")
        browser.find_element(By.ID, "ucs-token").send_keys(TOKEN)
        browser.find_element(By.ID, "ucs-tenant").clear()
        browser.find_element(By.ID, "ucs-signin-button").click()
        WebDriverWait(browser, WAIT).until(lambda d: d.find_element(By.ID, "ucs-who").text == "signed in as token ivr")

    await in_browser(token_sign_in)
    await in_browser(lambda: _run(browser, "{ serverStatus { mode } }"))
    await in_browser(lambda: _answer_shows(browser, '"mode": "PRODUCTION"'))
    _assert_same_origin(await in_browser(lambda: network(browser)), base)
    # The sign-in, the queries and the variables are held in the page's memory only: a reload asks again.
    assert await in_browser(lambda: _storage(browser)) == [[], [], ""]

    def reload() -> None:
        browser.refresh()
        WebDriverWait(browser, WAIT).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, ".graphiql-query-editor .CodeMirror"))
        WebDriverWait(browser, WAIT).until(lambda d: d.find_element(By.ID, "ucs-who").text == "not signed in")
        _run(browser, "{ serverStatus { mode } }")
        _answer_shows(browser, "UNAUTHENTICATED")
        assert _storage(browser) == [[], [], ""]

    await in_browser(reload)
    # Signed out, the page reloaded the schema without credentials: refused, and nothing else went wrong.
    late = await in_browser(lambda: problems(browser))
    assert all("status of 401" in p for p in late), late


async def test_docs_open_in_the_browser(page, served, request):
    browser = page
    base = served["http"]

    def read_docs() -> list[str]:
        browser.get(base + "/docs")
        rows = WebDriverWait(browser, WAIT).until(lambda d: d.find_elements(By.CSS_SELECTOR, "table tr"))
        shot(browser, request, "docs")
        return [str(r.text) for r in rows]

    rows = await in_browser(read_docs)
    assert rows[0].startswith("Method Path Reference id Task")
    assert len(rows) > 50 and any("/server/status" in r for r in rows)
    assert await in_browser(lambda: problems(browser)) == []
