// The journey timeline: services on a time axis, active ones first, each with its states and, under each
// state, the tasks started within it (tasks of no state under the service). Types and dispositions are named
// from the business attributes; a click (or Enter) on an item shows its details and extension values.

import { el, formatDuration, formatTime } from "./dom.js";

// Extension values are read when an item is opened (they cost a query per item), not with the timeline.
const ITEM = "durationMs estDurationMs disposition dispositionDesc started { timestamp } completed { timestamp }";
export const TIMELINE_FIELDS = `serviceId serviceType contactKey ${ITEM}
  states { stateId stateType previousStateId ${ITEM} }
  tasks { taskId taskType stateId ${ITEM} }`;

function ms(iso) { return iso ? new Date(iso).getTime() : null; }

function span(item, now) {
  const start = ms(item.started.timestamp);
  const end = item.completed ? ms(item.completed.timestamp) : now;
  return { start, end, duration: item.durationMs !== null && item.durationMs !== undefined ? item.durationMs : end - start };
}

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

function facts(item, level, nameOf) {
  const list = el("dl", { class: "facts" });
  const add = (term, value) => { if (value !== "" && value !== null && value !== undefined) list.append(el("dt", {}, term), el("dd", {}, String(value))); };
  add("Started", formatTime(item.started.timestamp));
  add("Completed", item.completed ? formatTime(item.completed.timestamp) : "");
  add("Estimated duration", item.estDurationMs ? formatDuration(item.estDurationMs) : "");
  add("Disposition", item.disposition !== null && item.disposition !== undefined ? nameOf(`${level}.disposition`, item.disposition) : "");
  add("Disposition description", item.dispositionDesc);
  if (item.contactKey) add("Contact key", item.contactKey);
  return list;
}

function entry(kind, key, title, item, level, nameOf, now, axis, children, loadExtensions) {
  const active = !item.completed;
  const { start, end, duration } = span(item, now);
  const bar = el("span", { class: "bar", "aria-hidden": "true" });
  if (axis) {
    const width = Math.max(axis.end - axis.start, 1);
    bar.style.marginLeft = `${(100 * (start - axis.start)) / width}%`;
    bar.style.width = `${Math.max(0.5, (100 * (end - start)) / width)}%`;
  }
  const summary = el("summary", {},
    el("span", { class: "title" }, title),
    el("span", { class: active ? "badge active" : "badge" }, active ? "active" : "completed"),
    el("time", { datetime: item.started.timestamp }, formatTime(item.started.timestamp)),
    el("span", { class: "duration" }, formatDuration(duration)),
    item.disposition !== null && item.disposition !== undefined
      ? el("span", { class: "disposition" }, nameOf(`${level}.disposition`, item.disposition)) : "");
  const details = el("details", { class: `${kind} ${active ? "is-active" : "is-completed"}`, "data-key": key,
    "data-status": active ? "active" : "completed" }, summary);
  const list = facts(item, level, nameOf);
  details.append(list);
  if (loadExtensions) {
    details.addEventListener("toggle", async () => {
      if (!details.open || details.dataset.extensions) return;
      details.dataset.extensions = "loading";
      try { extensionFacts(list, await loadExtensions()); details.dataset.extensions = "loaded"; }
      catch (err) { delete details.dataset.extensions; }
    });
  }
  if (axis) details.append(el("div", { class: "axis" }, bar));
  if (children && children.childElementCount) details.append(children);
  return details;
}

// `extensionsOf(kind, serviceId, id)` reads an item's extension values when it is opened (null: none shown).
export function renderTimeline(services, nameOf, extensionsOf = null) {
  const loader = (kind, serviceId, id) => (extensionsOf ? () => extensionsOf(kind, serviceId, id) : null);
  const now = Date.now();
  const sorted = [...services].sort((a, b) => (!a.completed - !b.completed) * -1
    || ms(b.started.timestamp) - ms(a.started.timestamp));
  const starts = sorted.map((s) => ms(s.started.timestamp));
  const ends = sorted.map((s) => (s.completed ? ms(s.completed.timestamp) : now));
  const axis = sorted.length ? { start: Math.min(...starts), end: Math.max(...ends) } : null;
  const list = el("ol", { class: "timeline", "aria-label": "services, active first" });
  if (!sorted.length) return el("p", { class: "timeline muted" }, "No services.");
  for (const s of sorted) {
    const nested = el("ol", { class: "nested" });
    const states = [...s.states].sort((a, b) => ms(a.started.timestamp) - ms(b.started.timestamp));
    const current = states.filter((st) => !st.completed).pop();
    for (const st of states) {
      const tasks = el("ol", { class: "nested" });
      for (const t of s.tasks.filter((t) => t.stateId === st.stateId)) {
        tasks.append(el("li", {}, entry("task", `t${s.serviceId}.${t.taskId}`, `Task ${nameOf("Task.type", t.taskType)}`,
          t, "Task", nameOf, now, null, null, loader("task", s.serviceId, t.taskId))));
      }
      nested.append(el("li", {}, entry("state", `s${s.serviceId}.${st.stateId}`, `State ${nameOf("State.type", st.stateType)}`,
        st, "State", nameOf, now, null, tasks, loader("state", s.serviceId, st.stateId))));
    }
    for (const t of s.tasks.filter((t) => t.stateId === null || t.stateId === undefined)) {
      nested.append(el("li", {}, entry("task", `t${s.serviceId}.${t.taskId}`, `Task ${nameOf("Task.type", t.taskType)}`,
        t, "Task", nameOf, now, null, null, loader("task", s.serviceId, t.taskId))));
    }
    const service = entry("service", `v${s.serviceId}`, nameOf("Service.type", s.serviceType), s, "Service", nameOf, now, axis, nested,
      loader("service", s.serviceId, null));
    service.dataset.serviceId = String(s.serviceId);
    if (!s.completed) service.open = true;
    if (current) {
      service.querySelector("summary").append(el("span", { class: "current-state" }, `now: ${nameOf("State.type", current.stateType)}`));
    }
    list.append(el("li", {}, service));
  }
  return list;
}
