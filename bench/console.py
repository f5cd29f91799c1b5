"""How long the customer console takes to draw a large customer in Chromium: navigation to the timeline
rendered, read in the page with `performance.now()` (the page sets `document.body.dataset.timelineRendered`).

Serves a fresh database with `ucs-graphql serve`, seeds through REST one customer with SERVICES services (each
with 3 states and 3 tasks, the last service active) and INTERACTIONS interactions, then opens
`/console/customers/{id}` RUNS times in headless Chromium (Debian's chromium and chromium-driver) and prints the
median and the slowest.

    python -m bench.console --database sqlite:///./var/bench-console.db
    python -m bench.console --database postgresql://postgres@127.0.0.1:5432/bench_console
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time

import httpx
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

from bench.net import free_port

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-dev-shm-usage", "--window-size=1280,900"]


async def seed(base: str, services: int, interactions: int) -> str:
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        async def post(path: str, body: dict[str, object]) -> dict[str, object]:
            got = await http.post(path, json=body)
            got.raise_for_status()
            return dict(got.json()) if got.content else {}

        cid = str((await post("/profiles", {"FirstName": "Ada", "LastName": "Bench"}))["customer_id"])
        for n in range(services):
            sid = (await post("/services/start", {"service_type": 1 + n % 4, "customer_id": cid}))["service_id"]
            for s in range(3):
                state = (await post(f"/services/{sid}/states/start", {"state_type": 1 + s}))["state_id"]
                await post(f"/services/{sid}/tasks/start", {"task_type": 1 + s, "state_id": state})
                if s < 2 or n < services - 1:
                    await post(f"/services/{sid}/states/{state}/end", {})
            if n < services - 1:
                await post(f"/services/{sid}/end", {"disposition": 1})
        for n in range(interactions):
            await post("/interactions", {"customer_id": cid, "status": 3, "type": "Inbound", "creator_app_id": 1,
                                         "entity_type": 2, "media_type": "chat", "text": f"message {n}",
                                         "start_date": f"2026-01-01T{n // 60 % 24:02d}:{n % 60:02d}:00Z"})
        return cid


def measure(base: str, cid: str, runs: int) -> list[float]:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in [*FLAGS, f"--user-data-dir={tempfile.mkdtemp()}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        out = []
        for _ in range(runs + 1):  # the first run warms the browser's cache of the modules
            driver.get("about:blank")
            driver.get(f"{base}/console/customers/{cid}")
            got = WebDriverWait(driver, 60).until(
                lambda d: d.execute_script("return document.body.dataset.timelineRendered"))
            out.append(float(got))
        return out[1:]
    finally:
        driver.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--services", type=int, default=50)
    parser.add_argument("--interactions", type=int, default=200)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    port = free_port()
    env = {**os.environ, "UCS_ACCESS_LOG": "false"}
    server = subprocess.Popen([sys.executable, "-m", "ucs_graphql.cli", "serve", "--port", str(port),
                               "--database", args.database], env=env, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(base + "/readyz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        cid = asyncio.run(seed(base, args.services, args.interactions))
        times = measure(base, cid, args.runs)
        print(f"{args.database.split(':')[0]}: {args.services} services, {args.interactions} interactions: "
              f"navigation to timeline drawn median {statistics.median(times):.0f} ms, slowest {max(times):.0f} ms "
              f"over {len(times)} loads")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
