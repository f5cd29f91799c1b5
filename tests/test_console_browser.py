"""The customer console in a real headless Chromium (tests/chromium.py): a screen-pop by phone number in another
format opens the customer, whose name, active service and current state show; a task started through REST appears
without reload, and after the socket drops the page reconnects and reloads; an interaction's content opens as text
and an HTML e-mail in a sandboxed frame where no script runs; interactions page and filter by service; the keyboard
reaches an interaction through named controls; times follow the browser's time zone; sign-in (held in memory only)
and sign-out with access control on; roles without readInteraction or readService see those parts absent; the
supervisors' live feed; an encrypted attribute shows in clear, and one whose stored value cannot be decrypted is
marked unreadable while the rest of the view draws. Screenshots of each view at 420 and 1280 px go to
tests/artifacts/ (git-ignored)."""

from __future__ import annotations

import gc
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.chromium import WAIT, in_browser, problems, shot
from tests.helpers import basic
from tests.profile_fixtures import PHONE, define
from tests.tcp_proxy import TcpProxy
from tests.test_encryption import KEY, _store, _stored
from tests.test_subscriptions import served_app
from ucs_graphql.access.hashing import hash_secret
from ucs_graphql.access.tasks import ALL_TASKS, READ_INTERACTION, READ_SERVICE

PASSWORD = "correct horse"
_HASH = hash_secret(PASSWORD, ln=4)
CONFIG = f"""
[[roles]]
name = "agents"
dbid = 120
tasks = {json.dumps(sorted(ALL_TASKS))}

[[roles]]
name = "clerks"
dbid = 121
tasks = {json.dumps(sorted(set(ALL_TASKS) - {READ_INTERACTION}))}

[[roles]]
name = "viewers"
dbid = 122
tasks = {json.dumps(sorted(set(ALL_TASKS) - {READ_SERVICE}))}

[[users]]
name = "viewer"
password_hash = "{_HASH}"
roles = ["viewers"]

[[users]]
name = "agent"
password_hash = "{_HASH}"
roles = ["agents"]

[[users]]
name = "clerk"
password_hash = "{_HASH}"
roles = ["clerks"]
"""
KEYS = [{"name": "idPhone", "source": "Phone", "attributes": ["PhoneNumber"], "normalize": "phone"},
        {"name": "idEmail", "attributes": ["EmailAddress"], "unique": True, "normalize": "email"},
        {"name": "idAccount", "attributes": ["AccountNumber"], "unique": True, "normalize": "casefold"}]
EVIL = '<img src=x onerror="document.body.dataset.pwned=1">Hello, my order <b>42</b> is late'
# An e-mail's HTML body whose every way to run script would set a marker, in the frame or in the page.
MARK = "document.documentElement.dataset.pwned='{0}';try{{parent.document.body.dataset.pwned='{0}'}}catch(e){{}}"
EVIL_HTML = (f'<p>Dear support,</p><script>{MARK.format("script")}</script>'
             f'<img src="x" onerror="{MARK.format("img")}"><svg onload="{MARK.format("svg")}"></svg>'
             f'<a href="javascript:{MARK.format("href")}" id="evil">click</a>'
             '<p>my parcel <b>42</b> never came</p>')


@pytest.fixture
async def open_console(database_url: str) -> AsyncIterator[dict[str, Any]]:
    async with served_app(database_url) as got:
        yield got


@pytest.fixture
async def guarded_console(database_url: str, tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    cfg = tmp_path / "ucs.toml"
    cfg.write_text(CONFIG)
    async with served_app(database_url, config_file=str(cfg)) as got:
        yield got


async def seed(base: str, headers: dict[str, str] | None = None, *, secret: str | None = None) -> dict[str, Any]:
    """A customer with a phone, a completed and an active service (a completed and an active state, tasks) and
    interactions, all through REST; with `secret`, an encrypted attribute SSN holding it."""
    async with httpx.AsyncClient(base_url=base, headers=headers or {}) as http:
        encrypted = [{"name": "SSN", "type": "string", "encrypt": True}] if secret is not None else []
        await define(http, PHONE, attributes=[{"name": "AccountNumber", "type": "string"}, *encrypted], keys=KEYS)

        async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
            got = await http.post(path, json=body)
            assert got.status_code in (200, 201, 204), (path, got.text)
            return dict(got.json()) if got.content else {}

        cid = (await post("/profiles", {"FirstName": "Ada", "LastName": "Quill", "EmailAddress": "ada@example.com",
                                        "AccountNumber": "AC-1042", **({"SSN": secret} if secret is not None else {}),
                                        "Phone": [{"PhoneNumber": "+33314592653", "PhoneType": 1}]}))["customer_id"]
        old = (await post("/services/start", {"service_type": 4, "customer_id": cid}))["service_id"]
        await post(f"/services/{old}/end", {"disposition": 1})
        sid = (await post("/services/start", {"service_type": 3, "customer_id": cid}))["service_id"]
        first = (await post(f"/services/{sid}/states/start", {"state_type": 1}))["state_id"]
        await post(f"/services/{sid}/tasks/start", {"task_type": 1, "state_id": first})
        await post(f"/services/{sid}/states/{first}/end", {})
        current = (await post(f"/services/{sid}/states/start", {"state_type": 2}))["state_id"]
        common = {"customer_id": cid, "status": 3, "type": "Inbound", "creator_app_id": 175}
        await post("/interactions", {**common, "entity_type": 2, "media_type": "chat", "service_id": sid,
                                     "interaction_id": "chat-1", "start_date": "2026-01-05T09:33:10.000Z",
                                     "text": EVIL})
        await post("/interactions", {**common, "entity_type": 3, "media_type": "voice", "service_id": old,
                                     "interaction_id": "call-1", "start_date": "2026-01-04T09:00:00.000Z",
                                     "phone_number": "+33314592653"})
        await post("/interactions", {**common, "entity_type": 0, "media_type": "email", "service_id": old,
                                     "interaction_id": "mail-1", "start_date": "2026-01-03T08:00:00.000Z",
                                     "subject": "Parcel 42", "text": "my parcel 42 never came",
                                     "structured_text": EVIL_HTML, "structured_text_mime": "text/html"})
        return {"cid": cid, "sid": sid, "old": old, "state": current}


def _wait_text(driver: WebDriver, css: str, *texts: str) -> str:
    def shown(d: WebDriver) -> str | None:
        found = d.find_elements(By.CSS_SELECTOR, css)
        got = " ".join(str(e.text) for e in found)
        return got if found and all(t in got for t in texts) else None
    # An element found may be replaced before its text is read (a view drawn again): look again.
    return str(WebDriverWait(driver, WAIT, ignored_exceptions=(StaleElementReferenceException,)).until(shown))


def _open_html_mail(driver: WebDriver) -> None:
    """Open the HTML e-mail: its body shows in a frame sandboxed of everything, and none of its scripts runs."""
    mail = driver.find_element(By.CSS_SELECTOR, "details[data-interaction-id='mail-1']")
    mail.find_element(By.TAG_NAME, "summary").click()
    frame = WebDriverWait(driver, WAIT).until(lambda d: mail.find_element(By.CSS_SELECTOR, "iframe.html-body"))
    assert frame.get_attribute("sandbox") == "" and frame.get_attribute("title") == "E-mail body"
    assert frame.get_attribute("srcdoc") == EVIL_HTML
    driver.switch_to.frame(frame)
    try:
        WebDriverWait(driver, WAIT).until(lambda d: "never came" in d.find_element(By.TAG_NAME, "body").text)
        driver.find_element(By.ID, "evil").click()  # a javascript: link does nothing either
        assert driver.execute_script("return document.documentElement.dataset.pwned || null") is None
        assert driver.execute_script("return window.origin") == "null"  # an opaque origin: not the server's
    finally:
        driver.switch_to.default_content()
    assert driver.execute_script("return document.body.dataset.pwned || null") is None
    assert driver.find_elements(By.CSS_SELECTOR, "details[data-interaction-id='mail-1'] iframe.html-body")


def shots(driver: WebDriver, request: pytest.FixtureRequest, name: str) -> None:
    """Screenshots of the view full screen (1280 px) and as an agent desktop's side panel (420 px), where it
    must fit the width (no sideways scrolling)."""
    for width in (420, 1280):
        driver.set_window_size(width, 900)
        WebDriverWait(driver, WAIT).until(lambda d, width=width: d.execute_script("return window.innerWidth") <= width)
        overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, (name, width, overflow)
        shot(driver, request, f"{name}-{width}")


LIVE_MS = 1000
# Records, in the page, when each timeline item whose key starts with arguments[0] first shows (epoch ms).
APPEARANCES = """
const prefix = arguments[0];
window.ucsAppeared = {};
const seen = () => {
  for (const d of document.querySelectorAll("details[data-key]")) {
    if (d.dataset.key.startsWith(prefix) && !(d.dataset.key in window.ucsAppeared)) {
      window.ucsAppeared[d.dataset.key] = performance.timeOrigin + performance.now();
    }
  }
};
seen();
new MutationObserver(seen).observe(document.body, { subtree: true, childList: true, attributes: true });
"""


def _live(driver: WebDriver) -> None:
    WebDriverWait(driver, WAIT).until(lambda d: d.execute_script("return document.body.dataset.live") == "on")


async def test_screen_pop_by_phone_shows_the_live_journey_and_interactions(page, open_console, request):
    driver = page
    base = open_console["http"]
    seeded = await seed(base)

    def pop() -> None:
        driver.get(base + "/console/identify?PhoneNumber=" + quote("+33 3 14 59 26 53"))
        _wait_text(driver, "#customer-name", "Ada Quill")
        assert driver.current_url.endswith(f"/console/customers/{seeded['cid']}")
        active = f"details.service[data-service-id='{seeded['sid']}']"
        got = _wait_text(driver, active + " > summary", "Support", "active", "now: ")
        assert "completed" not in got
        _wait_text(driver, "#profile", "ada@example.com", "+33314592653")
        first = driver.find_element(By.CSS_SELECTOR, "ol.timeline > li details.service")
        assert first.get_attribute("data-service-id") == str(seeded["sid"])  # active first
        assert driver.execute_script("return Number(document.body.dataset.timelineRendered)") > 0
        _live(driver)
        shots(driver, request, "customer")

    await in_browser(pop)
    await in_browser(lambda: driver.execute_script(APPEARANCES, f"t{seeded['sid']}."))
    async with httpx.AsyncClient(base_url=base) as http:
        sent = time.time() * 1000
        task = await http.post(f"/services/{seeded['sid']}/tasks/start", json={"task_type": 2})
        assert task.status_code == 201
    key = f"t{seeded['sid']}.{task.json()['task_id']}"

    def task_appears() -> None:
        WebDriverWait(driver, WAIT).until(lambda d: d.find_elements(By.CSS_SELECTOR, f"details[data-key='{key}']"))
        # Within a second of the write's request (the page's clock and the test's are the machine's).
        took = driver.execute_script("return window.ucsAppeared[arguments[0]]", key) - sent
        print(f"the task appeared on the page {took:.0f} ms after its request was sent")
        assert took < LIVE_MS, took
        assert driver.execute_script("return performance.getEntriesByType('navigation').length") == 1
        state = driver.find_element(By.CSS_SELECTOR, f"details[data-key='s{seeded['sid']}.{seeded['state']}']")
        state.find_element(By.TAG_NAME, "summary").click()  # its details and extension values open on click
        WebDriverWait(driver, WAIT).until(lambda d: state.get_attribute("data-extensions") == "loaded")
        assert "Started" in state.text
        shots(driver, request, "live-task")

    await in_browser(task_appears)

    def open_content() -> None:
        items = driver.find_elements(By.CSS_SELECTOR, "#interactions details.interaction")
        assert [i.get_attribute("data-interaction-id") for i in items] == ["chat-1", "call-1", "mail-1"]  # newest first
        items[0].find_element(By.TAG_NAME, "summary").click()
        shown = _wait_text(driver, "details[data-interaction-id='chat-1'] pre.text", "my order")
        assert "<img src=x" in shown and "<b>42</b>" in shown  # shown as text, never as HTML
        assert driver.execute_script("return document.body.dataset.pwned") is None
        assert not driver.find_elements(By.CSS_SELECTOR, "#interactions img, #interactions b")
        shots(driver, request, "interaction")
        _open_html_mail(driver)
        shots(driver, request, "html-mail")

    await in_browser(open_content)
    assert await in_browser(lambda: problems(driver)) == []


async def test_interactions_come_newest_first_a_page_at_a_time_and_by_service(page, open_console, request):
    driver = page
    base = open_console["http"]
    seeded = await seed(base)
    async with httpx.AsyncClient(base_url=base) as http:
        for n in range(40):  # 40 more, newer than the seeded three: 30 of the active service, 10 of the old one
            got = await http.post("/interactions", json={
                "customer_id": seeded["cid"], "status": 3, "type": "Inbound", "creator_app_id": 175,
                "entity_type": 2, "media_type": "chat", "interaction_id": f"more-{n:02d}", "text": f"message {n}",
                "service_id": seeded["sid"] if n % 4 else seeded["old"], "start_date": f"2026-02-01T10:{n:02d}:00Z"})
            assert got.status_code == 201, got.text
    newest = [f"more-{n:02d}" for n in range(39, -1, -1)] + ["chat-1", "call-1", "mail-1"]

    def shown() -> list[str]:
        return list(driver.execute_script(
            "return [...document.querySelectorAll('#interactions details.interaction')].map(e => e.dataset.interactionId)"))

    def until(count: int) -> list[str]:
        WebDriverWait(driver, WAIT).until(lambda d: len(shown()) == count)
        return shown()

    def page_through() -> None:
        driver.get(base + f"/console/customers/{seeded['cid']}")
        assert until(20) == newest[:20]
        # The timeline was drawn from the one document the shell preloaded (by GET), not asked again.
        before_mark = driver.execute_script(
            "const mark = Number(document.body.dataset.timelineRendered);"
            "return performance.getEntriesByType('resource').filter((e) => e.startTime < mark"
            " && new URL(e.name).pathname === '/graphql').map((e) => e.name)")
        assert len(before_mark) == 1 and "/graphql?query=" in before_mark[0], before_mark
        more = driver.find_element(By.ID, "interactions-more")
        more.click()
        assert until(40) == newest[:40]
        more.click()
        assert until(43) == newest
        assert not more.is_displayed()
        Select(driver.find_element(By.ID, "interaction-service")).select_by_value(str(seeded["old"]))
        of_old = [i for i in newest if i in ("call-1", "mail-1") or (i.startswith("more-") and int(i[5:]) % 4 == 0)]
        assert until(len(of_old)) == of_old
        assert not more.is_displayed()
        Select(driver.find_element(By.ID, "interaction-service")).select_by_value(str(seeded["sid"]))
        assert until(20) == [i for i in newest if i == "chat-1" or (i.startswith("more-") and int(i[5:]) % 4)][:20]
        assert more.is_displayed()
        shots(driver, request, "by-service")

    await in_browser(page_through)
    assert await in_browser(lambda: problems(driver)) == []


FOCUSABLE = "a[href], button, input, select, textarea, summary, iframe, [tabindex]"


def _unnamed(driver: WebDriver) -> list[str]:
    """The page's shown controls (anything focusable) that have no accessible name, as Chromium computes it."""
    return [str(e.get_attribute("outerHTML"))[:120] for e in driver.find_elements(By.CSS_SELECTOR, FOCUSABLE)
            if e.is_displayed() and not str(e.accessible_name or "").strip()]


def _tab(driver: WebDriver, times: int = 1) -> Any:
    for _ in range(times):
        ActionChains(driver).send_keys(Keys.TAB).perform()
    return driver.switch_to.active_element


async def test_the_keyboard_goes_from_search_to_an_interaction_through_named_controls(page, open_console, request):
    driver = page
    base = open_console["http"]
    await seed(base)

    def by_keyboard() -> None:
        driver.get(base + "/console")
        box = WebDriverWait(driver, WAIT).until(lambda d: d.find_element(By.ID, "search-value"))
        assert driver.switch_to.active_element == box  # the search box has the focus on arrival
        assert _unnamed(driver) == []
        box.send_keys("ada@example.com" + Keys.ENTER)
        _wait_text(driver, "#matches", "Ada Quill")
        assert driver.switch_to.active_element.tag_name == "h1"  # the new view's heading
        assert _unnamed(driver) == []
        found = _tab(driver)
        assert found.tag_name == "a" and found.text == "Ada Quill"
        found.send_keys(Keys.ENTER)
        _wait_text(driver, "#customer-name", "Ada Quill")
        assert driver.switch_to.active_element.get_attribute("id") == "customer-name"
        WebDriverWait(driver, WAIT).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#interactions details.interaction"))
        jump = _tab(driver, 3)  # Profile, Journey, Interactions: past the timeline
        assert jump.text == "Interactions"
        jump.send_keys(Keys.ENTER)
        assert driver.switch_to.active_element.get_attribute("id") == "interactions"
        assert _tab(driver).get_attribute("id") == "interaction-service"
        first = _tab(driver)
        assert first.tag_name == "summary" and "chat" in first.text
        first.send_keys(Keys.ENTER)
        _wait_text(driver, "details[data-interaction-id='chat-1'] pre.text", "my order")
        assert driver.find_element(By.CSS_SELECTOR, "details[data-interaction-id='chat-1']").get_attribute("open")
        mail = driver.find_element(By.CSS_SELECTOR, "details[data-interaction-id='mail-1'] > summary")
        mail.send_keys(Keys.ENTER)  # the HTML frame is named too
        WebDriverWait(driver, WAIT).until(lambda d: d.find_elements(By.CSS_SELECTOR, "iframe.html-body"))
        assert _unnamed(driver) == []
        shots(driver, request, "keyboard")

    await in_browser(by_keyboard)
    assert await in_browser(lambda: problems(driver)) == []


@pytest.mark.parametrize(("zone", "shown"), [("Asia/Tokyo", "06:33:10 PM GMT+9"), ("America/New_York", "04:33:10 AM EST")])
async def test_times_show_in_the_browsers_time_zone(page, open_console, zone, shown):
    driver = page
    base = open_console["http"]
    seeded = await seed(base)

    def in_zone() -> None:
        driver.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": zone})
        try:
            driver.get(base + f"/console/customers/{seeded['cid']}")
            chat = "details[data-interaction-id='chat-1'] > summary time"  # started 2026-01-05T09:33:10Z
            got = _wait_text(driver, chat, "Jan 5, 2026")
            assert shown in got, got
            assert driver.find_element(By.CSS_SELECTOR, chat).get_attribute("datetime") == "2026-01-05T09:33:10.000Z"
            # The timeline's items: the browser's zone too, written the same in every language.
            started = driver.find_element(By.CSS_SELECTOR, "details.service > summary time").text
            assert started.endswith(("UTC+9",) if zone == "Asia/Tokyo" else ("UTC-5", "UTC-4")), started
        finally:
            driver.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": ""})

    await in_browser(in_zone)


async def test_search_lists_matches_and_identify_offers_anonymous_services(page, open_console, request):
    driver = page
    base = open_console["http"]
    seeded = await seed(base)
    async with httpx.AsyncClient(base_url=base) as http:
        twin = await http.post("/profiles", json={"FirstName": "Bo", "LastName": "Quill",
                                                  "Phone": [{"PhoneNumber": "0033 3 14 59 26 53"}]})
        assert twin.status_code == 201
        anon = await http.post("/services/start", json={"service_type": 1, "contact_key": "+15550100"})
        assert anon.status_code == 201

    def search() -> None:
        driver.get(base + "/console")
        box = WebDriverWait(driver, WAIT).until(lambda d: d.find_element(By.ID, "search-value"))
        box.send_keys("ADA@example.com\n")
        _wait_text(driver, "#matches", "Ada Quill")
        driver.find_element(By.LINK_TEXT, "Ada Quill").click()
        _wait_text(driver, "#customer-name", "Ada Quill")
        for typed in ("ac-1042", "+33 3 14 59 26 53"):  # an account number in another case, a phone number
            box = driver.find_element(By.ID, "search-value")
            box.clear()
            box.send_keys(typed + "\n")
            _wait_text(driver, "#matches", "Ada Quill", typed)
        driver.get(base + "/console/identify?PhoneNumber=" + quote("+33314592653"))
        got = _wait_text(driver, "#matches", "Ada Quill", "Bo Quill")
        assert seeded["cid"] in got
        shots(driver, request, "matches")
        driver.get(base + "/console/identify?PhoneNumber=" + quote("+15550100"))
        _wait_text(driver, "#anonymous", "No customer found", "General inquiry")
        shots(driver, request, "anonymous")

    await in_browser(search)
    assert await in_browser(lambda: problems(driver)) == []


async def test_sign_in_and_out_and_a_role_without_interactions(page, guarded_console, request):
    driver = page
    base = guarded_console["http"]
    seeded = await seed(base, basic("agent", PASSWORD))

    def sign_in(user: str) -> None:
        WebDriverWait(driver, WAIT).until(lambda d: d.find_element(By.ID, "signin-user")).send_keys(user)
        driver.find_element(By.ID, "signin-password").send_keys(PASSWORD)
        driver.find_element(By.ID, "signin-button").click()
        _wait_text(driver, "#who", f"signed in as {user}")

    def as_agent() -> None:
        driver.get(base + f"/console/customers/{seeded['cid']}")
        _wait_text(driver, "#signin", "Sign in")
        shots(driver, request, "signin")
        sign_in("agent")
        _wait_text(driver, "#customer-name", "Ada Quill")
        WebDriverWait(driver, WAIT).until(
            lambda d: len(d.find_elements(By.CSS_SELECTOR, "#interactions details.interaction")) == 3)
        _live(driver)
        # The sign-in is held in the page's memory only: no web storage, no cookie, nothing in the URL.
        assert driver.execute_script("return [sessionStorage.length, localStorage.length, document.cookie]") == [
            0, 0, ""]
        assert "agent" not in driver.current_url and "Basic" not in driver.current_url
        # Moving between the console's views keeps it; a reload asks again.
        driver.find_element(By.CSS_SELECTOR, "a.brand").click()
        _wait_text(driver, "main", "Find a customer")
        driver.back()
        _wait_text(driver, "#customer-name", "Ada Quill")
        assert driver.execute_script("return performance.getEntriesByType('navigation').length") == 1
        driver.refresh()
        _wait_text(driver, "#signin", "Sign in")
        sign_in("agent")
        _wait_text(driver, "#customer-name", "Ada Quill")
        driver.find_element(By.ID, "signout").click()
        _wait_text(driver, "#signin", "Sign in")
        assert driver.find_element(By.ID, "who").text == "not signed in"
        assert not driver.find_elements(By.ID, "customer-name")
        assert driver.execute_script("return [sessionStorage.length, localStorage.length]") == [0, 0]

    await in_browser(as_agent)

    def as_clerk() -> None:
        sign_in("clerk")
        _wait_text(driver, "#customer-name", "Ada Quill")
        _wait_text(driver, "#journey", "Support", "active")
        assert not driver.find_elements(By.ID, "interactions")
        assert "Basic" not in driver.current_url and "Bearer" not in driver.current_url
        shots(driver, request, "no-interactions")
        driver.find_element(By.ID, "signout").click()

    await in_browser(as_clerk)

    def as_viewer() -> None:  # a role that may not read services: no journey, and a feed saying so
        sign_in("viewer")
        _wait_text(driver, "#customer-name", "Ada Quill")
        WebDriverWait(driver, WAIT).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#interactions details"))
        assert not driver.find_elements(By.ID, "journey")
        assert not driver.find_elements(By.CSS_SELECTOR, "[data-jump='journey']")
        driver.find_element(By.ID, "nav-live").click()
        _wait_text(driver, "#active-counts", "Your role may not read services.")
        assert driver.execute_script("return document.body.dataset.live") is None  # no subscription asked
        shots(driver, request, "live-refused")

    await in_browser(as_viewer)
    # Before signing in, the page's own request for data was refused (401, no password prompt): nothing else.
    assert all("status of 401" in p for p in await in_browser(lambda: problems(driver)))


TENANTS_CONFIG = CONFIG + f"""
[[users]]
name = "multi"
password_hash = "{_HASH}"
roles = ["agents"]
tenants = [2, 3]

[[users]]
name = "solo"
password_hash = "{_HASH}"
roles = ["agents"]
tenants = [3]
"""


@pytest.fixture
async def tenants_console(database_url: str, tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    cfg = tmp_path / "ucs.toml"
    cfg.write_text(TENANTS_CONFIG)
    async with served_app(database_url, config_file=str(cfg)) as got:
        yield got


async def test_a_user_of_several_tenants_chooses_one_at_sign_in(page, tenants_console, request):
    driver = page
    base = tenants_console["http"]
    seeded = await seed(base, {**basic("multi", PASSWORD), "X-Genesys-TenantId": "3"})

    def sign_in(user: str) -> None:
        WebDriverWait(driver, WAIT).until(lambda d: d.find_element(By.ID, "signin-user")).send_keys(user)
        driver.find_element(By.ID, "signin-password").send_keys(PASSWORD)
        driver.find_element(By.ID, "signin-button").click()

    def choose() -> None:
        # Neither user may use tenant 1, the default: the page offers the tenants they may use.
        driver.get(base + f"/console/customers/{seeded['cid']}")
        sign_in("multi")
        choice = WebDriverWait(driver, WAIT).until(lambda d: d.find_element(By.ID, "signin-tenant-choice"))
        assert [o.text for o in Select(choice).options] == ["2", "3"]
        assert driver.switch_to.active_element == choice and choice.accessible_name == "Tenant for multi"
        shots(driver, request, "tenant-choice")
        Select(choice).select_by_visible_text("3")
        driver.find_element(By.ID, "signin-continue").click()
        _wait_text(driver, "#who", "signed in as multi, tenant 3")
        _wait_text(driver, "#customer-name", "Ada Quill")
        _live(driver)
        driver.find_element(By.ID, "signout").click()
        # One tenant: no choice to make, the page uses it.
        sign_in("solo")
        _wait_text(driver, "#who", "signed in as solo, tenant 3")
        _wait_text(driver, "#customer-name", "Ada Quill")
        driver.find_element(By.ID, "signout").click()
        # A tenant typed at sign-in is used as it is; one the user may not use is refused with their tenants.
        sign_in("multi")
        WebDriverWait(driver, WAIT).until(lambda d: d.find_element(By.ID, "signin-tenant-choice"))
        driver.get(base + f"/console/customers/{seeded['cid']}")
        WebDriverWait(driver, WAIT).until(lambda d: d.find_element(By.ID, "signin-tenant")).send_keys("4")
        sign_in("solo")
        _wait_text(driver, "#signin-error", "may not use tenant 4", "their tenants: 3")
        driver.find_element(By.ID, "signin-tenant").clear()
        driver.find_element(By.ID, "signin-tenant").send_keys("3")
        driver.find_element(By.ID, "signin-button").click()
        _wait_text(driver, "#customer-name", "Ada Quill")

    await in_browser(choose)
    # The page's requests before each sign-in were refused (401, 403 for the tenant): nothing else went wrong.
    assert all("status of 40" in p for p in await in_browser(lambda: problems(driver)))


async def test_the_live_timeline_reconnects_and_reloads_after_the_socket_drops(page, open_console, request):
    driver = page
    base = open_console["http"]
    seeded = await seed(base)
    proxy = TcpProxy("127.0.0.1", int(base.rsplit(":", 1)[1]))
    await proxy.start()
    try:
        def open_live() -> None:
            driver.get(proxy.url_for(base) + f"/console/customers/{seeded['cid']}")
            _wait_text(driver, "#customer-name", "Ada Quill")
            _live(driver)

        await in_browser(open_live)
        proxy.cut("reset")
        await in_browser(lambda: WebDriverWait(driver, WAIT).until(
            lambda d: d.execute_script("return document.body.dataset.live") == "off"))
        async with httpx.AsyncClient(base_url=base) as http:  # the change the page misses while it is cut off
            task = await http.post(f"/services/{seeded['sid']}/tasks/start", json={"task_type": 2})
            assert task.status_code == 201
        proxy.restore()
        key = f"t{seeded['sid']}.{task.json()['task_id']}"

        def reloaded() -> None:
            _live(driver)
            WebDriverWait(driver, WAIT).until(lambda d: d.find_elements(By.CSS_SELECTOR, f"details[data-key='{key}']"))
            assert driver.execute_script("return performance.getEntriesByType('navigation').length") == 1
            shots(driver, request, "reconnected")

        await in_browser(reloaded)
        await in_browser(lambda: driver.get("about:blank"))
    finally:
        await proxy.close()


async def test_the_live_feed_counts_active_services_and_lists_the_tenants_events(page, open_console, request):
    driver = page
    base = open_console["http"]
    seeded = await seed(base)  # one active service: Support
    proxy = TcpProxy("127.0.0.1", int(base.rsplit(":", 1)[1]))
    await proxy.start()

    def counts() -> dict[str, str]:
        return dict(driver.execute_script(
            "return Object.fromEntries([...document.querySelectorAll('#active-counts li')]"
            ".map(li => [li.dataset.serviceType, li.querySelector('.count').textContent]))"))

    def wait_counts(expected: dict[str, str]) -> None:
        WebDriverWait(driver, WAIT).until(lambda d: counts() == expected)

    try:
        def open_feed() -> None:
            driver.get(proxy.url_for(base) + "/console")
            driver.find_element(By.ID, "nav-live").click()  # the header's link, without reload
            _wait_text(driver, "#active-counts", "1 active service", "Support")
            wait_counts({"3": "1"})
            _live(driver)

        await in_browser(open_feed)
        async with httpx.AsyncClient(base_url=base) as http:
            other = await http.post("/services/start", json={"service_type": 4, "customer_id": "someone-else"})
            anon = await http.post("/services/start", json={"service_type": 3, "contact_key": "+15550100"})
            task = await http.post(f"/services/{seeded['sid']}/tasks/start", json={"task_type": 2})
            assert other.status_code == anon.status_code == task.status_code == 201

        def events_appear() -> None:
            wait_counts({"3": "2", "4": "1"})
            _wait_text(driver, "#active-counts", "3 active services", "Billing")
            _wait_text(driver, "#events ol.events", "task started", "service started", "someone-else", "anonymous")
            task_event = driver.find_element(By.CSS_SELECTOR, "#events li.event[data-kind='TASK_STARTED']")
            assert "Support" in task_event.text and seeded["cid"] in task_event.text
            shots(driver, request, "live")

        await in_browser(events_appear)
        proxy.cut("reset")
        await in_browser(lambda: WebDriverWait(driver, WAIT).until(
            lambda d: d.execute_script("return document.body.dataset.live") == "off"))
        async with httpx.AsyncClient(base_url=base) as http:  # missed while cut off: the counts reload
            done = await http.post(f"/services/{seeded['sid']}/end", json={})
            assert done.status_code == 204
        proxy.restore()

        def reloaded() -> None:
            _live(driver)
            wait_counts({"3": "1", "4": "1"})
            _wait_text(driver, "#events", "Reconnected")
            assert driver.execute_script("return performance.getEntriesByType('navigation').length") == 1
            # An event's customer opens in the console, still without reload.
            driver.find_element(By.LINK_TEXT, "someone-else").click()
            _wait_text(driver, "#customer-name", "No such customer")  # services, but no profile
            _wait_text(driver, "#journey", "Billing", "active")
            assert driver.current_url.endswith("/console/customers/someone-else")
            assert driver.execute_script("return performance.getEntriesByType('navigation').length") == 1
            driver.get("about:blank")

        await in_browser(reloaded)
    finally:
        await proxy.close()
    assert [p for p in await in_browser(lambda: problems(driver)) if "net::ERR_" not in p] == []  # but the cut


@pytest.fixture
async def encrypted_console(database_url: str) -> AsyncIterator[dict[str, Any]]:
    async with served_app(database_url, encryption_key=KEY) as got:
        yield got


async def test_an_encrypted_attribute_shows_in_clear_and_an_unreadable_one_is_marked(
        page, encrypted_console, database_url, request):
    driver = page
    base = encrypted_console["http"]
    seeded = await seed(base, secret="078-05-1120")
    cid = seeded["cid"]
    stored = await _stored(database_url, 1, cid)
    assert stored["SSN"][0].startswith("enc:r2:")  # sealed at rest

    def value_of(name: str) -> Any:
        return driver.find_element(By.XPATH, f"//section[@id='profile']//dt[.='{name}']/following-sibling::dd[1]")

    def the_rest_draws() -> None:
        _wait_text(driver, "#journey", "Support", "active")
        WebDriverWait(driver, WAIT).until(
            lambda d: len(d.find_elements(By.CSS_SELECTOR, "#interactions details.interaction")) == 3)
        _wait_text(driver, "#profile table[data-extension='Phone']", "+33314592653")
        _live(driver)

    def readable() -> None:
        driver.get(base + f"/console/customers/{cid}")
        _wait_text(driver, "#customer-name", "Ada Quill")
        _wait_text(driver, "#profile", "SSN")
        assert value_of("SSN").text == "078-05-1120"
        the_rest_draws()
        shots(driver, request, "encrypted")

    await in_browser(readable)
    # The stored value damaged: it no longer opens under the configured key.
    sealed = stored["SSN"][0]
    damaged = sealed[:-6] + ("AAAAAA" if not sealed.endswith("AAAAAA") else "BBBBBB")
    await _store(database_url, 1, cid, {**stored, "SSN": [damaged]})

    def unreadable() -> None:
        driver.get(base + f"/console/customers/{cid}")
        marker = WebDriverWait(driver, WAIT).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, "#profile .unreadable"))[0]
        assert marker.text == "unreadable"
        reason = str(marker.get_attribute("title"))
        assert "'SSN'" in reason and "cannot be decrypted" in reason, reason
        assert value_of("Customer id").text == cid
        assert driver.find_element(By.ID, "customer-name").text == cid  # not "No such customer"
        assert driver.find_elements(By.CSS_SELECTOR, "[data-jump='profile']")
        the_rest_draws()
        text = driver.find_element(By.TAG_NAME, "main").text
        assert "[object Object]" not in text and "078-05-1120" not in driver.page_source
        shots(driver, request, "unreadable")

    await in_browser(unreadable)
    assert await in_browser(lambda: problems(driver)) == []
    gc.collect()  # those coroutines are collected (and their warning ignored) within this test
