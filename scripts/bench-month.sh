#!/usr/bin/env bash
# Part of `make bench`: a month of BENCH_MONTH_ITEMS (60) items through the local
# stack (`make dev`'s, with the HeyGen simulator) at HeyGen's pace scaled down 15
# times: renders of 12 s and a tick every 4 s (production: about 3 minutes and 1
# minute), creates paced at 15 a second (production: 1), BENCH_MONTH_LIMIT (10)
# render slots. (Scaled further, moto's own time per request, which does not
# scale, would weigh as much as the renders.) Once with the refill on completion off (DEV_REFILL=0: only the
# ticks feed the queue) and once on. Appends the table to $BENCH_OUTPUT
# (BENCHMARKS.md).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
scripts/venv.sh dev
items=${BENCH_MONTH_ITEMS:-60}
limit=${BENCH_MONTH_LIMIT:-10}
render=12
tick=4
output=${BENCH_OUTPUT:-$root/BENCHMARKS.md}
# shellcheck source=scripts/dev-stack.sh
source scripts/dev-stack.sh
results=()
for refill in 0 1; do
  start_dev "bench-month-$refill" DEV_BENCH_ITEMS="$items" DEV_RENDER_SECONDS=$render DEV_TICK_SECONDS=$tick \
    DEV_HEYGEN_CONCURRENCY="$limit" DEV_MAX_CONCURRENT_RENDERS="$limit" DEV_REQUESTS_PER_SECOND=15 \
    DEV_FAIL_EVERY=0 DEV_DROP_CALLBACKS=0 DEV_REFILL=$refill
  line=$(.venv/bin/python scripts/bench_month.py "$dev_state" "$limit" "$render")
  echo "bench-month: refill $refill: $line" >&2
  results+=("$refill $line")
  stop_dev
  trap - EXIT
done
.venv/bin/python - "$output" "$tick" "${results[@]}" <<'PY'
import json, sys
output, tick = sys.argv[1], sys.argv[2]
rows = []
for entry in sys.argv[3:]:
    refill, line = entry.split(" ", 1)
    r = json.loads(line)
    rows.append((refill, r))
r0 = rows[0][1]
with open(output, "a") as out:
    out.write(f"""
## A month (issue 20)

One trigger, then nothing but the stack's own work: {r0['items']} items of one creator through
{r0['limit']} render slots, with the HeyGen simulator rendering in {r0['render_seconds']:g} s and the worker
ticking every {tick} s (production: about 3 minutes and 1 minute; the ratio is kept), creates paced at 15 a
second (production: 1 a second, scaled the same way). `make dev`'s stack (`scripts/bench-month.sh`):
moto, the simulator's callbacks, the production handlers. *Drain*: from the trigger to the last render
completed; *ideal*: ceil(items / slots) x render; *utilisation*: the slots' busy time (each render's
`heygen_completed_at - heygen_requested_at`) over slots x drain; *attached*: until the last durable copy.

| refill on completion | drain | ideal | drain / ideal | utilisation | attached |
|---|---:|---:|---:|---:|---:|
""")
    for refill, r in rows:
        name = "on (the webhook wakes the worker)" if refill == "1" else "off (ticks alone)"
        out.write(f"| {name} | {r['drain_seconds']:.1f} s | {r['ideal_seconds']:.0f} s | "
                  f"{r['drain_seconds'] / r['ideal_seconds']:.2f} | {r['utilisation'] * 100:.0f}% | "
                  f"{r['attached_seconds']:.1f} s |\n")
PY
