// The journey timeline: services on a time axis, active ones first, each with its states and, under each
// state, the tasks started within it (tasks of no state under the service). Types and dispositions are named
// from the business attributes; a click (or Enter) on an item shows its details and extension values.
//
// A large customer has hundreds of items, so the list is drawn cheaply: each item is a copy of one prepared
// element filled with text, and an item's details are built, and its extension values and other facts read,
// only when it is opened (one listener for the whole list).

import { el, formatDuration, formatStamp, formatTime } from "./dom.js";

// What the timeline shows closed. The rest (estimated duration, disposition description, contact key, extension
// values) is read when an item is opened (`DETAILS`), not with the timeline.
const ITEM = "durationMs disposition started { timestamp } completed { timestamp }";
export const TIMELINE_FIELDS = `serviceId serviceType ${ITEM}
  states { stateId stateType ${ITEM} }
  tasks { taskId taskType stateId ${ITEM} }`;
// The fields of an opened item, read with `service`, `state` or `task` (`contactKey` for services only).
export const DETAILS = "estDurationMs dispositionDesc extensions";

function ms(iso) { return iso ? Date.parse(iso) : null; }

function extensionFacts(list, extensions) {
  const add = (term, value) => list.append(el("dt", {}, term), el("dd", {}, String(value)));
  for (const [name, value] of Object.entries(extensions || {})) {
    const records = Array.isArray(value) ? value : [value];
    for (const record of records) {
      for (const [attr, v] of Object.entries(record && typeof record === "object" ? record : { value: record })) {
        add(`${name}.${attr}`, typeof v === "object" && v !== null ? JSON.stringify(v) : v);
      }
    }
  }
}

function factList(item, level, nameOf) {
  const list = el("dl", { class: "facts" });
  const add = (term, value) => { if (value !== "" && value !== null && value !== undefined) list.append(el("dt", {}, term), el("dd", {}, String(value))); };
  add("Started", formatTime(item.started.timestamp));
  add("Completed", item.completed ? formatTime(item.completed.timestamp) : "");
  add("Disposition", item.disposition !== null && item.disposition !== undefined ? nameOf(`${level}.disposition`, item.disposition) : "");
  return { list, add };
}

// One item, closed: <li><details><summary>title, badge, start, duration[, disposition]</summary>…</details></li>.
const PROTO = el("li", {}, el("details", {}, el("summary", {}, el("span", { class: "title" }), el("span", {}),
  el("time", {}), el("span", { class: "duration" }))));

function entry(kind, key, title, item, level, nameOf, now) {
  const active = !item.completed;
  const li = PROTO.cloneNode(true);
  const details = li.firstChild;
  const [titleNode, badge, time, duration] = details.firstChild.childNodes;
  details.className = `${kind} ${active ? "is-active" : "is-completed"}`;
  details.dataset.key = key;
  details.dataset.status = active ? "active" : "completed";
  titleNode.textContent = title;
  badge.className = active ? "badge active" : "badge";
  badge.textContent = active ? "active" : "completed";
  time.dateTime = item.started.timestamp;
  time.textContent = formatStamp(item.started.timestamp);
  const start = ms(item.started.timestamp);
  const end = item.completed ? ms(item.completed.timestamp) : now;
  duration.textContent = formatDuration(item.durationMs !== null && item.durationMs !== undefined ? item.durationMs : end - start);
  if (item.disposition !== null && item.disposition !== undefined) {
    details.firstChild.append(el("span", { class: "disposition" }, nameOf(`${level}.disposition`, item.disposition)));
  }
  return { li, details, start, end };
}

// `detailsOf(kind, serviceId, id)` reads an opened item's other facts and extension values (DETAILS); null: none
// read. Returns the list (an <ol>, or a <p> when there are no services).
export function renderTimeline(services, nameOf, detailsOf = null) {
  if (!services.length) return el("p", { class: "timeline muted" }, "No services.");
  const now = Date.now();
  const opened = new Map();  // data-key -> what its details are built from
  const sorted = services.map((s) => ({ s, start: ms(s.started.timestamp), end: s.completed ? ms(s.completed.timestamp) : now }))
    .sort((a, b) => (!a.s.completed - !b.s.completed) * -1 || b.start - a.start);
  let axisStart = Infinity;
  let axisEnd = -Infinity;
  for (const { start, end } of sorted) { axisStart = Math.min(axisStart, start); axisEnd = Math.max(axisEnd, end); }
  const width = Math.max(axisEnd - axisStart, 1);
  const list = el("ol", { class: "timeline", "aria-label": "services, active first" });
  const items = [];
  for (const { s, start, end } of sorted) {
    const nested = document.createElement("ol");
    nested.className = "nested";
    const states = [...s.states].sort((a, b) => ms(a.started.timestamp) - ms(b.started.timestamp));
    let current = null;
    const tasksOf = new Map();
    for (const t of s.tasks) {
      const owner = t.stateId === null || t.stateId === undefined ? null : t.stateId;
      if (!tasksOf.has(owner)) tasksOf.set(owner, []);
      tasksOf.get(owner).push(t);
    }
    const task = (t) => {
      const key = `t${s.serviceId}.${t.taskId}`;
      opened.set(key, { item: t, level: "Task", kind: "task", serviceId: s.serviceId, id: t.taskId });
      return entry("task", key, `Task ${nameOf("Task.type", t.taskType)}`, t, "Task", nameOf, now).li;
    };
    for (const st of states) {
      if (!st.completed) current = st;
      const key = `s${s.serviceId}.${st.stateId}`;
      opened.set(key, { item: st, level: "State", kind: "state", serviceId: s.serviceId, id: st.stateId });
      const { li, details } = entry("state", key, `State ${nameOf("State.type", st.stateType)}`, st, "State", nameOf, now);
      const tasks = tasksOf.get(st.stateId);
      if (tasks) {
        const under = document.createElement("ol");
        under.className = "nested";
        under.append(...tasks.map(task));
        details.append(under);
      }
      nested.append(li);
    }
    const loose = tasksOf.get(null);
    if (loose) nested.append(...loose.map(task));
    const key = `v${s.serviceId}`;
    opened.set(key, { item: s, level: "Service", kind: "service", serviceId: s.serviceId, id: null });
    const { li, details } = entry("service", key, nameOf("Service.type", s.serviceType), s, "Service", nameOf, now);
    details.dataset.serviceId = String(s.serviceId);
    if (current) {
      details.firstChild.append(el("span", { class: "current-state" }, `now: ${nameOf("State.type", current.stateType)}`));
    }
    const axis = el("div", { class: "axis" });
    const bar = el("span", { class: "bar", "aria-hidden": "true" });
    bar.style.marginLeft = `${(100 * (start - axisStart)) / width}%`;
    bar.style.width = `${Math.max(0.5, (100 * (end - start)) / width)}%`;
    axis.append(bar);
    details.append(axis);
    if (nested.firstChild) details.append(nested);
    if (!s.completed) details.open = true;
    items.push(li);
  }
  // The first service's name reports when it is painted (Element Timing: bench/console.py reads it).
  if (items.length) items[0].querySelector(".title").setAttribute("elementtiming", "timeline");
  list.append(...items);
  // An item's facts are built when it is first opened (a toggle event does not bubble: caught on the way down).
  list.addEventListener("toggle", (event) => {
    const details = event.target;
    const about = details.open && !details.dataset.facts ? opened.get(details.dataset.key) : null;
    if (!about) return;
    details.dataset.facts = "shown";
    const { list: facts, add } = factList(about.item, about.level, nameOf);
    details.firstChild.after(facts);
    if (!detailsOf) return;
    details.dataset.extensions = "loading";
    detailsOf(about.kind, about.serviceId, about.id).then((more) => {
      add("Estimated duration", more.estDurationMs ? formatDuration(more.estDurationMs) : "");
      add("Disposition description", more.dispositionDesc);
      add("Contact key", more.contactKey);
      extensionFacts(facts, more.extensions);
      details.dataset.extensions = "loaded";
    }, () => { delete details.dataset.extensions; });
  }, true);
  return list;
}
