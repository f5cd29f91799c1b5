// The console's only way to the server: GraphQL over HTTP (fetch) and graphql-transport-ws (WebSocket),
// both to the page's own origin, with the tab's sign-in.
//
// The sign-in (an Authorization value and a tenant) is held in this module's memory only: never in a URL, in
// localStorage or in sessionStorage, so it lasts while the page does (moving between views keeps it; a reload
// or a new tab asks again). Every request carries X-Requested-With, so a 401 comes without the Basic challenge
// that would open the browser's own password prompt.

let held = null;
const root = document.body.dataset.root || "";
export const endpoint = new URL(root + "/graphql", window.location.href);

export class Unauthenticated extends Error {}

export function currentSignin() {
  return held;
}

export function saveSignin(signin) {
  held = signin || null;
}

function base64(text) {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return window.btoa(binary);
}

// The sign-in for a user and password (Basic) or a token (Bearer), and a tenant (blank: the default).
export function makeSignin({ user, password, token, tenant }) {
  const signin = { tenant: tenant || "" };
  if (token) { signin.authorization = "Bearer " + token; signin.who = "token " + token.split(".")[0]; }
  else if (user) { signin.authorization = "Basic " + base64(user + ":" + password); signin.who = user; }
  return signin;
}

function headersOf(signin) {
  const headers = {};
  if (signin && signin.authorization) headers.Authorization = signin.authorization;
  if (signin && signin.tenant) headers["X-Genesys-TenantId"] = signin.tenant;
  return headers;
}

// One GraphQL operation: its `data` and `errors` (a field the role may not read comes back as an error with
// code FORBIDDEN, which the views treat as "absent"). A 401 throws Unauthenticated.
export async function gql(query, variables, signin = currentSignin()) {
  const response = await fetch(endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json",
               "X-Requested-With": "ucs-console", ...headersOf(signin) },
    body: JSON.stringify({ query, variables: variables || {} }),
    credentials: "omit",
  });
  if (response.status === 401) throw new Unauthenticated("not signed in");
  let body;
  try { body = await response.json(); } catch (err) { throw new Error(`the server answered ${response.status}`); }
  return { data: body.data || null, errors: body.errors || [] };
}

// The answer to a document the shell preloaded by GET (`<link rel="preload" as="fetch">`, asked as the link
// asked it so the browser hands over the preloaded answer), when it is one for these variables; else null.
export function preloaded(matches) {
  const link = document.querySelector('link[rel="preload"][as="fetch"]');
  if (!link) return null;
  link.remove();  // used once: later views ask for themselves
  const url = new URL(link.href);
  let variables;
  try { variables = JSON.parse(url.searchParams.get("variables") || "{}"); } catch (err) { return null; }
  if (!matches(variables)) return null;
  return fetch(url, { credentials: "same-origin" }).then(async (response) => {
    const body = await response.json();
    return { data: body.data || null, errors: body.errors || [] };
  });
}

export function codeOf(errors) {
  return errors.length ? (errors[0].extensions && errors[0].extensions.code) || "ERROR" : null;
}

// A graphql-transport-ws subscription that reconnects (backing off up to 10 s) when the socket drops.
// `onReady` runs after every subscribe, the first and each reconnection (the caller reloads what it shows);
// `onEvent` gets each event's data. Returns a function that ends it.
export function subscribe(query, variables, { onEvent, onReady, onDown }) {
  const url = new URL(endpoint.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  let socket = null;
  let stopped = false;
  let failures = 0;
  let timer = null;

  function connect() {
    socket = new WebSocket(url, "graphql-transport-ws");
    socket.addEventListener("open", () => {
      const signin = currentSignin();
      const payload = {};
      if (signin && signin.authorization) payload.Authorization = signin.authorization;
      if (signin && signin.tenant) payload["X-Genesys-TenantId"] = signin.tenant;
      socket.send(JSON.stringify({ type: "connection_init", payload }));
    });
    socket.addEventListener("message", (message) => {
      let msg;
      try { msg = JSON.parse(message.data); } catch (err) { return; }
      if (msg.type === "connection_ack") {
        socket.send(JSON.stringify({ id: "journey", type: "subscribe", payload: { query, variables } }));
        failures = 0;
        if (onReady) onReady();
      } else if (msg.type === "next" && msg.payload && msg.payload.data) {
        onEvent(msg.payload.data);
      } else if (msg.type === "ping") {
        socket.send(JSON.stringify({ type: "pong" }));
      }
    });
    socket.addEventListener("close", () => {
      if (stopped) return;
      if (onDown) onDown();
      failures += 1;
      timer = window.setTimeout(connect, Math.min(10000, 250 * 2 ** Math.min(failures, 6)));
    });
  }

  connect();
  return () => {
    stopped = true;
    window.clearTimeout(timer);
    if (socket) socket.close(1000);
  };
}
