#!/usr/bin/env python3
"""Mock LLM provider server for tests, benchmarks and `make demo`.

Speaks enough of three provider APIs that an HTTP client cannot tell it from
the real thing:

  OpenAI     POST .../chat/completions          (Authorization: Bearer KEY or api-key: KEY)
  Anthropic  POST .../v1/messages               (x-api-key: KEY, anthropic-version required)
  Gemini     POST .../models/{model}:generateContent  (x-goog-api-key: KEY; ?key= rejected)

Answers are deterministic (an answers file, echo otherwise), latency and
faults are configurable on the command line and at runtime through
/_admin/* endpoints.  Python 3.11 standard library only: asyncio streams and a
minimal hand-written HTTP/1.1 parser (Content-Length and chunked request
bodies, Expect: 100-continue, keep-alive, Connection: close).

See README.md next to this file for the full description.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import resource
import signal
import sys
import time
from email.utils import formatdate
from urllib.parse import parse_qs, unquote, urlsplit

FAULT_KINDS = ("429", "500", "503", "529", "drop", "malformed", "truncate", "hang")

REASONS = {
    100: "Continue", 200: "OK", 400: "Bad Request", 401: "Unauthorized",
    403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
    408: "Request Timeout", 409: "Conflict", 411: "Length Required",
    413: "Payload Too Large", 422: "Unprocessable Entity", 425: "Too Early",
    429: "Too Many Requests", 431: "Request Header Fields Too Large",
    500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway",
    503: "Service Unavailable", 504: "Gateway Timeout", 529: "Overloaded",
}

# Error "type"/"code"/"status" vocabulary of each API, by HTTP status.
OPENAI_ERR = {
    400: ("invalid_request_error", None), 401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"), 405: ("invalid_request_error", None),
    413: ("invalid_request_error", "request_too_large"),
    429: ("requests", "rate_limit_exceeded"), 500: ("server_error", None),
    503: ("server_error", "service_unavailable"), 529: ("server_error", "overloaded"),
}
ANTHROPIC_ERR = {
    400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
    404: "not_found_error", 405: "invalid_request_error", 413: "request_too_large",
    429: "rate_limit_error", 500: "api_error", 503: "api_error", 529: "overloaded_error",
}
GEMINI_ERR = {
    400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
    404: "NOT_FOUND", 405: "INVALID_ARGUMENT", 409: "ABORTED", 413: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED", 499: "CANCELLED", 500: "INTERNAL", 503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED", 529: "UNAVAILABLE",
}
FAULT_MESSAGES = {
    429: "Rate limit reached for requests (mock). Please try again later.",
    500: "The server had an error while processing your request (mock).",
    503: "The service is temporarily unavailable (mock).",
    529: "The service is overloaded (mock).",
}


class BadConfig(ValueError):
    pass


class Config:
    """Latency and fault settings; every field can be changed at runtime."""

    FIELDS = ("latency_ms", "jitter_ms", "fault_rate", "faults", "seed", "retry_after_s",
              "hang_s", "fail_first_n", "status_override")

    def __init__(self) -> None:
        self.latency_ms = 0.0
        self.jitter_ms = 0.0
        self.fault_rate = 0.0
        self.faults: list[str] = ["429", "500", "503"]
        self.seed = 0
        self.retry_after_s: int | None = 1
        self.hang_s = 30.0
        self.fail_first_n = 0
        self.status_override: int | None = None

    def to_dict(self) -> dict:
        return {f: getattr(self, f) for f in self.FIELDS}

    def update(self, values: dict) -> None:
        """Validates everything first, then applies (all or nothing)."""
        if not isinstance(values, dict):
            raise BadConfig("config must be a JSON object")
        new = self.to_dict()
        for key, val in values.items():
            if key not in self.FIELDS:
                raise BadConfig(f"unknown config key {key!r}; known: {', '.join(self.FIELDS)}")
            new[key] = val

        def num(name, lo=0.0, hi=None):
            v = new[name]
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise BadConfig(f"{name} must be a number")
            if v < lo or (hi is not None and v > hi):
                raise BadConfig(f"{name} out of range")
            return v

        new["latency_ms"] = float(num("latency_ms"))
        new["jitter_ms"] = float(num("jitter_ms"))
        new["fault_rate"] = float(num("fault_rate", 0.0, 1.0))
        new["hang_s"] = float(num("hang_s"))
        new["fail_first_n"] = int(num("fail_first_n"))
        seed = new["seed"]
        if isinstance(seed, bool) or not isinstance(seed, (int, str)):
            raise BadConfig("seed must be an integer or a string")
        if new["retry_after_s"] is not None:
            new["retry_after_s"] = int(num("retry_after_s"))
        faults = new["faults"]
        if isinstance(faults, str):
            faults = [f.strip() for f in faults.split(",") if f.strip()]
        if not isinstance(faults, list):
            raise BadConfig("faults must be a list")
        faults = [str(f) for f in faults]
        for f in faults:
            if not valid_fault(f):
                raise BadConfig(f"unknown fault {f!r}; known: {', '.join(FAULT_KINDS)} "
                                "or any HTTP status 400-599")
        new["faults"] = faults
        so = new["status_override"]
        if so is not None:
            try:
                so = int(so)
            except (TypeError, ValueError):
                raise BadConfig("status_override must be an HTTP status or null") from None
            if not 400 <= so <= 599:
                raise BadConfig("status_override must be 400-599 or null")
            new["status_override"] = so
        for k, v in new.items():
            setattr(self, k, v)


def valid_fault(f: str) -> bool:
    return f in FAULT_KINDS or (len(f) == 3 and f.isdigit() and 400 <= int(f) <= 599)


class Stats:
    def __init__(self) -> None:
        self.reset(0)

    def reset(self, concurrent: int) -> None:
        self.started = time.time()
        self.requests_total = 0
        self.by_api: dict[str, dict[str, int]] = {}
        self.by_status: dict[str, int] = {}
        self.by_model: dict[str, int] = {}
        self.faults: dict[str, int] = {}
        self.input_tokens = 0
        self.output_tokens = 0
        self.concurrent = concurrent
        self.max_concurrent = concurrent
        self.connections_total = 0
        self.admin_requests = 0

    def record(self, api: str, status: str, model: str | None) -> None:
        self.requests_total += 1
        d = self.by_api.get(api)
        if d is None:
            d = self.by_api[api] = {}
        d[status] = d.get(status, 0) + 1
        self.by_status[status] = self.by_status.get(status, 0) + 1
        if model:
            self.by_model[model] = self.by_model.get(model, 0) + 1


class Request:
    __slots__ = ("method", "target", "path", "query", "version", "headers", "body")

    def __init__(self, method, target, version, headers, body):
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.body = body
        if target.startswith(("http://", "https://")):
            parts = urlsplit(target)
            self.path, self.query = parts.path or "/", parts.query
        else:
            self.path, _, self.query = target.partition("?")


class Response:
    __slots__ = ("status", "body", "headers", "action", "label", "ctype")

    def __init__(self, status: int, body: bytes, headers=(), action=None, label=None,
                 ctype="application/json"):
        self.status = status
        self.body = body
        self.headers = headers
        self.action = action          # None, "drop", "truncate"
        self.label = label or str(status)
        self.ctype = ctype


def jdump(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def words(text: str) -> int:
    return len(text.split())


def text_of(content) -> str:
    """Text of an OpenAI/Anthropic message content: a string or a list of parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        out = []
        for part in content:
            if isinstance(part, str):
                out.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                out.append(part["text"])
        return "\n".join(out)
    if isinstance(content, dict) and isinstance(content.get("text"), str):
        return content["text"]
    raise ValueError("content must be a string or a list of content parts")


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class MockLLM:
    def __init__(self, keys: list[str], answers: dict[str, str], config: Config,
                 max_body: int = 64 << 20, verbose: bool = False) -> None:
        self.keys = set(keys)
        self.config = config
        self.initial_config = config.to_dict()
        self.stats = Stats()
        self.attempts: dict[bytes, int] = {}
        self.rng = random.Random(config.seed)
        self.max_body = max_body
        self.verbose = verbose
        self.conn_tasks: set[asyncio.Task] = set()
        self.seq = 0
        self._date = ""
        self._date_at = -1
        self.set_answers(answers)

    # ----------------------------------------------------------------- answers
    def set_answers(self, answers: dict) -> None:
        if not isinstance(answers, dict):
            raise BadConfig("answers must be a JSON object mapping question to answer")
        amap = {}
        for q, a in answers.items():
            if not isinstance(q, str) or not q.strip():
                raise BadConfig("answer keys must be non-empty strings")
            if isinstance(a, (dict, list)) or a is None:
                raise BadConfig(f"answer for {q!r} must be a string")
            amap[q] = a if isinstance(a, str) else json.dumps(a)
        self.answers = amap
        self.answers_exact = {q.strip().casefold(): a for q, a in amap.items()}
        # Longest key first so the most specific question wins.
        self.answers_scan = sorted(((q.casefold(), a) for q, a in amap.items()),
                                   key=lambda qa: (-len(qa[0]), qa[0]))

    def lookup(self, prompt: str) -> str | None:
        folded = prompt.casefold()
        hit = self.answers_exact.get(folded.strip())
        if hit is not None:
            return hit
        for q, a in self.answers_scan:
            if q in folded:
                return a
        return None

    def reply_for(self, model: str, prompt: str) -> str:
        lines = [ln.strip() for ln in prompt.splitlines() if ln.strip()]
        echo = lines[-1] if lines else ""
        m = model.lower()
        if "echo" in m:
            return echo
        answer = self.lookup(prompt)
        if answer is None:
            return echo
        if "sloppy" in m:
            h = int.from_bytes(hashlib.sha256(prompt.encode("utf-8", "surrogatepass"))
                               .digest()[:8], "big")
            if h % 3 == 0:
                return answer.lower() + " probably"
        return answer

    # ------------------------------------------------------------------ faults
    def decide_fault(self, req: Request) -> str | None:
        hdr = req.headers.get("x-mock-fault")
        if hdr:
            return hdr.strip()
        cfg = self.config
        if cfg.status_override is not None:
            return str(cfg.status_override)
        if cfg.fault_rate <= 0 and cfg.fail_first_n <= 0:
            return None
        digest = hashlib.sha256(req.path.encode("utf-8", "surrogateescape") + b"\0"
                                + req.body).digest()
        attempt = self.attempts.get(digest, 0)
        if len(self.attempts) >= 1_000_000 and attempt == 0:
            self.attempts.clear()      # bound memory on endless distinct bodies
        self.attempts[digest] = attempt + 1
        h = hashlib.sha256(f"{cfg.seed}|{attempt}|".encode() + digest).digest()
        forced = attempt < cfg.fail_first_n
        if not forced and (int.from_bytes(h[:8], "big") / 2.0 ** 64) >= cfg.fault_rate:
            return None
        kinds = cfg.faults or ["500"]
        return kinds[int.from_bytes(h[8:16], "big") % len(kinds)]

    # ----------------------------------------------------------------- helpers
    def date(self) -> str:
        now = int(time.time())
        if now != self._date_at:
            self._date_at = now
            self._date = formatdate(now, usegmt=True)
        return self._date

    def next_id(self) -> str:
        self.seq += 1
        return f"{os.getpid():x}{self.seq:08x}"

    @staticmethod
    def error(api: str, status: int, message: str, headers=()) -> Response:
        if api == "anthropic":
            etype = ANTHROPIC_ERR.get(status, "api_error" if status >= 500
                                      else "invalid_request_error")
            body = {"type": "error", "error": {"type": etype, "message": message}}
        elif api == "gemini":
            gstatus = GEMINI_ERR.get(status, "INTERNAL" if status >= 500
                                     else "FAILED_PRECONDITION")
            body = {"error": {"code": status, "message": message, "status": gstatus}}
        else:
            etype, code = OPENAI_ERR.get(status, ("server_error", None) if status >= 500
                                         else ("invalid_request_error", None))
            body = {"error": {"message": message, "type": etype, "param": None, "code": code}}
        return Response(status, jdump(body), headers)

    def check_auth(self, api: str, req: Request) -> Response | None:
        h = req.headers
        if api == "openai":
            key = None
            auth = h.get("authorization")
            if auth is not None:
                scheme, _, cred = auth.partition(" ")
                key = cred.strip() if scheme.lower() == "bearer" else ""
            elif "api-key" in h:
                key = h["api-key"].strip()
            if not key:
                return self.error(api, 401, "You didn't provide an API key. You need to provide "
                                  "your API key in an Authorization header using Bearer auth "
                                  "(i.e. Authorization: Bearer YOUR_KEY).")
            if self.keys and key not in self.keys:
                return self.error(api, 401, "Incorrect API key provided. You can find your API "
                                  "key at https://platform.openai.com/account/api-keys.")
        elif api == "anthropic":
            key = h.get("x-api-key", "").strip()
            if not key:
                return self.error(api, 401, "x-api-key header is required")
            if self.keys and key not in self.keys:
                return self.error(api, 401, "invalid x-api-key")
        else:
            if req.query and "key" in parse_qs(req.query, keep_blank_values=True):
                return self.error(api, 400, "API key passed in the URL query string (?key=) is "
                                  "rejected by this server; send it in the x-goog-api-key header.")
            key = h.get("x-goog-api-key", "").strip()
            if not key:
                return self.error(api, 401, "Method doesn't allow unregistered callers (callers "
                                  "without established identity). Please use API Key or other "
                                  "form of API consumer identity to call this API.")
            if self.keys and key not in self.keys:
                return self.error(api, 401, "API key not valid. Please pass a valid API key.")
        return None

    # --------------------------------------------------------------- dispatch
    @staticmethod
    def classify(path: str) -> str | None:
        if path.endswith("/chat/completions"):
            return "openai"
        if path.endswith("/v1/messages") or path == "/messages":
            return "anthropic"
        if ":generateContent" in path or ":streamGenerateContent" in path:
            return "gemini"
        return None

    async def dispatch(self, req: Request) -> Response:
        path = req.path
        if path.startswith("/_admin/"):
            self.stats.admin_requests += 1
            return self.admin(req)
        api = self.classify(path)
        if api is None:
            if req.method == "GET" and path.endswith("/models"):
                return self.list_models(req)
            resp = self.error("openai", 404, f"Unknown request URL: {req.method} {path}.")
            self.stats.record("other", "404", None)
            return resp
        st = self.stats
        st.concurrent += 1
        if st.concurrent > st.max_concurrent:
            st.max_concurrent = st.concurrent
        model = None
        resp = None
        try:
            if req.method != "POST":
                resp = self.error(api, 405, f"Method {req.method} not allowed; use POST.")
                return resp
            resp = self.check_auth(api, req)
            if resp is not None:
                return resp
            payload = perr = None
            try:
                payload = json.loads(req.body) if req.body else None
                if not isinstance(payload, dict):
                    perr = "The request body must be a JSON object."
            except ValueError:   # includes JSONDecodeError and UnicodeDecodeError
                perr = "We could not parse the JSON body of your request."
            if api == "gemini":
                model = self.gemini_model(path)
            elif payload is not None and isinstance(payload.get("model"), str):
                model = payload["model"]

            delay_ms = self.config.latency_ms
            if self.config.jitter_ms:
                delay_ms += self.rng.uniform(-self.config.jitter_ms, self.config.jitter_ms)
            override = req.headers.get("x-mock-latency-ms")
            if override is not None:
                try:
                    delay_ms = float(override)
                except ValueError:
                    pass
            if delay_ms > 0:
                await asyncio.sleep(delay_ms / 1000.0)

            fault = self.decide_fault(req)
            if fault is not None:
                if not valid_fault(fault):
                    resp = self.error(api, 400, f"X-Mock-Fault: unknown fault {fault!r}")
                    return resp
                st.faults[fault] = st.faults.get(fault, 0) + 1
                if fault == "drop":
                    resp = Response(0, b"", action="drop", label="drop")
                    return resp
                if fault == "hang":
                    await asyncio.sleep(self.config.hang_s)
                elif fault.isdigit():
                    status = int(fault)
                    hdrs = ()
                    if status == 429 and self.config.retry_after_s is not None:
                        hdrs = (("Retry-After", str(self.config.retry_after_s)),)
                    resp = self.error(api, status, FAULT_MESSAGES.get(
                        status, f"Injected HTTP {status} (mock)."), hdrs)
                    return resp

            resp = self.answer(api, req, path, payload, perr, model)
            if fault == "malformed":
                resp = Response(200, resp.body[: max(1, len(resp.body) // 2)] + b'{"mock":',
                                resp.headers, label="200")
            elif fault == "truncate":
                resp.action = "truncate"
            return resp
        finally:
            st.concurrent -= 1
            if resp is not None:
                st.record(api, resp.label, model)

    def gemini_model(self, path: str) -> str:
        i = path.rfind("/models/")
        seg = path[i + 8:] if i >= 0 else path.rsplit("/", 1)[-1]
        return unquote(seg.split(":", 1)[0])

    def answer(self, api, req, path, payload, perr, model) -> Response:
        if api == "anthropic" and not req.headers.get("anthropic-version"):
            return self.error(api, 400, "anthropic-version: header is required")
        if perr is not None:
            return self.error(api, 400, perr)
        try:
            if api == "openai":
                return self.openai(payload)
            if api == "anthropic":
                return self.anthropic(payload)
            if ":streamGenerateContent" in path:
                raise ApiError(400, "streamGenerateContent is not supported by the mock server.")
            return self.gemini(payload, model)
        except ApiError as e:
            return self.error(api, e.status, e.message)
        except (ValueError, TypeError, AttributeError, KeyError) as e:
            return self.error(api, 400, f"Invalid request: {e}")

    def model_hooks(self, model: str) -> None:
        m = model.lower()
        if "notfound" in m:
            raise ApiError(404, f"The model `{model}` does not exist or you do not have access to it.")
        i = m.find("status-")
        if i >= 0 and m[i + 7:i + 10].isdigit():
            status = int(m[i + 7:i + 10])
            if 400 <= status <= 599:
                raise ApiError(status, FAULT_MESSAGES.get(status, f"Mock model status {status}."))

    @staticmethod
    def limit_words(text: str, limit) -> tuple[str, bool]:
        if limit is None or isinstance(limit, bool) or not isinstance(limit, int):
            return text, False
        parts = text.split()
        if len(parts) <= limit:
            return text, False
        return " ".join(parts[:max(limit, 0)]), True

    def openai(self, p: dict) -> Response:
        model = p.get("model")
        if not isinstance(model, str) or not model:
            raise ApiError(400, "you must provide a model parameter")
        msgs = p.get("messages")
        if not isinstance(msgs, list) or not msgs:
            raise ApiError(400, "'messages' must be a non-empty array")
        if p.get("stream"):
            raise ApiError(400, "stream=true is not supported by the mock server")
        self.model_hooks(model)
        prompt = ""
        in_words = 0
        for m in msgs:
            if not isinstance(m, dict) or not isinstance(m.get("role"), str):
                raise ApiError(400, "each message must be an object with a 'role'")
            t = text_of(m.get("content"))
            in_words += words(t)
            if m["role"] == "user":
                prompt = t
        out = self.reply_for(model, prompt)
        limit = p.get("max_completion_tokens", p.get("max_tokens"))
        out, cut = self.limit_words(out, limit)
        ow = words(out)
        self.stats.input_tokens += in_words
        self.stats.output_tokens += ow
        body = {
            "id": "chatcmpl-mock" + self.next_id(),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0,
                         "message": {"role": "assistant", "content": out, "refusal": None},
                         "logprobs": None,
                         "finish_reason": "length" if cut else "stop"}],
            "usage": {"prompt_tokens": in_words, "completion_tokens": ow,
                      "total_tokens": in_words + ow},
            "system_fingerprint": "fp_mock",
        }
        return Response(200, jdump(body), (("x-request-id", "req_mock" + self.next_id()),))

    def anthropic(self, p: dict) -> Response:
        model = p.get("model")
        if not isinstance(model, str) or not model:
            raise ApiError(400, "model: Field required")
        mt = p.get("max_tokens")
        if mt is None:
            raise ApiError(400, "max_tokens: Field required")
        if isinstance(mt, bool) or not isinstance(mt, int) or mt < 1:
            raise ApiError(400, "max_tokens: Input should be a valid positive integer")
        msgs = p.get("messages")
        if not isinstance(msgs, list) or not msgs:
            raise ApiError(400, "messages: Field required")
        if p.get("stream"):
            raise ApiError(400, "stream=true is not supported by the mock server")
        self.model_hooks(model)
        in_words = words(text_of(p.get("system")))
        prompt = ""
        for m in msgs:
            if not isinstance(m, dict) or m.get("role") not in ("user", "assistant"):
                raise ApiError(400, "messages: roles must be 'user' or 'assistant'")
            t = text_of(m.get("content"))
            in_words += words(t)
            if m["role"] == "user":
                prompt = t
        out = self.reply_for(model, prompt)
        out, cut = self.limit_words(out, mt)
        ow = words(out)
        self.stats.input_tokens += in_words
        self.stats.output_tokens += ow
        body = {
            "id": "msg_mock" + self.next_id(),
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": out}],
            "stop_reason": "max_tokens" if cut else "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": in_words, "output_tokens": ow,
                      "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
        }
        return Response(200, jdump(body), (("request-id", "req_mock" + self.next_id()),))

    def gemini(self, p: dict, model: str) -> Response:
        if not model:
            raise ApiError(404, "model not found")
        contents = p.get("contents")
        if not isinstance(contents, list) or not contents:
            raise ApiError(400, "* GenerateContentRequest.contents: contents is not specified")
        self.model_hooks(model)

        def parts_text(c) -> str:
            if not isinstance(c, dict):
                raise ApiError(400, "Invalid value at 'contents': expected an object")
            parts = c.get("parts")
            if not isinstance(parts, list):
                raise ApiError(400, "* GenerateContentRequest.contents.parts: must be a list")
            return "\n".join(x["text"] for x in parts
                             if isinstance(x, dict) and isinstance(x.get("text"), str))

        sysi = p.get("systemInstruction", p.get("system_instruction"))
        in_words = words(parts_text(sysi)) if sysi is not None else 0
        prompt = ""
        for c in contents:
            t = parts_text(c)
            in_words += words(t)
            if c.get("role", "user") == "user":
                prompt = t
        out = self.reply_for(model, prompt)
        gc = p.get("generationConfig", p.get("generation_config")) or {}
        limit = gc.get("maxOutputTokens", gc.get("max_output_tokens")) if isinstance(gc, dict) else None
        out, cut = self.limit_words(out, limit)
        ow = words(out)
        self.stats.input_tokens += in_words
        self.stats.output_tokens += ow
        body = {
            "candidates": [{"content": {"role": "model", "parts": [{"text": out}]},
                            "finishReason": "MAX_TOKENS" if cut else "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": in_words, "candidatesTokenCount": ow,
                              "totalTokenCount": in_words + ow},
            "modelVersion": model,
            "responseId": "mock" + self.next_id(),
        }
        return Response(200, jdump(body), ctype="application/json; charset=UTF-8")

    def list_models(self, req: Request) -> Response:
        denied = self.check_auth("openai", req)
        if denied is not None:
            return denied
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "mock"}
                for m in ("mock-model", "mock-sloppy", "mock-echo")]
        return Response(200, jdump({"object": "list", "data": data}))

    # ------------------------------------------------------------------ admin
    def admin(self, req: Request) -> Response:
        path, m = req.path, req.method
        try:
            payload = json.loads(req.body) if req.body.strip() else {}
        except ValueError as e:
            return Response(400, jdump({"error": f"invalid JSON: {e}"}))
        try:
            if path == "/_admin/stats" and m == "GET":
                return Response(200, jdump(self.stats_dict()))
            if path == "/_admin/config":
                if m == "POST":
                    self.config.update(payload)
                    if "seed" in payload:
                        self.rng.seed(self.config.seed)
                        self.attempts.clear()
                    return Response(200, jdump(self.config.to_dict()))
                if m == "GET":
                    return Response(200, jdump(self.config.to_dict()))
            if path == "/_admin/reset" and m == "POST":
                if isinstance(payload, dict) and payload.get("config"):
                    self.config.update(self.initial_config)
                    self.rng.seed(self.config.seed)
                self.stats.reset(self.stats.concurrent)
                self.attempts.clear()
                return Response(200, jdump({"ok": True}))
            if path == "/_admin/answers":
                if m == "POST":
                    self.set_answers(payload)
                    return Response(200, jdump({"ok": True, "count": len(self.answers)}))
                if m == "GET":
                    return Response(200, jdump({"count": len(self.answers)}))
            if path == "/_admin/health" and m == "GET":
                return Response(200, jdump({"ok": True}))
        except BadConfig as e:
            return Response(400, jdump({"error": str(e)}))
        return Response(404, jdump({"error": f"unknown admin endpoint {m} {path}"}))

    def stats_dict(self) -> dict:
        st = self.stats
        return {
            "requests_total": st.requests_total,
            "by_api": {api: {"total": sum(d.values()), "status": dict(d)}
                       for api, d in st.by_api.items()},
            "by_status": dict(st.by_status),
            "by_model": dict(st.by_model),
            "faults": dict(st.faults),
            "concurrent": st.concurrent,
            "max_concurrent": st.max_concurrent,
            "connections_open": len(self.conn_tasks),
            "connections_total": st.connections_total,
            "tokens": {"input": st.input_tokens, "output": st.output_tokens},
            "admin_requests": st.admin_requests,
            "uptime_s": round(time.time() - st.started, 3),
        }

    # ------------------------------------------------------------------- HTTP
    def head(self, status: int, ctype: str, length: int, extra, close: bool) -> bytes:
        out = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}\r\n"
               f"Content-Type: {ctype}\r\nContent-Length: {length}\r\n"
               f"Date: {self.date()}\r\nServer: mock-llm\r\n"]
        for k, v in extra:
            out.append(f"{k}: {v}\r\n")
        if close:
            out.append("Connection: close\r\n")
        out.append("\r\n")
        return "".join(out).encode("latin-1")

    async def read_chunked(self, reader: asyncio.StreamReader) -> bytes:
        parts, total = [], 0
        while True:
            line = await reader.readuntil(b"\r\n")
            size = int(line.split(b";", 1)[0].strip() or b"x", 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass
                return b"".join(parts)
            total += size
            if total > self.max_body:
                raise OverflowError
            parts.append(await reader.readexactly(size))
            if await reader.readexactly(2) != b"\r\n":
                raise ValueError("bad chunk terminator")

    async def simple(self, writer, status: int, msg: str) -> None:
        body = jdump({"error": {"message": msg, "type": "invalid_request_error",
                                "code": None}})
        writer.write(self.head(status, "application/json", len(body), (), True) + body)
        try:
            await writer.drain()
        except ConnectionError:
            pass

    async def handle_conn(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self.conn_tasks.add(task)
        self.stats.connections_total += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return
                except asyncio.LimitOverrunError:
                    await self.simple(writer, 431, "request header too large")
                    return
                head = head.lstrip(b"\r\n")
                lines = head.split(b"\r\n")
                try:
                    method, target, version = lines[0].decode("latin-1").split(" ")
                    if not version.startswith("HTTP/1."):
                        raise ValueError
                    headers: dict[str, str] = {}
                    for ln in lines[1:]:
                        if not ln:
                            continue
                        k, sep, v = ln.partition(b":")
                        if not sep or not k or k != k.strip():
                            raise ValueError
                        k = k.decode("latin-1").lower()
                        v = v.strip().decode("latin-1")
                        headers[k] = headers[k] + ", " + v if k in headers else v
                except ValueError:
                    await self.simple(writer, 400, "malformed HTTP request")
                    return
                conn_hdr = headers.get("connection", "").lower()
                if version == "HTTP/1.0":
                    keep = "keep-alive" in conn_hdr
                else:
                    keep = "close" not in conn_hdr
                if "100-continue" in headers.get("expect", "").lower():
                    writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                try:
                    if "chunked" in headers.get("transfer-encoding", "").lower():
                        body = await self.read_chunked(reader)
                    else:
                        cl = headers.get("content-length")
                        n = int(cl) if cl else 0
                        if n < 0:
                            raise ValueError
                        if n > self.max_body:
                            raise OverflowError
                        body = await reader.readexactly(n) if n else b""
                except OverflowError:
                    await self.simple(writer, 413, "request body too large")
                    return
                except (ValueError, asyncio.LimitOverrunError):
                    await self.simple(writer, 400, "malformed request body framing")
                    return

                req = Request(method, target, version, headers, body)
                resp = await self.dispatch(req)
                if self.verbose:
                    print(f"{method} {req.path} -> {resp.label}", file=sys.stderr, flush=True)
                if resp.action == "drop":
                    return          # the finally clause closes the socket: no response
                if method == "HEAD":
                    resp.body = b""
                if resp.action == "truncate":
                    b = resp.body
                    writer.write(self.head(resp.status, resp.ctype, len(b) + max(16, len(b)),
                                           resp.headers, True) + b[: len(b) // 2])
                    await writer.drain()
                    return
                writer.write(self.head(resp.status, resp.ctype, len(resp.body), resp.headers,
                                       not keep) + resp.body)
                await writer.drain()
                if not keep:
                    return
        except (ConnectionError, asyncio.IncompleteReadError, OSError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            self.conn_tasks.discard(task)
            try:
                writer.close()
            except Exception:  # noqa: BLE001 - socket already gone
                pass


def raise_nofile() -> None:
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = hard if hard != resource.RLIM_INFINITY else 65536
        if soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    except (ValueError, OSError):
        pass


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description="Mock OpenAI/Anthropic/Gemini server for tests.")
    ap.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    ap.add_argument("--port", type=int, default=0, help="port; 0 picks a free one (default)")
    ap.add_argument("--port-file", help="write the bound port to this file (atomically)")
    ap.add_argument("--key", action="append", default=[],
                    help="accepted API key (repeatable); without any, every non-empty key is accepted")
    ap.add_argument("--key-env", action="append", default=[],
                    help="name of an environment variable holding an accepted key (repeatable)")
    ap.add_argument("--answers", help="JSON object file mapping question text to answer")
    ap.add_argument("--latency-ms", type=float, default=0.0)
    ap.add_argument("--jitter-ms", type=float, default=0.0)
    ap.add_argument("--fault-rate", type=float, default=0.0)
    ap.add_argument("--faults", default="429,500,503",
                    help="comma-separated fault kinds: " + ",".join(FAULT_KINDS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--retry-after-s", type=int, default=1)
    ap.add_argument("--hang-s", type=float, default=30.0)
    ap.add_argument("--fail-first-n", type=int, default=0)
    ap.add_argument("--status-override", type=int, default=None)
    ap.add_argument("--max-body-mb", type=int, default=64)
    ap.add_argument("--verbose", action="store_true", help="log each request to stderr")
    return ap.parse_args(argv)


async def amain(args: argparse.Namespace) -> int:
    cfg = Config()
    try:
        cfg.update({"latency_ms": args.latency_ms, "jitter_ms": args.jitter_ms,
                    "fault_rate": args.fault_rate, "faults": args.faults, "seed": args.seed,
                    "retry_after_s": args.retry_after_s, "hang_s": args.hang_s,
                    "fail_first_n": args.fail_first_n,
                    "status_override": args.status_override})
    except BadConfig as e:
        print(f"mock_llm: {e}", file=sys.stderr)
        return 2
    keys = list(args.key)
    for name in args.key_env:
        if os.environ.get(name):
            keys.append(os.environ[name])
        else:
            print(f"mock_llm: environment variable {name} is empty", file=sys.stderr)
            return 2
    answers = {}
    if args.answers:
        try:
            with open(args.answers, encoding="utf-8") as f:
                answers = json.load(f)
        except (OSError, ValueError) as e:
            print(f"mock_llm: cannot read answers file: {e}", file=sys.stderr)
            return 2
    try:
        app = MockLLM(keys, answers, cfg, max_body=args.max_body_mb << 20, verbose=args.verbose)
    except BadConfig as e:
        print(f"mock_llm: {e}", file=sys.stderr)
        return 2

    raise_nofile()
    server = await asyncio.start_server(app.handle_conn, args.host, args.port,
                                        backlog=4096, limit=1 << 16)
    sock = server.sockets[0]
    host, port = sock.getsockname()[:2]
    if args.port_file:
        tmp = f"{args.port_file}.tmp{os.getpid()}"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, args.port_file)
    print(f"listening on {host}:{port}", flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()
    for t in list(app.conn_tasks):
        t.cancel()
    if app.conn_tasks:
        await asyncio.wait(list(app.conn_tasks), timeout=2)
    await server.wait_closed()
    if args.port_file:
        try:
            os.unlink(args.port_file)
        except OSError:
            pass
    return 0


def main(argv=None) -> int:
    return asyncio.run(amain(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
