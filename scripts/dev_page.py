"""Drives a running `make dev` stack through its page at `/` in headless Chromium:
first a page on a Next.js dev server's origin (http://localhost:3000) calls the
local API from the browser (CORS); then it triggers the demo month, and at three moments (just after the trigger, half way,
done) saves the progress route's answer, a screenshot of the page and its DOM as
Chromium rendered it, then checks what the page showed against the answer.
Usage: python scripts/dev_page.py STATE_FILE OUT_DIR"""

import json
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--window-size=1100,1400",
]


def call(method, url, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=40) as r:
        return json.loads(r.read())


def chromium(url, *args):
    """Chromium on `url` with a fresh profile; it runs the page's scripts (and
    its first polls) for 6 s of virtual time first."""
    with tempfile.TemporaryDirectory() as profile:
        out = subprocess.run(
            ["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=6000", *args, url],
            capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        sys.exit(f"chromium failed ({out.returncode}): {out.stderr[-2000:]}")
    return out.stdout


def shown_states(dom):
    """The legend's counts, as the page shows them."""
    return {m[0]: int(m[1]) for m in re.findall(r'data-state="(\w+)"[^>]*>[\w ]+? (\d+)</span>', dom)}


def moment(name, base, month, out_dir):
    progress = call("GET", f"{base}/admin/content-production/heygen/progress?month={month}&mode=bible")
    page = f"{base}/?month={month}&mode=bible"
    chromium(page, f"--screenshot={out_dir}/{name}.png")
    dom = chromium(page, "--dump-dom")
    open(f"{out_dir}/{name}.html", "w").write(dom)
    json.dump(progress, open(f"{out_dir}/{name}.json", "w"), indent=1)
    shown = shown_states(dom)
    videos = re.findall(r'<video[^>]*data-seconds="([\d.]+)"', dom)
    print(f"{name}: progress {json.dumps(progress)}")
    print(f"{name}: the page showed {shown}, items {dom.count('data-items')} attribute(s), "
          f"{len(videos)} video(s) with their duration read: {videos[:3]}")
    assert set(shown) == set(progress["states"]), (shown, progress["states"])
    assert sum(shown.values()) == progress["items"], (shown, progress)
    assert f'data-items="{progress["items"]}"' in dom, "the page shows the month's item count"
    for table in ("failed", "copy_failing"):
        shown_rows = re.search(rf'<table id="{table}">(.*?)</table>', dom, re.S).group(1).count("<tr>") - 1
        assert shown_rows == len(progress[table]), (table, shown_rows, progress[table])
    # The budget bar (spent, reserved, left) and the dry run's estimate and account.
    assert 'data-budget="' in dom, "the page shows the month's budget"
    assert dom.count('<div style="flex-grow') >= 3 or 'id="budget-bar"><div' in dom, "the budget bar is drawn"
    estimate = re.search(r'data-estimate="(\d+)"', dom)
    assert estimate, "the page shows the dry run's estimate"
    assert "HeyGen's account: wallet" in dom, "the page shows HeyGen's account"
    print(f"{name}: budget {progress['budget']}, blocked {progress['blocked_by_budget']}, estimate {estimate.group(1)} s")
    return progress, shown, videos


ADMIN_PAGE = """<!doctype html><html><body><pre id="out">waiting</pre><script>
// A stand-in for the admin frontend on a Next.js dev server's origin, calling
// the local API from the browser: a GET, and a JSON POST (which needs CORS's preflight).
const api = "API";
(async () => {
  const out = [];
  try {
    const progress = await fetch(api + "/admin/content-production/heygen/progress?month=MONTH&mode=bible");
    out.push("progress " + progress.status + " items=" + (await progress.json()).items);
    const dry = await fetch(api + "/admin/content-production/heygen", {method: "POST",
      headers: {"content-type": "application/json"}, body: JSON.stringify({month: "MONTH", mode: "bible", dry_run: true})});
    out.push("dry_run " + dry.status + " would_trigger=" + (await dry.json()).would_trigger);
  } catch (err) {
    out.push("refused: " + err.message);
  }
  document.getElementById("out").textContent = out.join("\\n");
})();
</script></body></html>"""


def admin_origin_check(base, month, out_dir):
    """Serves ADMIN_PAGE on http://localhost:3000 (a Next.js dev server's origin)
    and loads it in Chromium: the browser itself calls the local API on its port."""
    import functools
    import http.server
    import os
    import threading
    site = os.path.join(out_dir, "admin-origin")
    os.makedirs(site, exist_ok=True)
    open(os.path.join(site, "index.html"), "w").write(ADMIN_PAGE.replace("API", base).replace("MONTH", month))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=site)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 3000), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        dom = chromium("http://localhost:3000/index.html", "--dump-dom")
    finally:
        server.shutdown()
    shown = re.search(r'<pre id="out">(.*?)</pre>', dom, re.S).group(1)
    print(f"admin origin http://localhost:3000 -> {base}: {shown!r}")
    assert "progress 200 items=" in shown and "dry_run 200 would_trigger=" in shown, shown


def main():
    state = json.load(open(sys.argv[1]))
    out_dir = sys.argv[2]
    base, month = state["base_url"], state["month"]
    admin_origin_check(base, month, out_dir)
    admin = f"{base}/admin/content-production/heygen"
    run = call("POST", admin, {"month": month, "mode": "bible"})
    print(f"trigger: triggered={run['triggered']} queued={run['queued']} stopped={run['stopped']}")
    started = time.time()
    first, _, _ = moment("1-started", base, month, out_dir)
    assert first["estimated_seconds_left"] is not None, first

    # Half way: about half the items settled (submitted or failed).
    def settled(p):
        return p["states"]["submitted"] + p["states"]["failed"]
    while True:
        p = call("GET", f"{admin}/progress?month={month}&mode=bible")
        if settled(p) * 2 >= p["items"] - p["states"]["has_video"] - p["states"]["not_started"]:
            break
        assert time.time() - started < 300, p
        time.sleep(1)
    moment("2-half-way", base, month, out_dir)

    while True:
        p = call("GET", f"{admin}/progress?month={month}&mode=bible")
        if p["estimated_seconds_left"] is None:
            break
        assert time.time() - started < 600, p
        time.sleep(1)
    last, shown, videos = moment("3-done", base, month, out_dir)
    assert shown["submitted"] > 0 and shown["failed"] > 0 and last["rendered_seconds"] > 0, last
    assert videos, "Chromium read no finished video's duration (range requests to /videos/...)"
    print(f"page: the demo month done in {time.time() - started:.0f} s; screenshots and DOMs in {out_dir}")


if __name__ == "__main__":
    main()
