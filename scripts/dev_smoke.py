"""Drives a running `make dev` stack: trigger -> simulator callback -> webhook ->
nothing pending, then reads the items from moto to check they are submitted.
Usage: python scripts/dev_smoke.py STATE_FILE"""

import json
import sys
import time
import urllib.request

import boto3
import jsonschema


def call(method, url, body=None, headers=None, raw=False):
    data = json.dumps(body).encode() if body is not None else None
    all_headers = {"content-type": "application/json", **(headers or {})}
    req = urllib.request.Request(url, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(req, timeout=40) as r:
            return (r.status, r.headers) if raw else (r.status, json.loads(r.read()))
    except urllib.error.HTTPError as e:
        return (e.code, e.headers) if raw else (e.code, json.loads(e.read()))


def main():
    state = json.load(open(sys.argv[1]))
    base, month = state["base_url"], state["month"]
    admin = f"{base}/admin/content-production/heygen"

    # The local identity: admin by default; the handlers' own check still runs.
    status, body = call("GET", admin, headers={"x-local-groups": "[editors]"})
    assert (status, body["error"]["code"]) == (403, "forbidden"), (status, body)
    status, body = call("GET", admin, headers={"x-local-anonymous": "1"})
    assert (status, body["error"]["code"]) == (401, "unauthorized"), (status, body)
    status, body = call("POST", admin, {"month": "2026-13", "mode": "bible"})
    assert (status, body["error"].get("field")) == (400, "month"), (status, body)
    # CORS for the admin frontend, as the HTTP API answers it.
    status, headers = call("OPTIONS", admin, raw=True, headers={
        "origin": "http://localhost:5173", "access-control-request-method": "POST"})
    assert status == 204 and headers["access-control-allow-origin"] == "http://localhost:5173", (status, dict(headers))
    # A Next.js admin on its default port is allowed too; any other origin is not.
    status, headers = call("OPTIONS", admin, raw=True, headers={
        "origin": "http://localhost:3000", "access-control-request-method": "POST"})
    assert headers["access-control-allow-origin"] == "http://localhost:3000", dict(headers)
    status, headers = call("OPTIONS", admin, raw=True, headers={
        "origin": "https://elsewhere.example", "access-control-request-method": "POST"})
    assert "access-control-allow-origin" not in headers, dict(headers)

    status, dry = call("POST", admin, {"month": month, "mode": "bible", "dry_run": True})
    assert status == 200 and dry["would_trigger"] > 0, (status, dry)
    started_at = time.time()
    status, run = call("POST", admin, {"month": month, "mode": "bible"})
    assert status == 200, (status, run)
    print(f"trigger: would_trigger={run['would_trigger']} triggered={run['triggered']} queued={run['queued']} "
          f"remaining={run['remaining']} stopped={run['stopped']}")
    assert not run["errors"], run
    # Every item counted once; the worker's ticks may take queued items first.
    counted = run["triggered"] + run["queued"] + run["skipped_pending"] + run["remaining"] + len(run["errors"])
    assert counted == run["would_trigger"] and run["remaining"] == 0, run

    # No admin call after the first: the worker's ticks feed the queue into the
    # render slots and reconcile the callbacks the simulator drops.
    deadline = time.time() + 150
    while True:
        status, listing = call("GET", admin)
        assert status == 200, (status, listing)
        if listing["count"] == 0 and not listing["queued"]:
            break
        assert time.time() < deadline, f"still pending: {listing['count']}, queued: {len(listing['queued'])}"
        time.sleep(0.5)
    drained = time.time() - started_at

    dynamo = boto3.client("dynamodb", endpoint_url=state["aws_endpoint_url"], region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    items = dynamo.scan(TableName=state["tables"]["content"])["Items"]
    done = [i for i in items if i.get("heygen_status", {}).get("S") in ("completed", "failed")]
    completed = [i for i in done if i["heygen_status"]["S"] == "completed"]
    failed = [i for i in done if i["heygen_status"]["S"] == "failed"]
    assert len(done) == run["would_trigger"], (len(done), run["would_trigger"])
    assert completed, "no render completed"
    sample = open("devkit/assets/sample.mp4", "rb").read()
    for i in completed:
        assert i["status"]["S"] == "submitted", i
        # The durable copy in the bucket, served by the stack as CloudFront would.
        url = i["creator_video_url"]["S"]
        assert url.startswith(base + "/videos/"), i
    with urllib.request.urlopen(completed[0]["creator_video_url"]["S"], timeout=10) as r:
        assert r.headers["content-type"] == "video/mp4" and r.read() == sample, "the copy plays"
    # A browser seeks with range requests: the stack answers them as CloudFront does.
    req = urllib.request.Request(completed[0]["creator_video_url"]["S"], headers={"range": "bytes=0-99"})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 206 and r.headers["content-range"] == f"bytes 0-99/{len(sample)}", dict(r.headers)
        assert r.read() == sample[:100]
    for i in failed:
        assert i["heygen_error"]["S"], i

    # The month at a glance agrees with the tables.
    status, progress = call("GET", f"{admin}/progress?month={month}&mode=bible")
    assert status == 200, (status, progress)
    states = progress["states"]
    assert sum(states.values()) == progress["items"], progress
    assert (states["submitted"], states["failed"]) == (len(completed), len(failed)), progress
    assert progress["estimated_seconds_left"] is None and progress["rendered_seconds"] > 0, progress
    with urllib.request.urlopen(base + "/", timeout=10) as r:
        assert b"The month at a glance" in r.read()
    check_simulator(state)
    # The functions' environment for `sam local invoke` / `cargo lambda watch`.
    env = json.load(open(state["env_file"]))["Parameters"]
    assert (env["SETTINGS_TABLE"], env["CREATORS_TABLE"], env["CONTENT_TABLE"]) == (
        state["tables"]["settings"], state["tables"]["creators"], state["tables"]["content"]), env
    assert env["AWS_ENDPOINT_URL"] == state["aws_endpoint_url"] and env["HEYGEN_SECRET_ID"] == state["secret_id"], env
    dotenv = dict(line.split("=", 1) for line in open(state["env_file"][:-len(".json")] + ".env").read().splitlines())
    assert dotenv == env, (dotenv, env)
    print(f"smoke: {run['would_trigger']} items through the render slots in {drained:.0f} s after one call: "
          f"{len(completed)} submitted, {len(failed)} failed by the simulator, 0 pending, 0 queued")


def heygen_schema(name):
    """HeyGen's schema (tests/heygen-schemas), OpenAPI's nullable read as JSON Schema's null."""
    def fix(v):
        if isinstance(v, dict):
            v.pop("discriminator", None)
            if v.pop("nullable", False) is True and isinstance(v.get("type"), str):
                v["type"] = [v["type"], "null"]
            for x in v.values():
                fix(x)
        elif isinstance(v, list):
            for x in v:
                fix(x)
        return v
    return fix(json.load(open(f"tests/heygen-schemas/{name}")))


def check_simulator(state):
    """The simulator answers as HeyGen's own schemas say HeyGen does."""
    base = state["heygen_api_base_url"]
    headers = {"x-api-key": "sk-local-simulator", "content-type": "application/json", "idempotency-key": "smoke:1"}
    body = json.dumps({"type": "avatar", "avatar_id": "a", "script": "Hello", "aspect_ratio": "9:16",
                       "resolution": "1080p", "callback_id": "smoke"}).encode()
    req = urllib.request.Request(f"{base}/v3/videos", data=body, method="POST", headers=headers)
    created = json.load(urllib.request.urlopen(req, timeout=10))
    jsonschema.validate(created, heygen_schema("create-video.response.json"))
    req = urllib.request.Request(f"{base}/v3/videos/{created['data']['video_id']}", headers=headers)
    jsonschema.validate(json.load(urllib.request.urlopen(req, timeout=10)), heygen_schema("video-detail.response.json"))
    print("simulator: its create and status answers match HeyGen's schemas")


if __name__ == "__main__":
    main()
