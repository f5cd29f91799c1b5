"""How long the customer console takes to draw a large customer in Chromium: navigation to the timeline
rendered, read in the page with `performance.now()` (the page sets `document.body.dataset.timelineRendered`).

Serves a fresh database with `ucs-graphql serve`, seeds through REST one customer with SERVICES services (each
with 3 states and 3 tasks, the last service active) and INTERACTIONS interactions, then opens
`/console/customers/{id}` RUNS times in the tests' headless Chromium (`tests.chromium.launch`: Debian's chromium and
chromium-driver) and prints the median, the 90th percentile and the slowest, the load average, and the median of each
phase (shell, modules, the first GraphQL request, the page's own work).

    python -m bench.console --database sqlite:///./var/bench-console.db
    python -m bench.console --database postgresql://postgres@127.0.0.1:5432/bench_console
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from selenium.webdriver.support.ui import WebDriverWait

from bench.net import free_port
from tests.chromium import launch, missing


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


# Where a load's time went, from the page's Navigation and Resource Timing entries and its own marks: the shell's
# last byte, the modules' last byte, the page's script starting (`console:route`), the first GraphQL request's
# start and last byte, its answer parsed in the page (`console:data`); from there to the mark the page builds and
# inserts the timeline; its first item is painted a frame later (`PAINTED`).
PHASES = """
const nav = performance.getEntriesByType("navigation")[0];
const res = performance.getEntriesByType("resource");
const mods = res.filter((e) => e.name.includes("/console/assets/"));
const data = res.filter((e) => new URL(e.name).pathname.endsWith("/graphql"));
const mark = (name) => {
  const m = performance.getEntriesByName(name, "mark");
  return m.length ? m[0].startTime : null;
};
return { shell: nav.responseEnd, modules: Math.max(0, ...mods.map((e) => e.responseEnd)),
         ask: data.length ? data[0].startTime : null, answer: data.length ? data[0].responseEnd : null,
         route: mark("console:route"), data: mark("console:data"),
         requests: data.filter((e) => e.startTime < Number(document.body.dataset.timelineRendered)).length };
"""

# When the timeline's first item was painted (Element Timing: the page marks its first service `elementtiming`).
PAINTED = """
const done = arguments[arguments.length - 1];
new PerformanceObserver((list, observer) => {
  const got = list.getEntries().filter((e) => e.identifier === "timeline");
  if (got.length) { observer.disconnect(); done(got[0].renderTime || got[0].loadTime); }
}).observe({ type: "element", buffered: true });
"""

def measure(base: str, cid: str, runs: int) -> list[dict[str, float]]:
    """Each load's mark (`drawn`, ms after navigation) and its phases; the first load warms the browser's cache."""
    driver = launch(Path(tempfile.mkdtemp()), logs=False, window="1280,900")
    try:
        out = []
        for _ in range(runs + 1):
            driver.get("about:blank")
            driver.get(f"{base}/console/customers/{cid}")
            got = WebDriverWait(driver, 60).until(
                lambda d: d.execute_script("return document.body.dataset.timelineRendered"))
            painted = driver.execute_async_script(PAINTED)
            out.append({"drawn": float(got), "painted": painted, **driver.execute_script(PHASES)})
        return out[1:]
    finally:
        driver.quit()


def p90(values: list[float]) -> float:
    """The 90th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--services", type=int, default=50)
    parser.add_argument("--interactions", type=int, default=200)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    if missing():
        sys.exit(f"{', '.join(missing())} missing: install Debian's chromium and chromium-driver")
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
        loads = measure(base, cid, args.runs)
        times = [load["drawn"] for load in loads]
        print(f"{args.database.split(':')[0]}: {args.services} services, {args.interactions} interactions: "
              f"navigation to timeline drawn median {statistics.median(times):.0f} ms, p90 {p90(times):.0f} ms, "
              f"slowest {max(times):.0f} ms over {len(times)} loads; load average {os.getloadavg()[0]:.2f}")

        def median(key: str) -> float:
            return statistics.median(float(load[key] or 0) for load in loads)
        print(f"  medians: shell {median('shell'):.0f} ms, modules {median('modules'):.0f} ms, script "
              f"{median('route'):.0f} ms, first GraphQL request {median('ask'):.0f} to {median('answer'):.0f} ms, "
              f"answer in the page {median('data'):.0f} ms, drawn {median('drawn'):.0f} ms, painted "
              f"{median('painted'):.0f} ms (p90 {p90([float(load['painted'] or 0) for load in loads]):.0f} ms); "
              f"{median('requests'):.0f} request(s) before the mark")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
