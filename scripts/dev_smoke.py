"""Drives a running `make dev` stack: trigger -> simulator callback -> webhook ->
nothing pending, then reads the items from moto to check they are submitted.
Usage: python scripts/dev_smoke.py STATE_FILE"""

import json
import sys
import time
import urllib.request

import boto3


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

    status, dry = call("POST", admin, {"month": month, "mode": "bible", "dry_run": True})
    assert status == 200 and dry["would_trigger"] > 0, (status, dry)
    status, run = call("POST", admin, {"month": month, "mode": "bible"})
    assert status == 200, (status, run)
    print(f"trigger: would_trigger={run['would_trigger']} triggered={run['triggered']} "
          f"remaining={run['remaining']} stopped={run['stopped']}")
    assert run["triggered"] > 0 and not run["errors"], run

    deadline = time.time() + 90
    while True:
        status, pending = call("GET", admin)
        assert status == 200, (status, pending)
        if pending["count"] == 0:
            break
        assert time.time() < deadline, f"still pending: {pending['count']}"
        time.sleep(0.5)

    dynamo = boto3.client("dynamodb", endpoint_url=state["aws_endpoint_url"], region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    items = dynamo.scan(TableName=state["tables"]["content"])["Items"]
    started = {v["content_id"] for v in run["videos"]}
    done = [i for i in items if i["content_id"]["S"] in started]
    completed = [i for i in done if i.get("heygen_status", {}).get("S") == "completed"]
    failed = [i for i in done if i.get("heygen_status", {}).get("S") == "failed"]
    assert len(completed) + len(failed) == len(started), (len(completed), len(failed), len(started))
    assert completed, "no render completed"
    for i in completed:
        assert i["status"]["S"] == "submitted", i
        assert i["creator_video_url"]["S"].startswith(state["heygen_api_base_url"]), i
    for i in failed:
        assert i["heygen_error"]["S"], i
    print(f"smoke: {len(completed)} submitted, {len(failed)} failed by the simulator, 0 pending")


if __name__ == "__main__":
    main()
