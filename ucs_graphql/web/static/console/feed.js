// The tenant's live feed for supervisors (/console/live): how many services of each type are active, and the
// latest journey events of the whole tenant (journeyEvents without a customer or service), newest first.
// The counts are asked again when an event says a service started, was associated or completed (at most once a
// second), and when the socket reconnects; events missed while it was down cannot be asked for, so the list
// marks the gap.

import { codeOf, gql, subscribe } from "./api.js";
import { clear, el, formatTime } from "./dom.js";

const COUNTS = "{ activeServiceCounts { serviceType count } }";
const EVENTS = `subscription { journeyEvents {
  kind serviceId customerId timestamp stateId taskId fromStateId service { serviceType } } }`;
const KEEP = 50;
const CHANGES_COUNTS = new Set(["SERVICE_STARTED", "SERVICE_ASSOCIATED", "SERVICE_COMPLETED"]);

function kindText(kind) {
  return kind.toLowerCase().replace("_", " ");
}

// Draws the feed in `view`; returns the function that ends its subscription. `nameOf(cv, value)` names a type,
// `link(path, text)` makes a link the console opens without reload.
export async function liveView(view, nameOf, link) {
  document.title = "Live · ucs console";
  const countsList = el("ul", { class: "counts", "aria-label": "active services by type" });
  const total = el("p", { class: "muted", id: "active-total", role: "status" });
  const events = el("ol", { class: "events", "aria-label": "latest events, newest first" });
  const state = el("p", { class: "muted", id: "feed-state", role: "status" }, "Connecting…");
  clear(view).append(el("div", { class: "live" },
    el("h1", {}, "Live"),
    el("section", { class: "card", id: "active-counts", "aria-labelledby": "counts-title" },
      el("h2", { id: "counts-title" }, "Active services by type"), total, countsList),
    el("section", { class: "card", id: "events", "aria-labelledby": "events-title" },
      el("h2", { id: "events-title" }, "Latest events"), state, events)));

  const drawCounts = async () => {
    const { data, errors } = await gql(COUNTS);
    if (errors.length) {
      total.textContent = codeOf(errors) === "FORBIDDEN" ? "Your role may not read services." : errors[0].message;
      return false;
    }
    const counts = data.activeServiceCounts;
    const sum = counts.reduce((n, c) => n + c.count, 0);
    total.textContent = `${sum} active service${sum === 1 ? "" : "s"}`;
    clear(countsList).append(...counts.map((c) => el("li", { "data-service-type": String(c.serviceType) },
      el("span", { class: "count" }, String(c.count)), " ", nameOf("Service.type", c.serviceType))));
    document.body.dataset.countsRendered = String(performance.now());
    return true;
  };
  if (!(await drawCounts())) { state.textContent = ""; return () => {}; }

  let timer = null;
  let last = 0;
  const countsSoon = () => {
    if (timer) return;
    const wait = Math.max(0, last + 1000 - Date.now());
    timer = window.setTimeout(async () => {
      timer = null;
      last = Date.now();
      try { await drawCounts(); } catch (err) { /* the next event or reconnection asks again */ }
    }, wait);
  };

  const add = (item) => {
    events.prepend(item);
    while (events.childElementCount > KEEP) events.lastElementChild.remove();
  };
  const eventItem = (e) => {
    const type = e.service ? nameOf("Service.type", e.service.serviceType) : "";
    const what = [e.stateId !== null ? `state ${e.stateId}` : "", e.taskId !== null ? `task ${e.taskId}` : ""]
      .filter(Boolean).join(", ");
    return el("li", { class: "event", "data-kind": e.kind, "data-service-id": String(e.serviceId) },
      el("time", { datetime: e.timestamp }, formatTime(e.timestamp)), " ",
      el("strong", {}, kindText(e.kind)), " ",
      el("span", {}, `${type} (service ${e.serviceId})`), what ? el("span", { class: "muted" }, ` ${what}`) : "", " ",
      e.customerId ? link(`/console/customers/${encodeURIComponent(e.customerId)}`, e.customerId)
        : el("span", { class: "muted" }, "anonymous"));
  };

  let ready = 0;
  const stopEvents = subscribe(EVENTS, {}, {
    onEvent: (data) => {
      const e = data.journeyEvents;
      add(eventItem(e));
      if (CHANGES_COUNTS.has(e.kind)) countsSoon();
    },
    onReady: () => {
      document.body.dataset.live = "on";
      state.textContent = "Live: new events appear at the top.";
      if (ready++ > 0) {
        add(el("li", { class: "event gap muted" }, "Reconnected: events while the connection was down are not listed."));
        countsSoon();
      }
    },
    onDown: () => { document.body.dataset.live = "off"; state.textContent = "Connection lost: reconnecting…"; },
  });
  return () => { window.clearTimeout(timer); stopEvents(); };
}
