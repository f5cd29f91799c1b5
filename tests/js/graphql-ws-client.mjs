// The graphql-ws client (the one Apollo GraphQLWsLink, urql and Relay use) against the server, driven by
// tests/test_clients_js.py. The plan comes as JSON in argv[2]:
//   {url, connectionParams, query, subscription: {query, variables}, mutation: {query, variables}, events}
// It runs the query, starts the subscription, prints {"step": "subscribed"}, waits for a line on stdin, runs
// the mutation, and prints each step's result as one JSON line, then the subscription's `events` events.
// A closed socket prints {"step": "closed", "code": ...} and exits 3; any other failure exits 2.
import { createInterface } from "node:readline";
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const plan = JSON.parse(process.argv[2]);
const say = (line) => process.stdout.write(JSON.stringify(line) + "\n");

const client = createClient({
  url: plan.url,
  webSocketImpl: WebSocket,
  connectionParams: plan.connectionParams,
  retryAttempts: 0,
  lazy: true,
  on: { closed: (event) => { if (event.code !== 1000) { say({ step: "closed", code: event.code, reason: event.reason }); process.exit(3); } } },
});

async function once(payload) {
  const results = [];
  for await (const result of client.iterate(payload)) results.push(result);
  return results[0];
}

async function main() {
  say({ step: "query", result: await once({ query: plan.query }) });
  const events = [];
  const sub = client.iterate(plan.subscription);
  const first = sub.next();  // starts the subscription
  say({ step: "subscribed" });
  const input = createInterface({ input: process.stdin });
  for await (const _line of input) break;
  input.close();
  say({ step: "mutation", result: await once(plan.mutation) });
  let next = await first;
  while (!next.done) {
    events.push(next.value);
    if (events.length >= plan.events) break;
    next = await sub.next();
  }
  await sub.return();
  say({ step: "events", events });
  await client.dispose();
}

main().then(() => process.exit(0), (err) => {
  say({ step: "failed", error: String(err && (err.message || err.reason || err.code) || err) });
  process.exit(2);
});
