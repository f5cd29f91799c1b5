// The GraphQL-over-HTTP audit of graphql-http (auditServer) against a running server:
//   node tests/js/graphql-http-audit.mjs http://localhost:8080/graphql [header:value ...]
// Prints one JSON object: every audit's id, name, status (ok, notice for a MAY, warn for a SHOULD, error for a
// MUST) and reason, and the count of each status. Exits 1 when a MUST fails or a SHOULD warns.
import { auditServer } from 'graphql-http';

const [url, ...headerArgs] = process.argv.slice(2);
if (!url) {
  console.error('usage: graphql-http-audit.mjs URL [header:value ...]');
  process.exit(2);
}
const extra = Object.fromEntries(headerArgs.map((h) => {
  const at = h.indexOf(':');
  return [h.slice(0, at).trim(), h.slice(at + 1).trim()];
}));
// Headers the server needs (credentials, tenant) added to every request of the audit.
const fetchFn = (input, init = {}) => fetch(input, { ...init, headers: { ...extra, ...(init.headers || {}) } });

const results = await auditServer({ url, fetchFn });
const summary = { ok: 0, notice: 0, warn: 0, error: 0 };
for (const r of results) summary[r.status] += 1;
const out = results.map(({ id, name, status, reason }) => ({ id, name, status, ...(reason ? { reason } : {}) }));
console.log(JSON.stringify({ summary, results: out }));
process.exit(summary.error || summary.warn ? 1 : 0);
