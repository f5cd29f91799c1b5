// The customer console (ucs_graphql/web/console.py): one page whose views follow the location.
//   /console                               the search box
//   /console/search?q=VALUE                customers any identification key finds for VALUE
//   /console/identify?ATTRIBUTE=VALUE      screen-pop: one match opens it, several are listed, none shows the
//                                          anonymous services whose contact key is VALUE
//   /console/customers/CUSTOMER_ID         the customer: profile, journey timeline (live), interactions
// Everything comes from the public GraphQL API (./api.js). What the signed-in role may not read is left out of
// the page. Text written by customers is always put in the page as text (textContent), never as HTML.

import { Unauthenticated, codeOf, currentSignin, gql, makeSignin, saveSignin, subscribe } from "./api.js";
import { clear, el, formatTime } from "./dom.js";
import { renderTimeline, TIMELINE_FIELDS } from "./timeline.js";

const root = document.body.dataset.root || "";
const guarded = document.body.dataset.access === "on";
const view = document.getElementById("view");
let stopLive = null;
let metadata = null;  // what the tab learnt of the schema: keys, attributes, business attribute names

// ---- navigation ----

function go(path, { replace = false } = {}) {
  if (replace) window.history.replaceState(null, "", path);
  else window.history.pushState(null, "", path);
  route();
}

document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-nav]");
  if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
  event.preventDefault();
  go(link.getAttribute("href"));
});
window.addEventListener("popstate", () => route());

document.getElementById("search").addEventListener("submit", (event) => {
  event.preventDefault();
  const value = document.getElementById("search-value").value.trim();
  if (value) go(`${root}/console/search?q=${encodeURIComponent(value)}`);
});

function link(path, text) {
  return el("a", { href: root + path, "data-nav": "" }, text);
}

// ---- sign-in ----

function showWho() {
  const signin = currentSignin();
  const who = document.getElementById("who");
  const out = document.getElementById("signout");
  if (!guarded) { who.textContent = ""; out.hidden = true; return; }
  who.textContent = signin ? `signed in as ${signin.who}${signin.tenant ? ", tenant " + signin.tenant : ""}`
    : "not signed in";
  out.hidden = !signin;
}

document.getElementById("signout").addEventListener("click", () => {
  saveSignin(null);
  metadata = null;
  route();
});

function signinView(message) {
  stop();
  document.title = "Sign in · ucs console";
  const error = el("p", { id: "signin-error", role: "alert" }, message || "");
  const form = el("form", { id: "signin", class: "card" },
    el("h1", {}, "Sign in"),
    el("label", { for: "signin-user" }, "User"),
    el("input", { id: "signin-user", name: "username", autocomplete: "username" }),
    el("label", { for: "signin-password" }, "Password"),
    el("input", { id: "signin-password", name: "password", type: "password", autocomplete: "current-password" }),
    el("p", { class: "muted" }, "or"),
    el("label", { for: "signin-token" }, "API token"),
    el("input", { id: "signin-token", name: "token", type: "password", autocomplete: "off" }),
    el("label", { for: "signin-tenant" }, "Tenant (blank: your first)"),
    el("input", { id: "signin-tenant", name: "tenant", inputmode: "numeric" }),
    el("button", { type: "submit", id: "signin-button" }, "Sign in"),
    error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const signin = makeSignin({
      user: form.querySelector("#signin-user").value.trim(), password: form.querySelector("#signin-password").value,
      token: form.querySelector("#signin-token").value.trim(), tenant: form.querySelector("#signin-tenant").value.trim(),
    });
    if (!signin.authorization) { error.textContent = "Give a user and password, or a token."; return; }
    try {
      const { errors } = await gql("{ __typename }", {}, signin);
      if (errors.length) { error.textContent = errors[0].message; return; }
    } catch (err) {
      error.textContent = err instanceof Unauthenticated ? "Wrong user, password or token." : String(err.message);
      return;
    }
    saveSignin(signin);
    route();
  });
  clear(view).append(form);
  showWho();
  form.querySelector("#signin-user").focus();
}

// ---- metadata (once per sign-in) ----

async function loadMetadata() {
  if (metadata) return metadata;
  const [keys, attrs, exts, business] = await Promise.all([
    gql("{ identificationKeys { name source attributes unique normalize } }"),
    gql("{ profileAttributes { name type encrypt } }"),
    gql("{ extensionSchemas(level: PROFILE) { name type attributes { name type encrypt } } }"),
    gql("{ businessAttributes }"),
  ]);
  const names = {};
  for (const attr of (business.data && business.data.businessAttributes) || []) {
    for (const cv of attr.cv_attributes || []) {
      const byValue = names[cv.toLowerCase()] = {};
      for (const value of attr.values || []) {
        byValue[String(value.dbid)] = value.display_name || value.name;
        byValue[String(value.name).toLowerCase()] = value.display_name || value.name;
      }
    }
  }
  metadata = {
    keys: (keys.data && keys.data.identificationKeys) || [],
    attributes: (attrs.data && attrs.data.profileAttributes) || [],
    extensions: (exts.data && exts.data.extensionSchemas) || [],
    names,
  };
  return metadata;
}

// The display name of a business-attribute value (`cv` such as "Service.type"), else the value itself.
function nameOf(cv, value) {
  if (value === null || value === undefined) return "";
  const byValue = metadata && metadata.names[cv.toLowerCase()];
  const key = typeof value === "string" ? value.toLowerCase() : String(value);
  return (byValue && byValue[key]) || String(value);
}

// ---- views ----

function stop() {
  if (stopLive) { stopLive(); stopLive = null; }
  delete document.body.dataset.live;
}

async function route() {
  stop();
  showWho();
  if (guarded && !currentSignin()) { signinView(); return; }
  const url = new URL(window.location.href);
  const path = url.pathname.slice(root.length).replace(/\/+$/, "");
  try {
    if (path.startsWith("/console/customers/")) {
      await customerView(decodeURIComponent(path.slice("/console/customers/".length)));
    } else if (path === "/console/identify") {
      await loadMetadata();
      const [attribute, value] = [...url.searchParams.entries()][0] || [];
      await identifyView(attribute, value);
    } else if (path === "/console/search") {
      await loadMetadata();
      await searchView(url.searchParams.get("q") || "");
    } else {
      homeView();
    }
  } catch (err) {
    if (err instanceof Unauthenticated && guarded) { saveSignin(null); metadata = null; signinView("Sign in again."); return; }
    clear(view).append(el("p", { role: "alert", class: "error" }, String(err.message || err)));
  }
}

function homeView() {
  document.title = "ucs console";
  clear(view).append(el("section", { class: "card" }, el("h1", {}, "Find a customer"),
    el("p", {}, "Type a phone number (any format), an e-mail address or an account number in the search box.")));
  document.getElementById("search-value").focus();
}

function profileName(profile) {
  const a = profile.attributes || {};
  const first = Array.isArray(a.FirstName) ? a.FirstName[0] : a.FirstName;
  const last = Array.isArray(a.LastName) ? a.LastName[0] : a.LastName;
  return [first, last].filter(Boolean).join(" ") || profile.customerId;
}

function matchList(title, profiles) {
  return el("section", { class: "card", id: "matches" }, el("h1", {}, title),
    el("ul", { class: "matches" }, ...profiles.map((p) => el("li", {},
      link(`/console/customers/${encodeURIComponent(p.customerId)}`, profileName(p)),
      el("span", { class: "muted" }, " " + p.customerId)))));
}

const IDENTIFY = `query($attributes: JSON!, $idKey: String) {
  identify(attributes: $attributes, idKey: $idKey) { customerId attributes } }`;

// Customers any single-attribute identification key finds for a typed value (keys that refuse it are skipped).
async function searchView(value) {
  document.title = `${value} · ucs console`;
  document.getElementById("search-value").value = value;
  const keys = metadata.keys.filter((k) => k.attributes.length === 1);
  const answers = await Promise.all(keys.map((k) =>
    gql(IDENTIFY, { attributes: { [k.attributes[0]]: value }, idKey: k.name })));
  const found = new Map();
  for (const answer of answers) {
    for (const p of (answer.data && answer.data.identify) || []) found.set(p.customerId, p);
  }
  if (found.size === 0) {
    clear(view).append(el("section", { class: "card", id: "matches" }, el("h1", {}, "No customer found"),
      el("p", {}, `No identification key finds "${value}".`)));
    return;
  }
  clear(view).append(matchList(`${found.size} customer${found.size > 1 ? "s" : ""} for "${value}"`, [...found.values()]));
}

// The key whose attribute an identify URL names: by its full name (Phone.PhoneNumber) or its last part.
function keyFor(attribute) {
  const wanted = attribute.toLowerCase();
  const single = metadata.keys.filter((k) => k.attributes.length === 1);
  return single.find((k) => k.attributes[0].toLowerCase() === wanted)
    || single.find((k) => k.attributes[0].toLowerCase().split(".").pop() === wanted) || null;
}

async function identifyView(attribute, value) {
  if (!attribute || !value) { homeView(); return; }
  document.title = `${value} · ucs console`;
  const key = keyFor(attribute);
  const { data, errors } = await gql(IDENTIFY, key ? { attributes: { [key.attributes[0]]: value }, idKey: key.name }
    : { attributes: { [attribute]: value } });
  if (errors.length) { clear(view).append(el("p", { role: "alert", class: "error" }, errors[0].message)); return; }
  const found = data.identify;
  if (found.length === 1) {
    go(`${root}/console/customers/${encodeURIComponent(found[0].customerId)}`, { replace: true });
    return;
  }
  if (found.length > 1) { clear(view).append(matchList(`${found.length} customers for ${attribute} ${value}`, found)); return; }
  const anon = await gql(`query($key: String!) { anonymousServices(contactKey: $key) { ${TIMELINE_FIELDS} } }`, { key: value });
  const section = el("section", { class: "card", id: "anonymous" },
    el("h1", {}, "No customer found"), el("p", {}, `No customer has ${attribute} ${value}.`));
  if (anon.data) {
    section.append(el("h2", {}, `Anonymous services with contact key ${value}`),
      renderTimeline(anon.data.anonymousServices, nameOf, extensionsOf));
  }
  clear(view).append(section);
}

// ---- the customer ----

const PROFILE = `query($id: String!, $extensions: [String!]) {
  profile(customerId: $id, extensions: $extensions) { customerId attributes extensions } }`;
const SERVICES = `query($id: String!) { customerServices(customerId: $id) { ${TIMELINE_FIELDS} } }`;
const INTERACTIONS = `query($id: String!, $offset: Int!) { customerInteractions(customerId: $id, limit: 100, offset: $offset) {
  interactionId serviceId entityType status type subType mediaType startDate endDate subject } }`;
const INTERACTION = `query($id: String!) { interaction(interactionId: $id) {
  interactionId subject text structuredText structuredTextMime binaryContentMime binaryContentSize } }`;
const KINDS = { 0: "e-mail in", 1: "e-mail out", 2: "chat", 3: "phone call", 5: "callback", 6: "cobrowse", 7: "open media" };
const SHOWN = 20;

async function allInteractions(id) {
  const all = [];
  for (let offset = 0; ; offset += 100) {
    const { data, errors } = await gql(INTERACTIONS, { id, offset });
    if (errors.length) return { errors };
    all.push(...data.customerInteractions);
    if (data.customerInteractions.length < 100) return { items: all.reverse() };  // newest first
  }
}

// The three parts load at once and each is drawn when its answer comes: the timeline first does not wait for
// the profile or the interactions. A part the role may not read is removed from the page.
async function customerView(id) {
  const servicesAnswer = gql(SERVICES, { id });
  const interactionsAnswer = allInteractions(id);
  const meta = await loadMetadata();
  const names = meta.extensions.map((e) => e.name);
  const profileAnswer = gql(PROFILE, { id, extensions: names.length ? names : null });
  const heading = el("h1", { id: "customer-name" }, id);
  const profileCard = el("section", { class: "card", id: "profile" }, el("h2", {}, "Profile"), el("p", { class: "muted" }, "Loading…"));
  const timeline = el("section", { class: "card", id: "journey", "aria-labelledby": "journey-title" },
    el("h2", { id: "journey-title" }, "Journey"));
  const interactionsCard = el("section", { class: "card", id: "interactions" }, el("h2", {}, "Interactions"));
  clear(view).append(el("div", { class: "customer" }, heading, profileCard, timeline, interactionsCard));

  const services = await servicesAnswer;
  if (services.errors.length) timeline.remove();
  else {
    const draw = (list) => {
      const old = timeline.querySelector(".timeline");
      const opened = new Set([...timeline.querySelectorAll("details[open]")].map((d) => d.dataset.key));
      const fresh = renderTimeline(list, nameOf, extensionsOf);
      for (const d of fresh.querySelectorAll("details")) if (opened.has(d.dataset.key)) d.open = true;
      if (old) old.replaceWith(fresh); else timeline.append(fresh);
      document.body.dataset.timelineRendered = String(performance.now());
    };
    draw(services.data.customerServices);
    live(id, draw);
  }

  const profile = await profileAnswer;
  if (profile.errors.length) {
    const code = codeOf(profile.errors);
    heading.textContent = code === "NOT_FOUND" ? "No such customer" : id;
    profileCard.replaceWith(el("p", { role: "alert", class: "error" }, profile.errors[0].message));
  } else {
    const p = profile.data.profile;
    heading.textContent = profileName(p);
    document.title = `${profileName(p)} · ucs console`;
    profileCard.replaceWith(profileSection(p));
  }

  const interactions = await interactionsAnswer;
  if (interactions.items) {
    interactionsCard.replaceWith(interactionSection(interactions.items, services.data ? services.data.customerServices : []));
  } else {
    interactionsCard.remove();
  }
}

const EXTENSIONS = {
  service: "query($s: Long!) { item: service(serviceId: $s) { extensions } }",
  state: "query($s: Long!, $i: Int!) { item: state(serviceId: $s, stateId: $i) { extensions } }",
  task: "query($s: Long!, $i: Int!) { item: task(serviceId: $s, taskId: $i) { extensions } }",
};

async function extensionsOf(kind, serviceId, id) {
  const { data } = await gql(EXTENSIONS[kind], { s: serviceId, i: id });
  return data ? data.item.extensions : {};
}

function live(id, draw) {
  let pending = null;
  let ready = 0;
  const reload = () => {
    window.clearTimeout(pending);
    pending = window.setTimeout(async () => {
      try {
        const { data } = await gql(SERVICES, { id });
        if (data) draw(data.customerServices);
      } catch (err) { /* the next event or reconnection reloads */ }
    }, 50);
  };
  stopLive = subscribe("subscription($id: String) { journeyEvents(customerId: $id) { kind serviceId stateId taskId } }",
    { id }, {
      onEvent: reload,
      onReady: () => { document.body.dataset.live = "on"; if (ready++ > 0) reload(); },
      onDown: () => { document.body.dataset.live = "off"; },
    });
}

function valueText(value) {
  if (value === null || value === undefined) return "";
  if (Array.isArray(value)) return value.map(valueText).join(", ");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function profileSection(p) {
  const section = el("section", { class: "card", id: "profile", "aria-labelledby": "profile-title" },
    el("h2", { id: "profile-title" }, "Profile"));
  const attrs = p.attributes || {};
  const order = metadata.attributes.map((a) => a.name).filter((n) => n in attrs);
  for (const n of Object.keys(attrs)) if (!order.includes(n)) order.push(n);
  const list = el("dl", { class: "attributes" });
  list.append(el("dt", {}, "Customer id"), el("dd", {}, p.customerId));
  for (const name of order) list.append(el("dt", {}, name), el("dd", {}, valueText(attrs[name])));
  section.append(list);
  const extensions = p.extensions || {};
  for (const schema of metadata.extensions) {
    const value = extensions[schema.name];
    if (value === undefined || value === null || (Array.isArray(value) && value.length === 0)) continue;
    const records = Array.isArray(value) ? value : [value];
    const columns = schema.attributes.length ? schema.attributes.map((a) => a.name)
      : [...new Set(records.flatMap((r) => (r && typeof r === "object" ? Object.keys(r) : [])))];
    const table = el("table", { class: "extension", "data-extension": schema.name },
      el("caption", {}, `${schema.name} (${schema.type})`));
    if (columns.length) {
      table.append(el("thead", {}, el("tr", {}, ...columns.map((c) => el("th", { scope: "col" }, c)))));
      table.append(el("tbody", {}, ...records.map((r) => el("tr", {},
        ...columns.map((c) => el("td", {}, valueText(r && typeof r === "object" ? r[c] : r)))))));
    } else {
      table.append(el("tbody", {}, ...records.map((r) => el("tr", {}, el("td", {}, valueText(r))))));
    }
    section.append(table);
  }
  return section;
}

function interactionSection(items, services) {
  const section = el("section", { class: "card", id: "interactions", "aria-labelledby": "interactions-title" },
    el("h2", { id: "interactions-title" }, `Interactions (${items.length})`));
  const filter = el("select", { id: "interaction-service" },
    el("option", { value: "" }, "every service"),
    ...services.map((s) => el("option", { value: String(s.serviceId) }, `service ${s.serviceId} · ${nameOf("Service.type", s.serviceType)}`)));
  section.append(el("label", { for: "interaction-service" }, "Service "), filter);
  const list = el("ol", { class: "interactions" });
  const more = el("button", { type: "button", id: "interactions-more" }, "Show more");
  let shown = SHOWN;
  const draw = () => {
    const chosen = filter.value ? items.filter((i) => String(i.serviceId) === filter.value) : items;
    clear(list).append(...chosen.slice(0, shown).map(interactionItem));
    more.hidden = chosen.length <= shown;
  };
  filter.addEventListener("change", () => { shown = SHOWN; draw(); });
  more.addEventListener("click", () => { shown += SHOWN; draw(); });
  section.append(list, more);
  draw();
  return section;
}

function interactionItem(i) {
  const details = el("details", { class: "interaction", "data-interaction-id": i.interactionId },
    el("summary", {}, el("time", { datetime: i.startDate }, formatTime(i.startDate)), " ",
      el("strong", {}, KINDS[i.entityType] || i.mediaType), " ", i.subject || "",
      i.serviceId !== null ? el("span", { class: "muted" }, ` service ${i.serviceId}`) : ""));
  details.addEventListener("toggle", async () => {
    if (!details.open || details.dataset.loaded) return;
    details.dataset.loaded = "1";
    const body = el("div", { class: "content" }, "Loading…");
    details.append(body);
    const { data, errors } = await gql(INTERACTION, { id: i.interactionId });
    if (errors.length || !data) { clear(body).append(el("p", { class: "error" }, errors.length ? errors[0].message : "unavailable")); return; }
    const x = data.interaction;
    clear(body);
    if (x.subject) body.append(el("p", {}, el("strong", {}, "Subject: "), x.subject));
    // Content written by customers can never run as script: text goes in as text, and an HTML body (an
    // e-mail's) into a frame sandboxed of everything (no script, an opaque origin, no forms, no navigation of
    // the page) that also keeps the page's policy (nothing loaded from elsewhere: no tracking images).
    const html = x.structuredText && /html/i.test(x.structuredTextMime || "");
    if (html) body.append(htmlFrame(x.structuredText));
    if (x.text && html) body.append(el("details", {}, el("summary", {}, "Plain text"), el("pre", { class: "text" }, x.text)));
    else if (x.text) body.append(el("pre", { class: "text" }, x.text));
    if (x.structuredText && !html) body.append(el("p", { class: "muted" }, x.structuredTextMime || "structured text"), el("pre", { class: "text" }, x.structuredText));
    if (x.binaryContentMime) body.append(el("p", { class: "muted" }, `attachment: ${x.binaryContentMime}, ${x.binaryContentSize} bytes`));
    if (!x.text && !x.structuredText && !x.binaryContentMime) body.append(el("p", { class: "muted" }, "no content"));
  });
  return el("li", {}, details);
}

// The only place markup from the data enters the page: a frame with every sandbox restriction (`sandbox=""`).
function htmlFrame(markup) {
  return el("iframe", { sandbox: "", srcdoc: markup, class: "html-body", title: "E-mail body", referrerpolicy: "no-referrer" });
}

route();
