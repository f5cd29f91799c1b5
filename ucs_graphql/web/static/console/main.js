// The customer console (ucs_graphql/web/console.py): one page whose views follow the location.
//   /console                               the search box
//   /console/search?q=VALUE                customers any identification key finds for VALUE
//   /console/identify?ATTRIBUTE=VALUE      screen-pop: one match opens it, several are listed, none shows the
//                                          anonymous services whose contact key is VALUE
//   /console/customers/CUSTOMER_ID         the customer: profile, journey timeline (live), interactions
//   /console/live                          the tenant's live feed for supervisors (./feed.js)
// Everything comes from the public GraphQL API (./api.js). What the signed-in role may not read is left out of
// the page. Text written by customers is always put in the page as text (textContent), never as HTML.

import { Unauthenticated, codeOf, currentSignin, gql, makeSignin, preloaded, saveSignin, subscribe } from "./api.js";
import { clear, el, formatTime } from "./dom.js";
import { liveView } from "./feed.js";
import { DETAILS, renderTimeline, TIMELINE_FIELDS } from "./timeline.js";

const root = document.body.dataset.root || "";
const guarded = document.body.dataset.access === "on";
const view = document.getElementById("view");
let stopLive = null;
// What the page learnt of the schema for this sign-in, each part asked once: the business attributes' names
// (the timeline needs only these) and the identification keys, profile attributes and extension schemas.
let metadata = { keys: [], attributes: [], extensions: [], names: {} };
let namesAsked = null;
let schemaAsked = null;

function forget() {
  metadata = { keys: [], attributes: [], extensions: [], names: {} };
  namesAsked = schemaAsked = null;
}

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
  forget();
  route();
});

// The sign-in form. The credentials are checked with `viewer` before the page keeps them; a user who may use
// several tenants and typed none chooses one from those the server names (`viewer.tenants`, or the tenants a
// refusal for tenant 1, the default, lists in `extensions.tenants`); a user of one tenant gets it.
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
    el("label", { for: "signin-tenant" }, "Tenant (optional)"),
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
    let tenants;
    try {
      const { data, errors } = await gql("{ viewer { tenants } }", {}, signin);
      const offered = errors.length && errors[0].extensions && errors[0].extensions.tenants;
      if (errors.length && !(offered && offered.length && !signin.tenant)) { error.textContent = errors[0].message; return; }
      tenants = errors.length ? offered : data.viewer.tenants;
    } catch (err) {
      error.textContent = err instanceof Unauthenticated ? "Wrong user, password or token." : String(err.message);
      return;
    }
    if (!signin.tenant && tenants && tenants.length > 1) { tenantChoice(signin, tenants); return; }
    if (!signin.tenant && tenants && tenants.length === 1) signin.tenant = String(tenants[0]);
    saveSignin(signin);
    route();
  });
  clear(view).append(form);
  showWho();
  form.querySelector("#signin-user").focus();
}

function tenantChoice(signin, tenants) {
  const form = el("form", { id: "signin", class: "card" },
    el("h1", {}, "Choose a tenant"),
    el("label", { for: "signin-tenant-choice" }, `Tenant for ${signin.who}`),
    el("select", { id: "signin-tenant-choice", name: "tenant" },
      ...tenants.map((t) => el("option", { value: String(t) }, String(t)))),
    el("button", { type: "submit", id: "signin-continue" }, "Continue"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    signin.tenant = form.querySelector("#signin-tenant-choice").value;
    saveSignin(signin);
    route();
  });
  clear(view).append(form);
  form.querySelector("#signin-tenant-choice").focus();
}

// ---- metadata (once per sign-in) ----

function once(ask) {
  const asked = ask();
  asked.catch(() => forget());  // asked again next time (signed out, or the server was away)
  return asked;
}

function keepNames(businessAttributes) {
  const names = {};
  for (const attr of businessAttributes || []) {
    for (const cv of attr.cv_attributes || []) {
      const byValue = names[cv.toLowerCase()] = {};
      for (const value of attr.values || []) {
        byValue[String(value.dbid)] = value.display_name || value.name;
        byValue[String(value.name).toLowerCase()] = value.display_name || value.name;
      }
    }
  }
  metadata.names = names;
}

function loadNames() {
  namesAsked = namesAsked || once(async () => {
    const { data } = await gql("{ businessAttributes }");
    keepNames(data && data.businessAttributes);
  });
  return namesAsked;
}

const KEYS = "identificationKeys { name source attributes unique normalize }";
const ATTRIBUTES = "profileAttributes { name type encrypt }";
const EXTENSION_SCHEMAS = "extensionSchemas(level: PROFILE) { name type attributes { name type encrypt } }";

function loadSchema() {
  schemaAsked = schemaAsked || once(async () => {
    const [keys, attrs, exts] = await Promise.all([gql(`{ ${KEYS} }`), gql(`{ ${ATTRIBUTES} }`), gql(`{ ${EXTENSION_SCHEMAS} }`)]);
    metadata.keys = (keys.data && keys.data.identificationKeys) || [];
    metadata.attributes = (attrs.data && attrs.data.profileAttributes) || [];
    metadata.extensions = (exts.data && exts.data.extensionSchemas) || [];
  });
  return schemaAsked;
}

async function loadMetadata() {
  await Promise.all([loadNames(), loadSchema()]);
  return metadata;
}

// The display name of a business-attribute value (`cv` such as "Service.type"), else the value itself.
function nameOf(cv, value) {
  if (value === null || value === undefined) return "";
  const byValue = metadata.names[cv.toLowerCase()];
  const key = typeof value === "string" ? value.toLowerCase() : String(value);
  return (byValue && byValue[key]) || String(value);
}

// ---- views ----

function stop() {
  if (stopLive) { stopLive(); stopLive = null; }
  delete document.body.dataset.live;
}

// A view's live updates, ended when the page moves on (at once when it moved on while the view loaded).
let shown = 0;
function keepLive(asked, end) {
  if (asked === shown) stopLive = end; else end();
}

async function route() {
  performance.mark("console:route");  // the page's marks: bench/console.py reads them
  stop();
  shown += 1;
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
    } else if (path === "/console/live") {
      const mine = shown;
      await loadNames();
      keepLive(mine, await liveView(view, nameOf, link));
      focusView();
    } else {
      homeView();
    }
  } catch (err) {
    if (err instanceof Unauthenticated && guarded) { saveSignin(null); forget(); signinView("Sign in again."); return; }
    clear(view).append(el("p", { role: "alert", class: "error" }, String(err.message || err)));
  }
}

// Keyboard users land on the new view's heading, so the next Tab goes into the view.
function focusView() {
  const heading = view.querySelector("h1");
  if (!heading) return;
  heading.tabIndex = -1;
  heading.focus();
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
    focusView();
    return;
  }
  clear(view).append(matchList(`${found.size} customer${found.size > 1 ? "s" : ""} for "${value}"`, [...found.values()]));
  focusView();
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
  if (found.length > 1) {
    clear(view).append(matchList(`${found.length} customers for ${attribute} ${value}`, found));
    focusView();
    return;
  }
  const anon = await gql(`query($key: String!) { anonymousServices(contactKey: $key) { ${TIMELINE_FIELDS} } }`, { key: value });
  const section = el("section", { class: "card", id: "anonymous" },
    el("h1", {}, "No customer found"), el("p", {}, `No customer has ${attribute} ${value}.`));
  if (anon.data) {
    section.append(el("h2", {}, `Anonymous services with contact key ${value}`),
      renderTimeline(anon.data.anonymousServices, nameOf, detailsOf));
  }
  clear(view).append(section);
  focusView();
}

// ---- the customer ----

const PROFILE = `query($id: String!, $extensions: [String!]) {
  profile(customerId: $id, extensions: $extensions) { customerId attributes extensions } }`;
const PROFILE_EXTENSIONS = `query($id: String!, $extensions: [String!]) {
  profile(customerId: $id, extensions: $extensions) { extensions } }`;
// The timeline through the profile's services (every page); a role that may read services but not profiles,
// or a customer id with services but no profile, reads them with customerServices.
const SERVICE_PAGE = `services(first: 100, after: $after) { edges { node { ${TIMELINE_FIELDS} } } pageInfo { hasNextPage endCursor } }`;
const SERVICES = `query($id: String!, $after: String) { profile(customerId: $id) { ${SERVICE_PAGE} } }`;
// What the timeline needs, in one document: the profile's attributes and first page of services, and the
// business attributes' names and the profile's schema when this sign-in has not read them yet. With access
// control off, the shell of a customer's address preloads the whole of it (FIRST_PAINT in
// ucs_graphql/web/console.py, the same fields).
const FIRST_PAINT = (names, schema) => `query($id: String!, $after: String) {
  ${names ? "businessAttributes" : ""} ${schema ? `${KEYS} ${ATTRIBUTES} ${EXTENSION_SCHEMAS}` : ""}
  profile(customerId: $id) { customerId attributes ${SERVICE_PAGE} } }`;
const CUSTOMER_SERVICES = `query($id: String!) { customerServices(customerId: $id) { ${TIMELINE_FIELDS} } }`;
// Interactions newest first, a page at a time: the customer's, or one service's.
const PAGE = 20;
const IXN = `edges { node { interactionId serviceId entityType status type subType mediaType startDate endDate subject } }
  pageInfo { hasNextPage endCursor }`;
const CUSTOMER_INTERACTIONS = `query($id: String!, $after: String) { profile(customerId: $id) {
  interactions(first: ${PAGE}, after: $after) { ${IXN} } } }`;
const SERVICE_INTERACTIONS = `query($s: Long!, $after: String) { service(serviceId: $s) {
  interactions(first: ${PAGE}, after: $after) { ${IXN} } } }`;
const INTERACTION = `query($id: String!) { interaction(interactionId: $id) {
  interactionId subject text structuredText structuredTextMime binaryContentMime binaryContentSize } }`;
const KINDS = { 0: "e-mail in", 1: "e-mail out", 2: "chat", 3: "phone call", 5: "callback", 6: "cobrowse", 7: "open media" };

// Every service of the customer, after a first page already read (`page`) when given.
async function allServices(id, page = null) {
  const items = page ? page.edges.map((e) => e.node) : [];
  let after = page ? page.pageInfo.endCursor : null;
  if (page && !page.pageInfo.hasNextPage) return { items };
  for (;;) {
    const { data, errors } = await gql(SERVICES, { id, after });
    if (errors.length && after === null && ["FORBIDDEN", "NOT_FOUND"].includes(codeOf(errors))) {
      const other = await gql(CUSTOMER_SERVICES, { id });
      return other.errors.length ? { errors: other.errors } : { items: other.data.customerServices };
    }
    if (errors.length) return { errors };
    const next = data.profile.services;
    items.push(...next.edges.map((e) => e.node));
    if (!next.pageInfo.hasNextPage) return { items };
    after = next.pageInfo.endCursor;
  }
}

// One page of interactions (of one service when `serviceId` is given) and the cursor of the next (null: none).
async function interactionPage(id, serviceId, after) {
  const { data, errors } = serviceId ? await gql(SERVICE_INTERACTIONS, { s: Number(serviceId), after })
    : await gql(CUSTOMER_INTERACTIONS, { id, after });
  if (errors.length) return { errors };
  const page = serviceId ? data.service.interactions : data.profile.interactions;
  return { items: page.edges.map((e) => e.node), next: page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null };
}

// What the timeline needs, in one request (FIRST_PAINT): the profile's attributes and services and the metadata
// this sign-in has not read. Null when any of it is refused (the whole document is then refused: a role that may
// not read profiles, services or business attributes) or the customer has no profile: the view then asks for each
// part on its own.
async function firstPaint(id) {
  const mine = shown;
  const names = !namesAsked;
  const schema = !schemaAsked;
  const early = names && schema ? preloaded((variables) => variables.id === id) : null;
  const { data, errors } = await (early || gql(FIRST_PAINT(names, schema), { id, after: null }));
  if (errors.length || !data || !data.profile) return null;
  if (mine !== shown) return null;  // moved on (perhaps signed out): what it read may be another sign-in's
  if (names && !namesAsked) {
    keepNames(data.businessAttributes);
    namesAsked = Promise.resolve();
  }
  if (schema && !schemaAsked) {
    metadata.keys = data.identificationKeys;
    metadata.attributes = data.profileAttributes;
    metadata.extensions = data.extensionSchemas;
    schemaAsked = Promise.resolve();
  }
  return { profile: data.profile, services: await allServices(id, data.profile.services) };
}

// The timeline is drawn (and the page marks it drawn) as soon as the services and the names of their types are
// read; the profile's extension records and the interactions are asked after that. A part the role may not read
// is removed from the page.
async function customerView(id) {
  const mine = shown;
  const firstAnswer = firstPaint(id);
  const heading = el("h1", { id: "customer-name" }, id);
  const profileCard = el("section", { class: "card", id: "profile" }, el("h2", {}, "Profile"), el("p", { class: "muted" }, "Loading…"));
  const timeline = el("section", { class: "card", id: "journey", "aria-labelledby": "journey-title" },
    el("h2", { id: "journey-title" }, "Journey"));
  const interactionsCard = el("section", { class: "card", id: "interactions" }, el("h2", {}, "Interactions"));
  // Buttons that move the keyboard to a section, past the many items of the timeline.
  const jumps = el("nav", { class: "jump", "aria-label": "Sections" }, ...[["profile", "Profile"], ["journey", "Journey"],
    ["interactions", "Interactions"]].map(([target, text]) => {
    const button = el("button", { type: "button", class: "link", "data-jump": target }, text);
    button.addEventListener("click", () => {
      const section = document.getElementById(target);
      if (!section) return;
      section.tabIndex = -1;
      section.focus();
    });
    return button;
  }));
  const absent = (target) => { const b = jumps.querySelector(`[data-jump="${target}"]`); if (b) b.remove(); };
  // Shown while the data is on its way; the keyboard moves to the heading once the timeline is drawn (moving it
  // now would lay the page out twice).
  clear(view).append(el("div", { class: "customer" }, heading, jumps, profileCard, timeline, interactionsCard));
  const named = (p) => {
    heading.textContent = profileName(p);
    document.title = `${profileName(p)} · ucs console`;
  };

  const first = await firstAnswer;
  if (mine !== shown) return;
  performance.mark("console:data");
  let services;
  if (first) {
    named(first.profile);
    services = first.services;
  } else {
    [services] = await Promise.all([allServices(id), loadNames()]);
  }
  if (services.errors) { timeline.remove(); absent("journey"); }
  else {
    const draw = (list) => {
      const old = timeline.querySelector(".timeline");
      const opened = new Set([...timeline.querySelectorAll("details[open]")].map((d) => d.dataset.key));
      const focused = document.activeElement && document.activeElement.closest("#journey details");
      const fresh = renderTimeline(list, nameOf, detailsOf);
      if (opened.size) for (const d of fresh.querySelectorAll("details")) if (opened.has(d.dataset.key)) d.open = true;
      if (old) old.replaceWith(fresh); else timeline.append(fresh);
      if (focused) {  // keep the keyboard where it was across a live redraw
        const again = fresh.querySelector(`details[data-key="${focused.dataset.key}"] > summary`);
        if (again) again.focus();
      }
      document.body.dataset.timelineRendered = String(performance.now());
    };
    draw(services.items);
    keepLive(mine, live(id, draw));
  }
  focusView();

  // The rest of the view, after the timeline.
  const interactionsAnswer = interactionPage(id, null, null);
  await loadSchema();
  const names = metadata.extensions.map((e) => e.name);
  let profile;
  // A stored value that cannot be decrypted fails its own field only (`attributes` or `extensions`): the rest of
  // the profile is drawn, with a marker in its place.
  const unreadable = { attributes: null, extensions: null };
  const extensionsOnly = async () => {
    const more = await gql(PROFILE_EXTENSIONS, { id, extensions: names });
    unreadable.extensions = unreadableOf(more.errors, "extensions");
    return (more.data && more.data.profile && more.data.profile.extensions) || {};
  };
  if (first) {
    profile = { data: { profile: { ...first.profile, extensions: {} } }, errors: [] };
    if (names.length) profile.data.profile.extensions = await extensionsOnly();
  } else {
    profile = await gql(PROFILE, { id, extensions: names.length ? names : null });
    unreadable.attributes = unreadableOf(profile.errors, "attributes");
    unreadable.extensions = unreadableOf(profile.errors, "extensions");
    if (unreadable.attributes) {  // `attributes` is never null: the profile is, its extensions with it
      profile = { data: { profile: { customerId: id, attributes: null, extensions: names.length ? await extensionsOnly() : {} } },
        errors: [] };
    } else {
      profile.errors = profile.errors.filter((e) => e !== unreadable.extensions);
    }
  }
  if (profile.errors.length) {
    const code = codeOf(profile.errors);
    heading.textContent = code === "NOT_FOUND" ? "No such customer" : id;
    profileCard.replaceWith(el("p", { role: "alert", class: "error" }, profile.errors[0].message));
    absent("profile");
  } else {
    named(profile.data.profile);
    profileCard.replaceWith(profileSection(profile.data.profile, unreadable));
  }

  const interactions = await interactionsAnswer;
  if (interactions.errors) { interactionsCard.remove(); absent("interactions"); }
  else interactionsCard.replaceWith(interactionSection(id, interactions, services.items || []));
}

// An opened timeline item's other facts and extension values.
const ITEM_DETAILS = {
  service: `query($s: Long!) { item: service(serviceId: $s) { contactKey ${DETAILS} } }`,
  state: `query($s: Long!, $i: Int!) { item: state(serviceId: $s, stateId: $i) { ${DETAILS} } }`,
  task: `query($s: Long!, $i: Int!) { item: task(serviceId: $s, taskId: $i) { ${DETAILS} } }`,
};

async function detailsOf(kind, serviceId, id) {
  const { data } = await gql(ITEM_DETAILS[kind], { s: serviceId, i: id });
  return data && data.item ? data.item : {};
}

function live(id, draw) {
  let pending = null;
  let ready = 0;
  const reload = () => {
    window.clearTimeout(pending);
    pending = window.setTimeout(async () => {
      try {
        const services = await allServices(id);
        if (services.items) draw(services.items);
      } catch (err) { /* the next event or reconnection reloads */ }
    }, 50);
  };
  return subscribe("subscription($id: String) { journeyEvents(customerId: $id) { kind serviceId stateId taskId } }",
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

// The error of a field (its path's last part) whose stored value cannot be decrypted, else null.
function unreadableOf(errors, field) {
  return errors.find((e) => e.extensions && e.extensions.code === "UNREADABLE_VALUE" && e.path
    && e.path[e.path.length - 1] === field) || null;
}

// What an agent sees in place of values that cannot be decrypted: "unreadable", the server's reason in its title.
function unreadableMark(error) {
  return el("span", { class: "unreadable", title: error.message }, "unreadable");
}

function profileSection(p, unreadable = {}) {
  const section = el("section", { class: "card", id: "profile", "aria-labelledby": "profile-title" },
    el("h2", { id: "profile-title" }, "Profile"));
  const attrs = p.attributes || {};
  const order = metadata.attributes.map((a) => a.name).filter((n) => n in attrs);
  for (const n of Object.keys(attrs)) if (!order.includes(n)) order.push(n);
  const list = el("dl", { class: "attributes" });
  list.append(el("dt", {}, "Customer id"), el("dd", {}, p.customerId));
  if (unreadable.attributes) list.append(el("dt", {}, "Attributes"), el("dd", {}, unreadableMark(unreadable.attributes)));
  for (const name of order) list.append(el("dt", {}, name), el("dd", {}, valueText(attrs[name])));
  if (unreadable.extensions) list.append(el("dt", {}, "Extensions"), el("dd", {}, unreadableMark(unreadable.extensions)));
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

function interactionSection(id, first, services) {
  const section = el("section", { class: "card", id: "interactions", "aria-labelledby": "interactions-title" },
    el("h2", { id: "interactions-title" }, "Interactions"));
  const filter = el("select", { id: "interaction-service" },
    el("option", { value: "" }, "every service"),
    ...services.map((s) => el("option", { value: String(s.serviceId) }, `service ${s.serviceId} · ${nameOf("Service.type", s.serviceType)}`)));
  const list = el("ol", { class: "interactions", "aria-label": "interactions, newest first" });
  const more = el("button", { type: "button", id: "interactions-more" }, "Show more");
  const status = el("p", { class: "muted", role: "status" });
  let next = null;
  let asked = 0;  // a later choice wins over an answer still on its way
  const show = (page, append) => {
    if (page.errors) { status.textContent = page.errors[0].message; return; }
    if (!append) clear(list);
    const items = page.items.map(interactionItem);
    list.append(...items);
    next = page.next;
    more.hidden = !next;
    status.textContent = list.childElementCount ? "" : "No interactions.";
    if (append && items.length) items[0].querySelector("summary").focus();
  };
  filter.addEventListener("change", async () => {
    const mine = ++asked;
    const page = await interactionPage(id, filter.value, null);
    if (mine === asked) show(page, false);
  });
  more.addEventListener("click", async () => {
    const mine = ++asked;
    const page = await interactionPage(id, filter.value, next);
    if (mine === asked) show(page, true);
  });
  section.append(el("label", { for: "interaction-service" }, "Service "), filter, list, status, more);
  show(first, false);
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
