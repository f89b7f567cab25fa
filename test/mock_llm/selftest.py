#!/usr/bin/env python3
"""Self-test of the mock LLM server (standard library only).

Starts server.py on a free port and checks each API's success and error
shapes, authentication, every fault kind, fault determinism and eventual
success of retries, the admin endpoints (including the maximum concurrency
under 500+ slow requests), HTTP framing details (keep-alive, Connection:
close, Expect: 100-continue, chunked bodies) and clean shutdown on SIGTERM,
then measures throughput with an asyncio keep-alive client.

    python3 test/mock_llm/selftest.py [--bench-seconds 2] [--connections 64] [--min-rps N]
    python3 test/mock_llm/selftest.py --bench-only --bench-seconds 5

Exits 0 when every check passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import http.client
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
KEY = "test-key-s3cr3t"
WRONG = "wrong-key-XYZZY-12345"

FAILURES: list[str] = []
CHECKS = 0


def check(cond, what: str) -> bool:
    global CHECKS
    CHECKS += 1
    if not cond:
        FAILURES.append(what)
        print(f"FAIL: {what}", flush=True)
    return bool(cond)


class Server:
    def __init__(self, *extra: str) -> None:
        self.tmp = tempfile.mkdtemp(prefix="mock_llm_selftest_")
        self.port_file = os.path.join(self.tmp, "port")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "server.py"), "--port", "0", "--key", KEY,
             "--answers", os.path.join(HERE, "answers.json"), "--port-file", self.port_file,
             *extra],
            stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("listening on 127.0.0.1:"):
            raise SystemExit(f"server did not start: {line!r}")
        self.port = int(line.rsplit(":", 1)[1])
        with open(self.port_file) as f:
            assert int(f.read()) == self.port, "port file disagrees with the banner"

    def stop(self) -> int | None:
        self.proc.stdout.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return None
        return self.proc.returncode


S: Server


def request(method: str, path: str, body=None, headers=None, timeout: float = 10.0):
    conn = http.client.HTTPConnection("127.0.0.1", S.port, timeout=timeout)
    try:
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        hdrs = {"Content-Type": "application/json"}
        hdrs.update(headers or {})
        conn.request(method, path, body=data, headers=hdrs)
        r = conn.getresponse()
        raw = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, raw
    finally:
        conn.close()


def post(path, body, headers=None, **kw):
    return request("POST", path, body, headers, **kw)


def jpost(path, body, headers=None, **kw):
    st, h, raw = post(path, body, headers, **kw)
    try:
        return st, h, json.loads(raw)
    except ValueError:
        return st, h, None


def admin(path, body=None):
    st, _, raw = request("POST" if body is not None else "GET", "/_admin/" + path, body)
    return st, json.loads(raw)


def raw_exchange(data: bytes, timeout: float = 10.0) -> bytes:
    """Sends raw bytes, returns everything read until the server closes."""
    with socket.create_connection(("127.0.0.1", S.port), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            out += chunk
        return out


def raw_post(path: str, body: bytes, headers: dict) -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return raw_exchange(head.encode() + b"Connection: close\r\n\r\n" + body)


# Requests for each API -------------------------------------------------------

OA_H = {"Authorization": f"Bearer {KEY}"}
AN_H = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
GE_H = {"x-goog-api-key": KEY}
OA_PATH = "/v1/chat/completions"
AN_PATH = "/v1/messages"


def ge_path(model="gemini-2.0-flash"):
    return f"/v1beta/models/{model}:generateContent"


def oa_body(prompt, model="gpt-4o-mini", system=None, **kw):
    msgs = ([{"role": "system", "content": system}] if system else []) + \
        [{"role": "user", "content": prompt}]
    return {"model": model, "messages": msgs, **kw}


def an_body(prompt, model="claude-3-5-haiku", system=None, max_tokens=64):
    b = {"model": model, "max_tokens": max_tokens,
         "messages": [{"role": "user", "content": prompt}]}
    if system:
        b["system"] = system
    return b


def ge_body(prompt, system=None):
    b = {"contents": [{"role": "user", "parts": [{"text": prompt}]}]}
    if system:
        b["systemInstruction"] = {"parts": [{"text": system}]}
    return b


def call(api, prompt, model=None, headers=None, system=None):
    """(status, headers, json, output text or None) for one API."""
    if api == "openai":
        st, h, j = jpost(OA_PATH, oa_body(prompt, model or "gpt-4o-mini", system),
                         {**OA_H, **(headers or {})})
        out = j["choices"][0]["message"]["content"] if st == 200 and j else None
    elif api == "anthropic":
        st, h, j = jpost(AN_PATH, an_body(prompt, model or "claude-3-5-haiku", system),
                         {**AN_H, **(headers or {})})
        out = j["content"][0]["text"] if st == 200 and j else None
    else:
        st, h, j = jpost(ge_path(model or "gemini-2.0-flash"), ge_body(prompt, system),
                         {**GE_H, **(headers or {})})
        out = j["candidates"][0]["content"]["parts"][0]["text"] if st == 200 and j else None
    return st, h, j, out


# Checks ------------------------------------------------------------------------

def test_success_shapes():
    prompt = "Answer in one word.\nQuestion: What is the capital of France?"
    system = "You are a terse assistant."
    in_words = len(prompt.split()) + len(system.split())

    st, h, j = jpost(OA_PATH, oa_body(prompt, system=system), OA_H)
    check(st == 200, f"openai status {st}")
    check(h.get("content-type", "").startswith("application/json"), "openai content-type")
    check(isinstance(j.get("id"), str) and j.get("object") == "chat.completion"
          and isinstance(j.get("created"), int) and j.get("model") == "gpt-4o-mini",
          f"openai envelope {j}")
    ch = j["choices"][0]
    check(ch["index"] == 0 and ch["message"]["role"] == "assistant"
          and ch["message"]["content"] == "Paris" and ch["finish_reason"] == "stop",
          f"openai choice {ch}")
    check(j["usage"] == {"prompt_tokens": in_words, "completion_tokens": 1,
                         "total_tokens": in_words + 1}, f"openai usage {j['usage']}")

    # Azure-style deployment path, api-key header, content as a list of parts.
    st, _, j = jpost("/openai/deployments/my-dep/chat/completions?api-version=2024-06-01",
                     {"model": "gpt-4o", "messages": [{"role": "user", "content": [
                         {"type": "text", "text": "What is the capital of Italy?"}]}]},
                     {"api-key": KEY})
    check(st == 200 and j["choices"][0]["message"]["content"] == "Rome", f"azure path {st} {j}")

    st, h, j = jpost(AN_PATH, an_body(prompt, system=system), AN_H)
    check(st == 200, f"anthropic status {st}")
    check(isinstance(j.get("id"), str) and j.get("type") == "message"
          and j.get("role") == "assistant" and j.get("model") == "claude-3-5-haiku",
          f"anthropic envelope {j}")
    check(j["content"] == [{"type": "text", "text": "Paris"}] and j["stop_reason"] == "end_turn",
          f"anthropic content {j}")
    check(j["usage"]["input_tokens"] == in_words and j["usage"]["output_tokens"] == 1,
          f"anthropic usage {j['usage']}")

    st, h, j = jpost(ge_path(), ge_body(prompt, system=system), GE_H)
    check(st == 200, f"gemini status {st}")
    c = j["candidates"][0]
    check(c["content"] == {"role": "model", "parts": [{"text": "Paris"}]}
          and c["finishReason"] == "STOP", f"gemini candidate {c}")
    check(j["usageMetadata"] == {"promptTokenCount": in_words, "candidatesTokenCount": 1,
                                 "totalTokenCount": in_words + 1}, f"gemini usage {j}")

    # Anthropic requirements.
    st, _, j = jpost(AN_PATH, an_body("hi"), {"x-api-key": KEY})
    check(st == 400 and j["type"] == "error" and j["error"]["type"] == "invalid_request_error"
          and "anthropic-version" in j["error"]["message"], f"anthropic-version required {st} {j}")
    b = an_body("hi")
    del b["max_tokens"]
    st, _, j = jpost(AN_PATH, b, AN_H)
    check(st == 400 and "max_tokens" in j["error"]["message"], f"max_tokens required {st} {j}")

    # Other 400s in each API's format.
    st, _, j = jpost(OA_PATH, b"{not json", OA_H)
    check(st == 400 and j["error"]["type"] == "invalid_request_error", f"openai bad json {st} {j}")
    st, _, j = jpost(ge_path(), {"contents": []}, GE_H)
    check(st == 400 and j["error"]["status"] == "INVALID_ARGUMENT", f"gemini empty {st} {j}")
    st, _, j = jpost("/v1/nothing-here", {}, OA_H)
    check(st == 404, f"unknown path {st}")

    # max_tokens truncates the answer in words.
    st, _, j = jpost(OA_PATH, oa_body("say a b c d e", max_tokens=2), OA_H)
    check(st == 200 and j["choices"][0]["message"]["content"] == "say a"
          and j["choices"][0]["finish_reason"] == "length", f"openai max_tokens {j}")


def test_auth():
    cases = [
        ("openai", OA_PATH, oa_body("hi"), {"Authorization": f"Bearer {WRONG}"}),
        ("openai", OA_PATH, oa_body("hi"), {"api-key": WRONG}),
        ("openai", OA_PATH, oa_body("hi"), {}),
        ("anthropic", AN_PATH, an_body("hi"), {"x-api-key": WRONG, "anthropic-version": "2023-06-01"}),
        ("anthropic", AN_PATH, an_body("hi"), {"anthropic-version": "2023-06-01"}),
        ("gemini", ge_path(), ge_body("hi"), {"x-goog-api-key": WRONG}),
        ("gemini", ge_path(), ge_body("hi"), {}),
    ]
    for api, path, body, hdrs in cases:
        st, _, raw = post(path, body, hdrs)
        check(st == 401, f"{api} bad key {hdrs} -> {st}")
        check(WRONG.encode() not in raw and b"XYZZY" not in raw, f"{api} 401 echoes the key")
        j = json.loads(raw)
        if api == "openai":
            ok = set(j["error"]) >= {"message", "type", "code"}
        elif api == "anthropic":
            ok = j["type"] == "error" and set(j["error"]) >= {"type", "message"} \
                and j["error"]["type"] == "authentication_error"
        else:
            ok = j["error"]["code"] == 401 and j["error"]["status"] == "UNAUTHENTICATED"
        check(ok, f"{api} 401 body shape {j}")
    # Gemini: key in the URL is rejected even if it is the right key.
    for k in (KEY, WRONG):
        st, _, raw = post(ge_path() + f"?key={k}", ge_body("hi"), GE_H)
        check(st == 400 and json.loads(raw)["error"]["status"] == "INVALID_ARGUMENT",
              f"gemini ?key= -> {st}")
        check(k.encode() not in raw, "gemini ?key= rejection echoes the key")


def test_answers_and_models():
    with open(os.path.join(HERE, "answers.json"), encoding="utf-8") as f:
        answers = json.load(f)
    # Unmatched prompts echo their last non-empty line.
    for api in ("openai", "anthropic", "gemini"):
        st, _, _, out = call(api, "first line\n  the last line  \n\n")
        check(st == 200 and out == "the last line", f"{api} echo -> {out!r}")
        st, _, _, out = call(api, "Q: What is the capital of Peru?", model="x-echo-1")
        check(out == "Q: What is the capital of Peru?", f"{api} echo model -> {out!r}")
    # Sloppy: wrong exactly when sha256(prompt) % 3 == 0, and stable.
    wrong = 0
    for q, a in answers.items():
        prompt = f"Question: {q}"
        h = int.from_bytes(hashlib.sha256(prompt.encode()).digest()[:8], "big")
        expect = a.lower() + " probably" if h % 3 == 0 else a
        wrong += h % 3 == 0
        for api in ("openai", "anthropic", "gemini"):
            _, _, _, out = call(api, prompt, model="mock-sloppy")
            check(out == expect, f"sloppy {api} {q!r} -> {out!r}, want {expect!r}")
        _, _, _, again = call("openai", prompt, model="mock-sloppy")
        check(again == expect, "sloppy is not deterministic")
        _, _, _, good = call("openai", prompt, model="gpt-4o")
        check(good == a, f"normal model {q!r} -> {good!r}")
    check(0 < wrong < len(answers), f"sloppy wrong on {wrong}/{len(answers)} answers")
    # Runtime answers replacement, then restore.
    st, j = admin("answers", {"Zork?": "Grue"})
    _, _, _, out = call("anthropic", "Tell me: Zork?")
    check(st == 200 and out == "Grue", f"runtime answers -> {out!r}")
    admin("answers", answers)
    # Model-name hooks for non-retryable errors.
    st, _, j, _ = call("openai", "hi", model="gpt-notfound")
    check(st == 404 and j["error"]["code"] == "model_not_found", f"notfound -> {st}")
    st, _, j, _ = call("anthropic", "hi", model="claude-status-400")
    check(st == 400 and j["error"]["type"] == "invalid_request_error", f"status-400 -> {st}")


def test_fault_kinds():
    admin("config", {"hang_s": 1.0, "retry_after_s": 2})
    for api in ("openai", "anthropic", "gemini"):
        st, h, j, _ = call(api, "What is the capital of France?", headers={"X-Mock-Fault": "429"})
        check(st == 429 and h.get("retry-after") == "2", f"{api} 429 -> {st} {h}")
        for code in (500, 503, 529):
            st, h, j, _ = call(api, "x", headers={"X-Mock-Fault": str(code)})
            if api == "openai":
                ok = isinstance(j["error"]["message"], str) and "type" in j["error"]
            elif api == "anthropic":
                ok = j["type"] == "error" and j["error"]["type"] in ("api_error", "overloaded_error")
            else:
                ok = j["error"]["code"] == code and j["error"]["status"] in ("INTERNAL", "UNAVAILABLE")
            check(st == code and ok, f"{api} {code} -> {st} {j}")
    st, _, j, _ = call("anthropic", "x", headers={"X-Mock-Fault": "529"})
    check(j["error"]["type"] == "overloaded_error", "anthropic 529 is overloaded_error")

    body = json.dumps(oa_body("What is the capital of Spain?")).encode()
    hdrs = {**OA_H, "Content-Type": "application/json"}
    # drop: the connection closes with no response at all.
    out = raw_post(OA_PATH, body, {**hdrs, "X-Mock-Fault": "drop"})
    check(out == b"", f"drop returned {out[:80]!r}")
    # malformed: 200 with a body that is not JSON.
    st, _, raw = post(OA_PATH, body, {**hdrs, "X-Mock-Fault": "malformed"})
    try:
        json.loads(raw)
        parsed = True
    except ValueError:
        parsed = False
    check(st == 200 and not parsed, f"malformed -> {st} parsed={parsed}")
    # truncate: Content-Length larger than what arrives before the close.
    out = raw_post(OA_PATH, body, {**hdrs, "X-Mock-Fault": "truncate"})
    head, _, rest = out.partition(b"\r\n\r\n")
    cl = [int(ln.split(b":")[1]) for ln in head.split(b"\r\n")
          if ln.lower().startswith(b"content-length:")]
    check(head.startswith(b"HTTP/1.1 200") and cl and cl[0] > len(rest) > 0,
          f"truncate: header {head[:40]!r} cl={cl} got={len(rest)}")
    # http.client sees it as an incomplete read.
    try:
        post(OA_PATH, body, {**hdrs, "X-Mock-Fault": "truncate"})
        check(False, "truncate: http.client read a complete body")
    except http.client.IncompleteRead:
        pass
    # hang: sleeps hang_s (1 s here), then answers normally; a short timeout fires.
    t0 = time.monotonic()
    st, _, j = jpost(OA_PATH, body, {**hdrs, "X-Mock-Fault": "hang"})
    dt = time.monotonic() - t0
    check(st == 200 and j["choices"][0]["message"]["content"] == "Madrid" and dt >= 0.95,
          f"hang -> {st} after {dt:.2f}s")
    try:
        post(OA_PATH, body, {**hdrs, "X-Mock-Fault": "hang"}, timeout=0.3)
        check(False, "hang: answered before the client timeout")
    except (socket.timeout, TimeoutError):
        pass
    st, _, j = jpost(OA_PATH, body, {**hdrs, "X-Mock-Fault": "bogus"})
    check(st == 400, f"unknown X-Mock-Fault -> {st}")
    # Retry-After can be switched off.
    admin("config", {"retry_after_s": None})
    st, h, _, _ = call("openai", "x", headers={"X-Mock-Fault": "429"})
    check(st == 429 and "retry-after" not in h, "retry_after_s null drops Retry-After")
    admin("config", {"retry_after_s": 1, "hang_s": 30})


def run_retry_sequences(n_bodies=40, max_attempts=60):
    """Per body the list of outcomes until success ("drop", "malformed", status...)."""
    seqs = []
    for i in range(n_bodies):
        api = ("openai", "anthropic", "gemini")[i % 3]
        seq = []
        for _ in range(max_attempts):
            try:
                st, _, j, out = call(api, f"retry test body {i}: What is the capital of Norway?")
                label = str(st) if j is not None else "malformed"
            except (http.client.RemoteDisconnected, ConnectionError):
                label = "drop"
            except http.client.IncompleteRead:
                label = "truncate"
            seq.append(label)
            if label == "200":
                check(out == "Oslo", f"retried answer {out!r}")
                break
        seqs.append(seq)
    return seqs


def test_determinism():
    faults = ["429", "500", "503", "529", "drop", "malformed", "truncate"]
    cfg = {"fault_rate": 0.5, "faults": faults, "seed": 1}
    st, j = admin("config", cfg)
    check(st == 200 and j["fault_rate"] == 0.5, f"config -> {st} {j}")
    admin("reset", {})
    a = run_retry_sequences()
    admin("reset", {})
    b = run_retry_sequences()
    check(a == b, "same seed, same bodies: different fault sequences")
    check(all(s[-1] == "200" for s in a), "some request never succeeded with fault_rate 0.5")
    seen = {x for s in a for x in s}
    check(len(seen) >= 5, f"fault kinds seen: {sorted(seen)}")
    n_faults = sum(len(s) - 1 for s in a)
    check(15 <= n_faults <= 120, f"fault count {n_faults} implausible for rate 0.5")
    check(any(len(s) > 1 for s in a) and any(len(s) == 1 for s in a),
          "fault rate 0.5 should fail some first attempts and pass others")
    _, stats = admin("stats")
    check(sum(stats["faults"].values()) == n_faults, f"stats faults {stats['faults']} vs {n_faults}")
    admin("config", {"seed": 2})
    admin("reset", {})
    c = run_retry_sequences()
    check(c != a, "different seed gave the same fault sequences")

    # fail_first_n: each distinct request fails exactly n times first.
    admin("config", {"fault_rate": 0.0, "fail_first_n": 2, "faults": ["503"]})
    admin("reset", {})
    seqs = run_retry_sequences(6)
    check(all(s == ["503", "503", "200"] for s in seqs), f"fail_first_n=2 -> {seqs}")
    # status_override applies to everything.
    admin("config", {"fail_first_n": 0, "status_override": 503})
    st, _, _, _ = call("gemini", "x")
    check(st == 503, f"status_override -> {st}")
    admin("config", {"status_override": None})
    st, _, _, _ = call("gemini", "x")
    check(st == 200, f"status_override null -> {st}")
    # Bad config is rejected atomically.
    st, j = admin("config", {"fault_rate": 2})
    check(st == 400, f"fault_rate 2 accepted: {st}")
    st, j = admin("config", {"latency_ms": 5, "faults": ["explode"]})
    check(st == 400, "unknown fault kind accepted")
    st, j = admin("config", {"nope": 1})
    check(st == 400, "unknown config key accepted")
    _, j = admin("config")
    check(j["latency_ms"] == 0 and j["fault_rate"] == 0 and j["status_override"] is None,
          f"config after rejected updates {j}")


def test_http_framing():
    body = json.dumps(oa_body("What is the capital of Egypt?")).encode()
    # Two keep-alive requests on one connection, then Connection: close.
    req = (f"POST {OA_PATH} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\n"
           f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n").encode()
    out = raw_exchange(req + b"\r\n" + body + req + b"Connection: close\r\n\r\n" + body)
    check(out.count(b"HTTP/1.1 200 OK") == 2 and out.count(b"Cairo") == 2
          and out.count(b"Connection: close") == 1, f"pipelined keep-alive: {out[:200]!r}")
    # Expect: 100-continue.
    with socket.create_connection(("127.0.0.1", S.port), timeout=5) as s:
        s.sendall(req + b"Expect: 100-continue\r\nConnection: close\r\n\r\n")
        interim = s.recv(100)
        s.sendall(body)
        rest = b""
        while chunk := s.recv(65536):
            rest += chunk
    check(interim.startswith(b"HTTP/1.1 100 Continue") and b"Cairo" in rest,
          f"100-continue: {interim!r}")
    # Chunked request body.
    half = len(body) // 2
    chunked = (f"{half:x}\r\n".encode() + body[:half] + b"\r\n"
               + f"{len(body) - half:x}\r\n".encode() + body[half:] + b"\r\n0\r\n\r\n")
    out = raw_exchange(f"POST {OA_PATH} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\n"
                       "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n".encode() + chunked)
    check(out.startswith(b"HTTP/1.1 200") and b"Cairo" in out, f"chunked: {out[:120]!r}")
    out = raw_exchange(b"GARBAGE\r\n\r\n")
    check(out.startswith(b"HTTP/1.1 400"), f"garbage request line: {out[:40]!r}")


async def _concurrency(port, n):
    """Opens n connections, then writes all n requests back to back (no await in
    between, so client-side scheduling cannot stagger them) and reads the replies."""
    body = json.dumps(oa_body("What is the capital of Kenya?")).encode()
    req = (f"POST {OA_PATH} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\n"
           f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
    conns = await asyncio.gather(*[asyncio.open_connection("127.0.0.1", port)
                                   for _ in range(n)])
    t0 = time.monotonic()
    for _, w in conns:
        w.write(req)
    datas = await asyncio.gather(*[r.read() for r, _ in conns])
    dt = time.monotonic() - t0
    for _, w in conns:
        w.close()
    return [d.startswith(b"HTTP/1.1 200") and b"Nairobi" in d for d in datas], dt


def wait_idle(timeout=5.0):
    """Waits for in-flight requests (e.g. an abandoned "hang") to finish."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if admin("stats")[1]["concurrent"] == 0:
            return True
        time.sleep(0.05)
    return False


def test_concurrency_and_stats():
    check(wait_idle(), "requests still in flight")
    admin("reset", {})
    for api in ("openai", "anthropic", "gemini"):
        call(api, "What is the capital of Canada?")
    call("openai", "x", headers={"Authorization": f"Bearer {WRONG}"})
    _, st = admin("stats")
    check(st["requests_total"] == 4, f"requests_total {st['requests_total']}")
    check(st["by_api"]["openai"]["status"] == {"200": 1, "401": 1}
          and st["by_api"]["anthropic"]["status"] == {"200": 1}
          and st["by_api"]["gemini"]["status"] == {"200": 1}, f"by_api {st['by_api']}")
    check(st["concurrent"] == 0 and st["max_concurrent"] == 1, f"concurrency {st}")

    n = 520
    admin("config", {"latency_ms": 200})
    admin("reset", {})
    results, dt = asyncio.run(_concurrency(S.port, n))
    admin("config", {"latency_ms": 0})
    _, st = admin("stats")
    check(len(results) == n and all(results), f"slow requests: {sum(results)}/{n} ok")
    check(st["max_concurrent"] >= 500, f"max_concurrent {st['max_concurrent']} < 500")
    check(dt < 5.0, f"{n} concurrent 200 ms requests took {dt:.2f}s")
    print(f"  {n} concurrent 200 ms requests: {dt:.2f}s wall, max_concurrent "
          f"{st['max_concurrent']}", flush=True)


# Throughput -------------------------------------------------------------------

async def _bench_conn(port, reqs, deadline, counts):
    r, w = await asyncio.open_connection("127.0.0.1", port)
    i = 0
    try:
        while time.perf_counter() < deadline:
            w.write(reqs[i % len(reqs)])
            i += 1
            head = await r.readuntil(b"\r\n\r\n")
            p = head.find(b"Content-Length: ")
            n = int(head[p + 16:head.index(b"\r\n", p)])
            await r.readexactly(n)
            counts[0 if head.startswith(b"HTTP/1.1 200") else 1] += 1
    finally:
        w.close()


async def _bench(port, seconds, conns):
    reqs = []
    for k, q in enumerate(("What is the capital of France?", "Who wrote Hamlet?",
                           "no answer for this one")):
        for path, hdrs, body in (
                (OA_PATH, OA_H, oa_body(q)), (AN_PATH, AN_H, an_body(q)),
                (ge_path(), GE_H, ge_body(q))):
            b = json.dumps(body).encode()
            h = "".join(f"{x}: {y}\r\n" for x, y in hdrs.items())
            reqs.append(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{h}Content-Type: "
                        f"application/json\r\nContent-Length: {len(b)}\r\n\r\n".encode() + b)
    counts = [0, 0]
    t0 = time.perf_counter()
    await asyncio.gather(*[_bench_conn(port, reqs[i % len(reqs):] + reqs[:i % len(reqs)],
                                       t0 + seconds, counts) for i in range(conns)])
    return counts, time.perf_counter() - t0


def bench(seconds, conns):
    admin("config", {"latency_ms": 0, "fault_rate": 0, "fail_first_n": 0,
                     "status_override": None})
    admin("reset", {})
    (ok, bad), dt = asyncio.run(_bench(S.port, seconds, conns))
    _, st = admin("stats")
    rps = ok / dt
    print(f"  throughput: {ok} requests in {dt:.2f}s = {rps:.0f} req/s "
          f"({conns} keep-alive connections, 0 ms latency, {bad} non-200); "
          f"server saw {st['connections_total']} connections", flush=True)
    check(bad == 0, f"{bad} non-200 responses in the benchmark")
    # The benchmark's connections plus the one of the stats request itself.
    check(st["connections_total"] == conns + 1,
          f"benchmark connections were not kept alive: {st['connections_total']}")
    return rps


def main() -> int:
    global S
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench-seconds", type=float, default=2.0)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--min-rps", type=float, default=500.0,
                    help="fail below this throughput (default 500: a sanity floor on a "
                         "loaded machine; the design target is 3000)")
    ap.add_argument("--bench-only", action="store_true")
    args = ap.parse_args()
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError):
        pass

    S = Server()
    t0 = time.monotonic()
    try:
        if not args.bench_only:
            for name, fn in (("success shapes", test_success_shapes), ("auth", test_auth),
                             ("answers and models", test_answers_and_models),
                             ("fault kinds", test_fault_kinds),
                             ("fault determinism and retries", test_determinism),
                             ("HTTP framing", test_http_framing),
                             ("concurrency and stats", test_concurrency_and_stats)):
                print(f"- {name}", flush=True)
                fn()
        print("- throughput", flush=True)
        rps = bench(args.bench_seconds, args.connections)
        check(rps >= args.min_rps, f"throughput {rps:.0f} req/s < {args.min_rps:.0f}")
        if rps < 3000:
            print(f"  note: below the 3000 req/s target (machine load?)", flush=True)
    finally:
        rc = S.stop()
    check(rc == 0, f"server exit status after SIGTERM: {rc}")
    check(not os.path.exists(S.port_file), "port file left behind")
    shutil.rmtree(S.tmp, ignore_errors=True)
    print(f"{CHECKS - len(FAILURES)}/{CHECKS} checks passed in {time.monotonic() - t0:.1f}s",
          flush=True)
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
