// The GraphiQL page of ucs-graphql (ucs_graphql/web/graphiql.py). It loads nothing from another origin.
//
// Signing in: the bar above the editor turns a user and password (Basic) or an API token (Bearer), and a
// tenant, into the Authorization and X-Genesys-TenantId headers of every request the page sends: HTTP
// requests, and the graphql-transport-ws connection_init payload of subscriptions (a browser cannot set
// headers on a WebSocket). They are held in this page's memory only, never in sessionStorage, localStorage or
// a cookie: moving around GraphiQL keeps them, a reload or a new tab asks again. GraphiQL's own state (tabs,
// queries, variables, history) is kept in memory too, since variables often hold customer data. The header
// editor's headers go the same ways and win over the bar's. The page's HTTP requests carry X-Requested-With, so a 401
// comes without the Basic challenge that would open the browser's own password prompt.
(function () {
  "use strict";
  var root = document.getElementById("graphiql");
  var bar = document.getElementById("ucs-signin");
  var guarded = root.dataset.access === "on";
  var url = new URL(root.dataset.endpoint, window.location.href);
  var wsUrl = new URL(url.href);
  wsUrl.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  var held = {};
  bar.dataset.access = guarded ? "on" : "off";

  function base64(text) {
    var bytes = new TextEncoder().encode(text);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return window.btoa(binary);
  }

  function signedIn() {
    return held;
  }

  // GraphiQL's storage (its `storage` prop), in memory for the page's life: nothing reaches web storage.
  var kept = new Map();
  var memory = {
    getItem: function (key) { return kept.has(key) ? kept.get(key) : null; },
    setItem: function (key, value) { kept.set(key, String(value)); },
    removeItem: function (key) { kept.delete(key); },
    clear: function () { kept.clear(); },
    get length() { return kept.size; },
  };

  function headersOf(signin) {
    var headers = {};
    if (signin.authorization) headers.Authorization = signin.authorization;
    if (signin.tenant) headers["X-Genesys-TenantId"] = signin.tenant;
    return headers;
  }

  var httpAndWs = GraphiQL.createFetcher({
    url: url.href,
    subscriptionUrl: wsUrl.href,
    headers: { "X-Requested-With": "GraphiQL" },
  });

  // The kind of the operation a request runs, read from its text. GraphiQL tells subscriptions (sent over the
  // WebSocket) from the rest by a parse of the editor it refreshes a moment after each edit; a document run
  // right after it was pasted would otherwise go by HTTP with the previous text's kind.
  function operationKind(query, name) {
    var text = query.replace(/"""[\s\S]*?"""/g, '""').replace(/"(?:[^"\\\n]|\\.)*"/g, '""')
      .replace(/#[^\n\r]*/g, "");
    var ops = [];
    var braces = 0, parens = 0, pending = null;
    var word = /[_A-Za-z][_0-9A-Za-z]*/y;
    for (var i = 0; i < text.length; i++) {
      var c = text[i];
      if (c === "(") parens++;
      else if (c === ")") parens--;
      else if (parens > 0) continue;
      else if (c === "{") {
        if (braces === 0) { ops.push(pending || { kind: "query", name: null }); pending = null; }
        braces++;
      } else if (c === "}") braces--;
      else if (braces === 0 && /[_A-Za-z]/.test(c)) {
        word.lastIndex = i;
        var w = word.exec(text)[0];
        if (/^(query|mutation|subscription|fragment)$/.test(w)) pending = { kind: w, name: null };
        else if (pending && pending.name === null) pending.name = w;
        i += w.length - 1;
      }
    }
    var chosen = ops.filter(function (op) { return op.kind !== "fragment" && (!name || op.name === name); });
    return chosen.length === 1 ? chosen[0] : null;
  }

  function fetcher(params, opts) {
    var headers = Object.assign({}, headersOf(signedIn()), (opts && opts.headers) || {});
    var options = Object.assign({}, opts || {}, { headers: headers });
    var op = typeof params.query === "string" ? operationKind(params.query, params.operationName) : null;
    if (op) {
      options.documentAST = { kind: "Document", definitions: [{
        kind: "OperationDefinition", operation: op.kind, name: op.name ? { kind: "Name", value: op.name } : undefined,
        variableDefinitions: [], directives: [], selectionSet: { kind: "SelectionSet", selections: [] } }] };
    }
    return httpAndWs(params, options);
  }

  var EXAMPLE = "# ucs-graphql: run with Ctrl-Enter or the play button.\n" +
    "# With access control on, sign in above first.\n" +
    "{\n  serverStatus {\n    mode\n    version\n  }\n}\n";

  function describe(signin) {
    var who = signin.who ? "signed in as " + signin.who : (guarded ? "not signed in" : "access control is off");
    return who + (signin.tenant ? ", tenant " + signin.tenant : "");
  }

  var reactRoot = ReactDOM.createRoot(root);
  var generation = 0;

  function render() {
    var signin = signedIn();
    document.getElementById("ucs-who").textContent = describe(signin);
    generation += 1;
    reactRoot.render(React.createElement(GraphiQL, {
      key: "signin-" + generation,  // a new sign-in reloads the schema with the new credentials
      fetcher: fetcher,
      storage: memory,
      defaultQuery: EXAMPLE,
      plugins: [GraphiQLPluginExplorer.explorerPlugin()],
      defaultEditorToolsVisibility: true,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
      inputValueDeprecation: true,
    }));
  }

  bar.addEventListener("submit", function (event) {
    event.preventDefault();
    var user = document.getElementById("ucs-user").value.trim();
    var password = document.getElementById("ucs-password").value;
    var token = document.getElementById("ucs-token").value.trim();
    var tenant = document.getElementById("ucs-tenant").value.trim();
    var signin = { tenant: tenant };
    var previous = signedIn();
    if (token) {
      signin.authorization = "Bearer " + token;
      signin.who = "token " + token.split(".")[0];
    } else if (user) {
      signin.authorization = "Basic " + base64(user + ":" + password);
      signin.who = user;
    } else if (previous.authorization) {
      signin.authorization = previous.authorization;
      signin.who = previous.who;
    }
    held = signin;
    document.getElementById("ucs-password").value = "";
    document.getElementById("ucs-token").value = "";
    render();
  });

  document.getElementById("ucs-signout").addEventListener("click", function () {
    held = {};
    render();
  });

  document.getElementById("ucs-tenant").value = signedIn().tenant || "";
  render();
})();
