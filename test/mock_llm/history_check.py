#!/usr/bin/env python3
"""Posts the conversation histories our request builder produces to the mock.

Starts server.py on a free port, runs the unit test ProviderHistory.MockBodies
(test/unit/provider_history_test.cpp), which writes the HTTP requests that
BuildChatRequest builds for each API (OpenAI chat completions and Responses,
Anthropic Messages, Gemini generateContent) from a few histories, and posts
each one: the mock validates histories as the real APIs do (oa_chat_history,
oa_responses_items, an_history, ge_history), so every request must get 200.
As a control, one history the APIs refuse (a tool result before its call)
must get 400 from each.

    python3 test/mock_llm/history_check.py BUILD_DIR/llmeval_unit_tests

Exits 0 when every check passes, 1 otherwise. Standard library only.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
KEY = "test-key"


def post(url: str, headers: list[str], body) -> tuple[int, str]:
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    try:
        hdrs = dict(h.split(": ", 1) for h in headers)
        path = u.path + (f"?{u.query}" if u.query else "")
        conn.request("POST", path, body=json.dumps(body).encode(), headers=hdrs)
        r = conn.getresponse()
        return r.status, r.read().decode(errors="replace")
    finally:
        conn.close()


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    tests = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="history_check_")
    port_file = os.path.join(tmp, "port")
    out = os.path.join(tmp, "requests.json")
    server = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "server.py"), "--port", "0", "--key", KEY,
         "--port-file", port_file], stdout=subprocess.PIPE, text=True)
    failures = 0
    try:
        line = server.stdout.readline().strip()
        if not line.startswith("listening on 127.0.0.1:"):
            print(f"server did not start: {line!r}", file=sys.stderr)
            return 1
        base = "http://" + line.rsplit(" ", 1)[1]
        env = dict(os.environ, LLMEVAL_HISTORY_BASE=base, LLMEVAL_HISTORY_OUT=out)
        run = subprocess.run([tests, "--gtest_filter=ProviderHistory.MockBodies"], env=env,
                             capture_output=True, text=True)
        if run.returncode != 0 or not os.path.exists(out):
            print(run.stdout + run.stderr, file=sys.stderr)
            return 1
        with open(out) as f:
            requests = json.load(f)
        for r in requests:
            status, text = post(r["url"], r["headers"], r["body"])
            ok = status == 200
            failures += not ok
            print(f"{'ok  ' if ok else 'FAIL'} {status} {r['case']}" + ("" if ok else f": {text}"))
        # Control: the mock does refuse a broken history, in every API's form.
        for r in requests:
            if not r["case"].startswith("tool call and result"):
                continue
            body = json.loads(json.dumps(r["body"]))
            for key in ("messages", "input", "contents"):
                if key in body:
                    body[key] = [m for m in body[key] if not (
                        m.get("tool_calls") or m.get("type") == "function_call"
                        or any(isinstance(b, dict)
                               and ("functionCall" in b or b.get("type") == "tool_use")
                               for b in (m.get("content") if isinstance(m.get("content"), list)
                                         else m.get("parts", []))))]
            status, _ = post(r["url"], r["headers"], body)
            ok = status == 400
            failures += not ok
            print(f"{'ok  ' if ok else 'FAIL'} {status} control, a result without its call: "
                  f"{r['case']}")
    finally:
        server.stdout.close()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    print(f"{len(requests)} requests posted (and their controls), {failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
