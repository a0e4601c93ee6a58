"""One month through a running `make dev` stack (started by scripts/bench-month.sh
with DEV_BENCH_ITEMS items and the render time, tick period and limit it
measures): one trigger, then nothing but the stack's own ticks, callbacks and
(when on) wakes. Prints one JSON line: the drain and the slots' use.
Usage: python scripts/bench_month.py STATE_FILE LIMIT RENDER_SECONDS"""

import json
import math
import sys
import time
import urllib.request
from datetime import datetime, timezone

import boto3


def call(method, url, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=40) as r:
        return json.loads(r.read())


def at(text):
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()


def main():
    state = json.load(open(sys.argv[1]))
    limit, render = int(sys.argv[2]), float(sys.argv[3])
    base, month = state["base_url"], state["month"]
    admin = f"{base}/admin/content-production/heygen"
    started = time.time()
    run = call("POST", admin, {"month": month, "mode": "bible"})
    items = run["would_trigger"]
    while True:
        progress = call("GET", f"{admin}/progress?month={month}&mode=bible")
        if progress["estimated_seconds_left"] is None:
            break
        if time.time() - started > 900:
            sys.exit(f"bench-month: not drained after 900 s: {progress}")
        time.sleep(0.1)
    attached = time.time() - started
    dynamo = boto3.client("dynamodb", endpoint_url=state["aws_endpoint_url"], region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    rows = []
    pages = dynamo.get_paginator("scan").paginate(TableName=state["tables"]["content"])
    for page in pages:
        rows.extend(page["Items"])
    done = [r for r in rows if r.get("heygen_status", {}).get("S") == "completed"]
    assert len(done) == items, (len(done), items, progress)
    busy = sum(at(r["heygen_completed_at"]["S"]) - at(r["heygen_requested_at"]["S"]) for r in done)
    rendered = max(at(r["heygen_completed_at"]["S"]) for r in done) - started
    ideal = math.ceil(items / limit) * render
    print(json.dumps({
        "items": items, "limit": limit, "render_seconds": render,
        "drain_seconds": round(rendered, 2), "attached_seconds": round(attached, 2),
        "ideal_seconds": ideal, "utilisation": round(busy / (limit * rendered), 3),
        "trigger_created": run["triggered"],
    }))


if __name__ == "__main__":
    main()
