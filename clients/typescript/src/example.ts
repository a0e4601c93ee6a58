// Calls every route of a running stack once and prints what it answered:
//   node dist/example.js http://127.0.0.1:4000 2027-01 [token]
// (`make test`'s smoke run does so against `make dev`). Exits 1 on any
// unexpected answer.
import { pipelineClient } from "./client.js";

const [baseUrl, month, token] = process.argv.slice(2);
if (!baseUrl || !month) {
  console.error("usage: node dist/example.js BASE_URL YYYY-MM [TOKEN]");
  process.exit(2);
}
const api = pipelineClient(baseUrl, token);
const fail = (what: string, detail: unknown): never => {
  console.error(`${what}:`, JSON.stringify(detail));
  process.exit(1);
};

const dry = await api.trigger(month, "bible", true);
if (!dry.data) fail("trigger (dry run)", dry.error);
console.log(
  `trigger, dry run: would_trigger=${dry.data?.would_trigger} triggered=${dry.data?.triggered} ` +
    `estimated_seconds=${dry.data?.estimated_seconds} cap=${dry.data?.budget.cap_seconds} ` +
    `account=${JSON.stringify(dry.data?.heygen_account)}`,
);

const progress = await api.progress(month, "bible");
if (!progress.data) fail("progress", progress.error);
const states = progress.data?.states;
const counted = states ? Object.values(states).reduce((a, b) => a + b, 0) : -1;
if (counted !== progress.data?.items) fail("progress: states do not add up", progress.data);
console.log(`progress: items=${progress.data?.items} rendered=${progress.data?.rendered_seconds} submitted=${states?.submitted} failed=${states?.failed}`);
const budget = progress.data?.budget;
console.log(`budget: spent=${budget?.spent_seconds} reserved=${budget?.reserved_seconds} left=${budget?.left_seconds} blocked=${progress.data?.blocked_by_budget}`);

const listing = await api.inFlight(true);
if (!listing.data) fail("in flight", listing.error);
console.log(`in flight: count=${listing.data?.count} queued=${listing.data?.queued.length}`);

const cancel = await api.cancel(month, "positivity");
if (!cancel.data) fail("cancel", cancel.error);
console.log(`cancel: cancelled=${cancel.data?.cancelled}`);

// An error is the function's `{"error": {...}}`, or API Gateway's own `{"message"}`.
const bad = await api.progress("2026-13", "bible");
const refusal = bad.error && "error" in bad.error ? bad.error.error : undefined;
if (bad.response.status !== 400 || refusal?.field !== "month") fail("a bad month", bad.error);
console.log(`a bad month: ${bad.response.status} ${refusal?.code} (field ${refusal?.field})`);

const health = await api.webhookHealth();
if (!health.response.ok) fail("webhook health", health.response.status);
console.log(`webhook health: ${health.response.status}`);
