#!/usr/bin/env python3
"""Mock LLM provider server for tests, benchmarks and `make demo`.

Speaks enough of three provider APIs that an HTTP client cannot tell it from
the real thing:

  OpenAI     POST .../chat/completions, .../embeddings   (Authorization: Bearer KEY or api-key: KEY)
  Anthropic  POST .../v1/messages               (x-api-key: KEY, anthropic-version required)
  Gemini     POST .../models/{model}:generateContent, :embedContent, :batchEmbedContents
                                                (x-goog-api-key: KEY; ?key= rejected)
  LangSmith  POST .../runs/batch, .../runs      (x-api-key: KEY)
  Batches    OpenAI /v1/files, /v1/batches; Anthropic /v1/messages/batches
             (each line answered by the synchronous endpoint's code path)

Answers are deterministic (an answers file, echo otherwise; LLM-judge prompts
get a computed verdict steered by [[...]] directives in the judged answer;
tool calls in each API's format, steered by [[call=...]] directives and the
tool choice, with the real APIs' validation of tools and tool histories;
embeddings are feature-hashed word vectors), latency and faults are
configurable on the command line and at runtime through /_admin/* endpoints.  Python 3.11 standard library only: asyncio streams and a
minimal hand-written HTTP/1.1 parser (Content-Length and chunked request
bodies, Expect: 100-continue, keep-alive, Connection: close).

See README.md next to this file for the full description.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import hashlib
import json
import math
import os
import random
import re
import resource
import signal
import struct
import sys
import time
import uuid
from email.utils import formatdate
from fractions import Fraction
from typing import NamedTuple
from urllib.parse import parse_qs, unquote, urlsplit

FAULT_KINDS = ("429", "500", "503", "529", "drop", "malformed", "truncate", "hang")

REASONS = {
    100: "Continue", 200: "OK", 202: "Accepted", 400: "Bad Request", 401: "Unauthorized",
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
              "hang_s", "fail_first_n", "status_override",
              "batch_validating_s", "batch_processing_s", "batch_finalizing_s",
              "batch_cancelling_s", "batch_window_s", "openai_batch_max_lines",
              "openai_batch_max_file_mb", "anthropic_batch_max_requests", "anthropic_batch_max_mb")
    BATCH_DURATIONS = ("batch_validating_s", "batch_processing_s", "batch_finalizing_s",
                       "batch_cancelling_s", "batch_window_s")
    BATCH_LIMITS = ("openai_batch_max_lines", "openai_batch_max_file_mb",
                    "anthropic_batch_max_requests", "anthropic_batch_max_mb")

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
        # Batch APIs: durations of the stages (seconds) and the window standing in
        # for the 24 h completion window; the providers' limits.
        self.batch_validating_s = 0.2
        self.batch_processing_s = 0.5
        self.batch_finalizing_s = 0.2
        self.batch_cancelling_s = 0.2
        self.batch_window_s = 5.0
        self.openai_batch_max_lines = 50_000
        self.openai_batch_max_file_mb = 200
        self.anthropic_batch_max_requests = 100_000
        self.anthropic_batch_max_mb = 256

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
        for name in self.BATCH_DURATIONS:
            new[name] = float(num(name))
        for name in self.BATCH_LIMITS:
            v = num(name, 1)
            if v != int(v):
                raise BadConfig(f"{name} must be an integer")
            new[name] = int(v)
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
        self.by_endpoint: dict[str, int] = {}
        self.judge = {"score": 0, "pairwise": 0, "verdicts": 0, "repair": 0}
        self.embed_requests: dict[str, int] = {}    # api -> requests (any status)
        self.embed_texts: dict[str, int] = {}       # api -> texts embedded (200s)
        # api -> {"requests", "calls", "raw_calls", "result_turns"} (tool calling)
        self.tools: dict[str, dict[str, int]] = {}

    def tool_stat(self, api: str, key: str, n: int = 1) -> None:
        d = self.tools.get(api)
        if d is None:
            d = self.tools[api] = {"requests": 0, "calls": 0, "raw_calls": 0, "result_turns": 0}
        d[key] += n

    def record(self, api: str, status: str, model: str | None, endpoint: str = "chat") -> None:
        self.requests_total += 1
        self.by_endpoint[endpoint] = self.by_endpoint.get(endpoint, 0) + 1
        if endpoint == "embeddings":
            self.embed_requests[api] = self.embed_requests.get(api, 0) + 1
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
    def __init__(self, status: int, message: str, param: str | None = None,
                 code: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param      # OpenAI's error.param and error.code
        self.code = code


# ------------------------------------------------------- current OpenAI models
# OpenAI's reasoning models (the o-series, the GPT-5 family) refuse what older
# chat models take, one parameter per 400, with these bodies (as the real API
# words them).
REASONING_MODEL_RE = re.compile(r"^(o\d|gpt-5)")
REASONING_TOKENS = {"minimal": 0, "low": 8, "medium": 16, "high": 32}


def is_reasoning_model(model: str) -> bool:
    return REASONING_MODEL_RE.match(model.lower()) is not None


def unsupported_parameter(name: str, hint: str = "") -> ApiError:
    return ApiError(400, f"Unsupported parameter: '{name}' is not supported with this model.{hint}",
                    name, "unsupported_parameter")


def reasoning_refusals(p: dict, api: str) -> None:
    """Raises the 400 a reasoning model gives the first parameter it refuses."""
    if api == "chat" and "max_tokens" in p:
        raise unsupported_parameter("max_tokens", " Use 'max_completion_tokens' instead.")
    t = p.get("temperature")
    if t is not None and t != 1:
        if api == "responses":
            raise unsupported_parameter("temperature")
        raise ApiError(400, f"Unsupported value: 'temperature' does not support {json.dumps(t)} with "
                       "this model. Only the default (1) value is supported.",
                       "temperature", "unsupported_value")
    for name in ("top_p", "presence_penalty", "frequency_penalty", "logprobs", "top_logprobs"):
        if p.get(name) is not None:
            raise unsupported_parameter(name)


def reasoning_tokens(effort, model: str) -> int:
    """Reasoning tokens a call spends: none for older models, else by effort."""
    if not is_reasoning_model(model):
        if effort is not None:
            raise unsupported_parameter("reasoning_effort")
        return 0
    if effort is None:
        effort = "medium"
    if effort not in REASONING_TOKENS:
        raise ApiError(400, f"Invalid value: {json.dumps(effort)}. Supported values are: 'minimal', "
                       "'low', 'medium', and 'high'.", "reasoning_effort", "invalid_value")
    return REASONING_TOKENS[effort]


# ------------------------------------------------------------------ LLM judge
# Judge prompts come from the extension's workers as the last user message; see
# README.md ("LLM-judge prompts") for the contract implemented here.

WORD_RE = re.compile(r"\w+")
RANGE_RE = re.compile(r"<integer from (-?\d+) to (-?\d+)>")
# A directive is [[name]] or [[name=value]]; they are removed before word counting.
DIRECTIVE_RE = re.compile(r"\[\[\s*([A-Za-z][\w-]*)\s*(?:=\s*([^\[\]]*?)\s*)?\]\]")
# Tokens of a reply for logprobs: a number (with its minus sign and decimals) is
# one token; the tokens always concatenate back to the reply.
TOKEN_RE = re.compile(r"-?\d+(?:\.\d+)?|\w+|\s+|[^\w\s]")
INT_RE = re.compile(r"-?\d+")
JUDGE_TAGS = ("criteria", "question", "context", "contexts", "reference", "conversation",
              "goal", "tool_calls", "answer", "answer_a", "answer_b")
SUPPORT_TAGS = ("question", "context", "reference")     # and the chunks of <contexts>
MALFORMED_SCORE = "score: high (not JSON)"
MALFORMED_WINNER = "winner: unclear (not JSON)"
MALFORMED_VERDICTS = "verdicts: unclear (not JSON)"
# A judge of one yes/no verdict per item (llmeval._judge_prompt, definition
# "verdicts") is known by this text outside the sections; the built-in
# metrics by their instruction (also outside the sections, before it).
VERDICTS_MARK = 'Respond with only a JSON object: {"verdicts": ['
VERDICT_METRICS = (
    ("context_precision", re.compile(r"one verdict for each of the \w+ retrieved chunks")),
    ("context_recall", re.compile(r"Split the reference answer into its statements")),
    ("conversation_completeness",
     re.compile(r"List the user's intentions in the conversation")),
    ("turn_relevancy", re.compile(r"one verdict for each of the \w+ assistant turns with text\b"
                                  r".*?against the (\d+) messages before it", re.S)),
)
CHUNK_RE = re.compile(r"\[(\d+)\] ?(.*)")                    # "[2] chunk text"
MESSAGE_RE = re.compile(r"\[(\w+) (\d+)( calls)?\] ?(.*)")  # "[assistant 2 calls] name {...}"
STATEMENT_END_RE = re.compile(r"(?<=[.!?])(?=\s|$)")
EXTRA_VERDICT = {"item": "an item that was not asked for", "verdict": "yes",
                 "reason": "an extra verdict ([[judge=extra]])"}
PROSE_HEAD = "Here is my assessment.\n```json\n"
PROSE_TAIL = "\n```\nLet me know if you need more detail."
QUOTE_TAIL = "\n\nMy verdict:\n"


class Judge(NamedTuple):
    kind: str                   # "score", "pairwise" or "verdicts"
    sections: dict[str, str]    # tag -> stripped inner text (only the tags present)
    lo: int                     # score range (score judges; 0 for the others)
    hi: int
    repair: bool                # the prompt carries <previous_reply>
    text: str                   # the prompt without its <previous_reply> section
    metric: str = ""            # verdicts: a VERDICT_METRICS name, "" for another instruction
    window: int = 0             # verdicts, turn_relevancy: the messages before a turn
    last: str = ""              # the tag of the last section in the prompt


class Message(NamedTuple):
    role: str                   # lowercase: user, assistant, tool, system, ...
    calls: bool                 # an "[assistant N calls]" line
    text: str


class Reply(NamedTuple):
    text: str
    score_at: int | None = None                    # offset of the stated score in text
    dist: list[tuple[str, float]] | None = None    # score token alternatives (token, p)


def section_span(text: str, tag: str) -> tuple[int, int, str] | None:
    """The last <tag> that has a </tag> after it: (outer start, outer end, inner text)."""
    open_, close = f"<{tag}>", f"</{tag}>"
    end = len(text)
    while True:
        i = text.rfind(open_, 0, end)
        if i < 0:
            return None
        j = text.find(close, i + len(open_))
        if j >= 0:
            return i, j + len(close), text[i + len(open_):j]
        end = i


def quoted(text: str, tag: str) -> str:
    """A section as a careless reader quotes it: from its opening tag (the one
    section_span finds) to the text's *last* </tag>, so that text injected after
    a fake </tag> inside the section is quoted too; stripped."""
    start, _, _ = section_span(text, tag)
    return text[start + len(tag) + 2:text.rfind(f"</{tag}>")].strip()


def with_quote(rep: Reply, head: str) -> Reply:
    """[[judge=quote]]: the verdict after a quote of the judged answer(s)."""
    head += QUOTE_TAIL
    return rep._replace(text=head + rep.text,
                        score_at=None if rep.score_at is None else len(head) + rep.score_at)


def directives(text: str) -> list[tuple[str, str]]:
    return [(m.group(1).lower(), (m.group(2) or "").strip()) for m in DIRECTIVE_RE.finditer(text)]


def word_set(text: str) -> set[str]:
    return set(WORD_RE.findall(DIRECTIVE_RE.sub(" ", text).lower()))


def detect_judge(prompt: str) -> Judge | None:
    """Parses a score, pairwise or verdicts judge prompt; None for anything else."""
    if "<answer" not in prompt and VERDICTS_MARK not in prompt:
        return None
    text, repair = prompt, False
    prev = section_span(prompt, "previous_reply")
    if prev is not None:
        text, repair = prompt[:prev[0]] + prompt[prev[1]:], True
    spans = {tag: sp for tag in JUDGE_TAGS if (sp := section_span(text, tag)) is not None}
    sections = {tag: sp[2].strip() for tag, sp in spans.items()}
    last = max(spans, key=lambda tag: spans[tag][0]) if spans else ""
    # The range and the instruction are read outside the sections, so judged
    # text cannot fake them.
    pieces, pos = [], 0
    for start, end, _ in sorted(spans.values()):
        if start >= pos:
            pieces.append(text[pos:start])
            pos = end
    pieces.append(text[pos:])
    frame = " ".join(pieces)
    mark = frame.rfind(VERDICTS_MARK)
    if mark >= 0:
        instruction = frame[:mark]
        for metric, rx in VERDICT_METRICS:
            m = rx.search(instruction)
            if m is not None:
                window = int(m.group(1)) if rx.groups else 0
                return Judge("verdicts", sections, 0, 0, repair, text, metric, window, last)
        return Judge("verdicts", sections, 0, 0, repair, text, "", 0, last)
    if "answer_a" in sections and "answer_b" in sections:
        return Judge("pairwise", sections, 0, 0, repair, text, last=last)
    if "answer" not in sections:
        return None
    ranges = RANGE_RE.findall(frame)
    if not ranges:
        return None
    lo, hi = sorted((int(ranges[-1][0]), int(ranges[-1][1])))
    return Judge("score", sections, lo, hi, repair, text, last=last)


def numbered(text: str, rx: re.Pattern) -> list[tuple[re.Match, str]]:
    """The entries of a section written one per "[...] text" line at the start
    of a line (rx): (the header match, the text with its continuation lines).
    Lines before the first header are left out."""
    out: list[list] = []
    for line in text.split("\n"):
        m = rx.match(line)
        if m is not None:
            out.append([m, m.group(m.re.groups)])
        elif out:
            out[-1][1] += "\n" + line
    return [(m, t.strip()) for m, t in out]


def chunks_of(j: Judge) -> list[str]:
    """The retrieved chunks: the "[k] text" entries of <contexts>, else the
    whole <context> as one chunk (when not empty)."""
    if "contexts" in j.sections:
        return [t for _, t in numbered(j.sections["contexts"], CHUNK_RE)]
    ctx = j.sections.get("context", "")
    return [ctx] if ctx else []


def messages_of(j: Judge) -> list[Message]:
    """The messages of <conversation>: one per "[role N]" line at the start of a
    line, with its continuation lines."""
    return [Message(m.group(1).lower(), m.group(3) is not None, t)
            for m, t in numbered(j.sections.get("conversation", ""), MESSAGE_RE)]


def statements(text: str) -> list[str]:
    """A text split after each . ! or ? that whitespace or the end follows."""
    return [s for part in STATEMENT_END_RE.split(text) if (s := part.strip())]


def tool_words(text: str) -> set[str]:
    """The words of a <tool_calls> section: the calls' names and argument
    values (keys left out); the whole text's words if it is not a JSON array."""
    try:
        calls = json.loads(text)
    except ValueError:
        return word_set(text)
    if not isinstance(calls, list):
        return word_set(text)
    out: set[str] = set()

    def leaves(v) -> None:
        if isinstance(v, dict):
            for x in v.values():
                leaves(x)
        elif isinstance(v, list):
            for x in v:
                leaves(x)
        elif isinstance(v, str):
            out.update(word_set(v))
        elif v is not None:
            out.update(word_set(json.dumps(v)))

    for c in calls:
        if isinstance(c, dict):
            leaves(c.get("name"))
            leaves(c.get("arguments"))
        else:
            leaves(c)
    return out


def support(answer: str, ref: set[str]) -> tuple[int, int]:
    """(supported, total) distinct answer words; supported = also in ref."""
    a = word_set(answer)
    return len(a & ref), len(a)


def support_words(j: Judge) -> set[str]:
    out: set[str] = set()
    for tag in SUPPORT_TAGS:
        if tag in j.sections:
            out |= word_set(j.sections[tag])
    if "contexts" in j.sections:
        for chunk in chunks_of(j):
            out |= word_set(chunk)
    return out


def default_score(n: int, d: int, lo: int, hi: int) -> int:
    """lo + round_half_up(n/d * (hi - lo)), exactly; lo when the answer has no words."""
    if d == 0:
        return lo
    return lo + math.floor(Fraction(n, d) * (hi - lo) + Fraction(1, 2))


def parse_logprobs_directive(value: str) -> list[tuple[str, float]] | None:
    """"3:0.5,4:0.3" -> [("3", 0.5), ("4", 0.3)] sorted by p descending (stable)."""
    out = []
    for item in value.split(","):
        tok, sep, p = item.partition(":")
        tok = tok.strip()
        try:
            prob = float(p)
        except ValueError:
            return None
        if not sep or not tok or not 0.0 < prob <= 1.0:
            return None
        out.append((tok, prob))
    return sorted(out, key=lambda tp: -tp[1]) or None


def default_dist(stated: str, lo: int) -> list[tuple[str, float]]:
    if INT_RE.fullmatch(stated) and int(stated) - 1 >= lo:
        return [(stated, 0.9), (str(int(stated) - 1), 0.1)]
    return [(stated, 1.0)]


def mode_on(modes: set[str], name: str, repair: bool) -> bool:
    """[[judge=NAME]], or [[judge=NAME-once]] on a first request (not a repair)."""
    return name in modes or (name + "-once" in modes and not repair)


def render_form(body: str, at: int | None, modes: set[str], repair: bool,
                malformed: str) -> Reply:
    """A JSON reply in the requested form (at: the score's offset in body)."""
    if mode_on(modes, "malformed", repair):
        return Reply(malformed)
    if "prose" in modes:
        return Reply(PROSE_HEAD + body + PROSE_TAIL, None if at is None else len(PROSE_HEAD) + at)
    return Reply(body, at)


def render_verdict(head: str, value: str, reason: str, modes: set[str], repair: bool,
                   malformed: str) -> Reply:
    """The JSON verdict '{"<head>": <value>, "reason": ...}' in the requested form."""
    prefix = '{"' + head + '": '
    body = prefix + value + ', "reason": ' + json.dumps(reason) + "}"
    return render_form(body, len(prefix), modes, repair, malformed)


def cut_item(text: str) -> str:
    """An item as a verdict names it: whitespace runs made one space, 60 characters."""
    return " ".join(text.split())[:60].rstrip()


def rule_verdicts(j: Judge) -> list[tuple[str, bool, str]]:
    """(item text, yes, reason) per item, by the rules of j.metric (README:
    "Verdict judges")."""
    out = []
    if j.metric == "context_precision":
        ref = word_set(j.sections.get("reference", ""))
        for chunk in chunks_of(j):
            n = len(ref & word_set(chunk))
            out.append((chunk, 2 * n >= len(ref),
                        f"{n} of {len(ref)} reference words are in the chunk"))
    elif j.metric == "context_recall":
        known: set[str] = set()
        for chunk in chunks_of(j):
            known |= word_set(chunk)
        for st in statements(j.sections.get("reference", "")):
            w = word_set(st)
            n = len(w & known)
            out.append((st, 2 * n >= len(w), f"{n} of {len(w)} statement words are in the chunks"))
    elif j.metric == "conversation_completeness":
        msgs = messages_of(j)
        for i, m in enumerate(msgs):
            if m.role != "user":
                continue
            reply = None
            for x in msgs[i + 1:]:
                if x.role == "user":
                    break
                if x.role == "assistant" and not x.calls:
                    reply = x
                    break
            u = word_set(m.text)
            if reply is None:
                out.append((m.text, False, "no assistant reply follows the request"))
            else:
                n = len(u & word_set(reply.text))
                out.append((m.text, n > 0, f"{n} of {len(u)} request words are in the reply"))
        # The user's goal, when stated: one more intention, satisfied when the
        # last assistant text shares a word with it.
        goal = j.sections.get("goal", "")
        if goal:
            last = next((x for x in reversed(msgs) if x.role == "assistant" and not x.calls), None)
            g = word_set(goal)
            n = len(g & word_set(last.text)) if last is not None else 0
            out.append((goal, n > 0, f"{n} of {len(g)} goal words are in the last reply"))
    elif j.metric == "turn_relevancy":
        msgs = messages_of(j)
        for i, m in enumerate(msgs):
            if m.role != "assistant" or m.calls:
                continue
            before = msgs[max(0, i - j.window):i]
            known = set()
            for x in before:
                known |= word_set(x.text)
            t = word_set(m.text)
            n = len(t & known)
            out.append((m.text, n > 0,
                        f"{n} of {len(t)} turn words are in the {len(before)} messages before it"))
    else:
        for line in j.sections.get(j.last, "").split("\n"):
            if line.strip():
                out.append((line.strip(), True, "no rule for this instruction: yes"))
    return out




def logprobs_content(text: str, score_at: int | None, dist, k: int) -> list[dict]:
    """OpenAI choices[0].logprobs.content for a reply: p = 1 everywhere except the
    score token, whose alternatives are dist (the first k of them)."""
    out = []
    for m in TOKEN_RE.finditer(text):
        tok = m.group()
        if dist and m.start() == score_at:
            tops = [(t, math.log(p)) for t, p in dist[:k]]
            lp = next((math.log(p) for t, p in dist if t == tok), 0.0)
        else:
            tops, lp = [(tok, 0.0)], 0.0
        out.append({"token": tok, "logprob": lp, "bytes": list(tok.encode("utf-8", "replace")),
                    "top_logprobs": [{"token": t, "logprob": x,
                                      "bytes": list(t.encode("utf-8", "replace"))}
                                     for t, x in tops]})
    return out


# ----------------------------------------------------------------- embeddings
EMBED_DIM = 64
MAX_EMBED_DIM = 8192


def embed(text: str, dim: int = EMBED_DIM) -> list[float]:
    """Feature hashing of lowercase \\w+ words (md5: 4 bytes index, 1 bit sign),
    L2-normalised; a zero vector becomes the unit vector e0."""
    v = [0.0] * dim
    for w in WORD_RE.findall(text.lower()):
        h = hashlib.md5(w.encode("utf-8", "surrogatepass"), usedforsecurity=False).digest()
        v[int.from_bytes(h[:4], "little") % dim] += 1.0 if h[4] & 1 else -1.0
    norm = math.sqrt(sum(x * x for x in v))
    if norm == 0.0:
        v[0] = 1.0
        return v
    return [x / norm for x in v]


def embed_dim(value, name: str) -> int:
    if value is None:
        return EMBED_DIM
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_EMBED_DIM:
        raise ApiError(400, f"{name} must be an integer from 1 to {MAX_EMBED_DIM}")
    return value


# ------------------------------------------------------------------ LangSmith
RUN_TYPES = ("llm", "chain", "tool", "retriever", "embedding", "prompt", "parser")
MAX_STORED_RUNS = 100_000


def run_problem(run, where: str, op: str) -> str | None:
    """Why LangSmith would reject this run (422), or None."""
    if not isinstance(run, dict):
        return f"{where}: run must be an object"
    rid = run.get("id")
    try:
        if not isinstance(rid, str):
            raise ValueError
        uuid.UUID(rid)
    except ValueError:
        return f"{where}.id: must be a UUID string"
    if op == "patch":
        return None
    if not isinstance(run.get("name"), str) or not run["name"]:
        return f"{where}.name: field required (non-empty string)"
    if run.get("run_type") not in RUN_TYPES:
        return f"{where}.run_type: must be one of {', '.join(RUN_TYPES)}"
    st = run.get("start_time")
    if isinstance(st, bool) or not isinstance(st, (str, int, float)) or st == "":
        return f"{where}.start_time: field required (ISO 8601 string)"
    return None


# --------------------------------------------------------------- tool calling
# Function calling in the three providers' formats; see README.md ("Tool
# calls"). Which calls the model makes is decided by [[call=...]] directives
# and the request's tool choice; the request is validated as the real APIs
# do, with their error texts. Nothing is remembered between requests: a
# history that ends with tool results is answered from those results.

# [[call=NAME]], [[call=NAME {json object}]] and [[call-raw=NAME text]]
CALL_RE = re.compile(r"\[\[\s*call(-raw)?\s*=\s*([^\s\[\]{}]+)")
OPENAI_TOOL_NAME_RE = re.compile(r"[a-zA-Z0-9_-]+")
ANTHROPIC_TOOL_NAME_RE = re.compile(r"[a-zA-Z0-9_-]{1,128}")
GEMINI_TOOL_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.:-]{0,63}")
GEMINI_TYPES = ("TYPE_UNSPECIFIED", "STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT",
                "NULL")
GEMINI_MODES = {"MODE_UNSPECIFIED": "auto", "AUTO": "auto", "VALIDATED": "auto", "ANY": "required",
                "NONE": "none"}
GEMINI_BAD_NAME = ("Invalid function name. Must start with a letter or an underscore. Must be "
                   "alphameric (a-z, A-Z, 0-9), underscores (_), dots (.), colons (:), or dashes (-), "
                   "with a maximum length of 64.")
GEMINI_CALL_ORDER = ("Please ensure that function call turn comes immediately after a user turn or "
                     "after a function response turn.")
GEMINI_RESPONSE_ORDER = ("Please ensure that function response turn comes immediately after a "
                         "function call turn.")
GEMINI_RESPONSE_COUNT = ("Please ensure that the number of function response parts is equal to the "
                         "number of function call parts of the function call turn.")
JSON_DECODER = json.JSONDecoder()


class Call(NamedTuple):
    """A tool call the model makes."""
    name: str
    args: dict | None           # the arguments; None: built from the tool's schema
    raw: str | None = None      # [[call-raw=...]]: the arguments text as written


class ToolReq(NamedTuple):
    """A request's function tools, validated."""
    schemas: dict               # name -> parameters schema, in declaration order
    mode: str                   # "auto", "none" or "required"
    forced: str | None          # the tool a named tool choice forces
    allowed: list | None        # Gemini allowedFunctionNames
    parallel: bool              # several calls allowed in one turn
    words: int                  # input words of the definitions


def canon(args) -> str:
    """The JSON form whose words count as tokens (json.dumps' default separators)."""
    return json.dumps(args, ensure_ascii=False)


def call_words(c: Call) -> int:
    return words(c.name) + words(c.raw if c.raw is not None else canon(c.args))


def call_directives(text: str) -> list[Call]:
    """The [[call=...]] / [[call-raw=...]] directives of a text, in order; a
    directive whose arguments are not a JSON object is ignored."""
    if "[[" not in text:
        return []
    out = []
    for m in CALL_RE.finditer(text):
        name, pos = m.group(2), m.end()
        if m.group(1):
            end = text.find("]]", pos)
            if end >= 0:
                out.append(Call(name, None, text[pos:end].strip()))
            continue
        while pos < len(text) and text[pos].isspace():
            pos += 1
        args = None
        if text.startswith("{", pos):
            try:
                args, pos = JSON_DECODER.raw_decode(text, pos)
            except ValueError:
                continue
            if not isinstance(args, dict):
                continue
            while pos < len(text) and text[pos].isspace():
                pos += 1
        if text.startswith("]]", pos):
            out.append(Call(name, args))
    return out


def placeholder(name: str, s, depth: int = 0):
    """A value for a property of schema s: const, first enum value, default,
    else by type (string: the property's name, number/integer: minimum or 0,
    boolean: false, array: [], object: its required properties, null: null)."""
    if not isinstance(s, dict):
        return name
    if "const" in s:
        return s["const"]
    enum = s.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    if "default" in s:
        return s["default"]
    for alt in ("anyOf", "oneOf"):
        if isinstance(s.get(alt), list) and s[alt]:
            return placeholder(name, s[alt][0], depth + 1)
    t = s.get("type")
    if isinstance(t, list):
        t = next((x for x in t if isinstance(x, str) and x.lower() != "null"), "null")
    t = t.lower() if isinstance(t, str) else ("object" if "properties" in s else None)
    if t == "string":
        return name
    if t in ("integer", "number"):
        lo = s.get("minimum")
        return lo if isinstance(lo, (int, float)) and not isinstance(lo, bool) else 0
    if t == "boolean":
        return False
    if t == "array":
        return []
    if t == "object":
        return default_args(s, depth + 1)
    return None


def default_args(schema, depth: int = 0) -> dict:
    """Arguments built from a JSON Schema object: its required properties,
    in the order of `required`, with placeholder values."""
    if not isinstance(schema, dict) or depth > 16:
        return {}
    props = schema.get("properties")
    props = props if isinstance(props, dict) else {}
    req = schema.get("required")
    return {k: placeholder(k, props.get(k), depth) for k in req if isinstance(k, str)} \
        if isinstance(req, list) else {}


def choose_calls(tr: ToolReq | None, text: str) -> list[Call]:
    """The calls a turn makes: the directives' calls of declared (and allowed)
    tools; with a required or forced choice and no such directive, one call of
    the forced (or first allowed) tool with arguments from its schema."""
    if tr is None or tr.mode == "none" or not tr.schemas:
        return []
    ok = {tr.forced} if tr.forced else (set(tr.allowed) if tr.allowed else None)
    calls = [c for c in call_directives(text)
             if c.name in tr.schemas and (ok is None or c.name in ok)]
    if not calls and tr.mode == "required":
        calls = [Call(tr.forced or next(n for n in tr.schemas if ok is None or n in ok), None)]
    if not tr.parallel:
        calls = calls[:1]
    return [c if c.args is not None or c.raw is not None
            else c._replace(args=default_args(tr.schemas[c.name])) for c in calls]


def fit_calls(calls: list[Call], limit) -> tuple[list[Call], Call | None, int, int]:
    """Calls within an output limit (words): (the calls that fit whole, the
    first one that does not or None, the words left for it, the words used)."""
    used = 0
    for i, c in enumerate(calls):
        w = call_words(c)
        if limit is not None and used + w > limit:
            return calls[:i], c, limit - used, used
        used += w
    return calls, None, 0, used


def output_limit(limit, rt: int) -> int | None:
    """An output limit in words, after the reasoning tokens it also counts."""
    if limit is None or isinstance(limit, bool) or not isinstance(limit, int):
        return None
    return max(limit - rt, 0)


def results_reply(results: list[tuple[str, str, bool]]) -> str:
    """The answer to a turn of tool results: 'Based on NAME: CONTENT; ...'."""
    return "Based on " + "; ".join(f"{n} (error): {c.strip()}" if err else f"{n}: {c.strip()}"
                                   for n, c, err in results)


def missing_param(where: str) -> ApiError:
    return ApiError(400, f"Missing required parameter: '{where}'.", where,
                    "missing_required_parameter")


def invalid_type(where: str, expected: str, value) -> ApiError:
    return ApiError(400, f"Invalid type for '{where}': expected {expected}, but got "
                    f"{json_type(value)} instead.", where, "invalid_type")


def mock_unsupported(what: str, param: str | None = None) -> ApiError:
    return ApiError(400, f"{what} is not supported by the mock server.", param)


def oa_check_name(name, where: str) -> None:
    """OpenAI's rules for a function name (tools and replayed tool calls)."""
    if not isinstance(name, str):
        raise invalid_type(where, "a string", name)
    if not name:
        raise ApiError(400, f"Invalid '{where}': string too short. Expected a string with minimum "
                       "length 1, but got an empty string instead.", where,
                       "string_below_min_length")
    if len(name) > 64:
        raise ApiError(400, f"Invalid '{where}': string too long. Expected a string with maximum "
                       f"length 64, but got a string with length {len(name)} instead.", where,
                       "string_above_max_length")
    if not OPENAI_TOOL_NAME_RE.fullmatch(name):
        raise ApiError(400, f"Invalid '{where}': string does not match pattern. Expected a string "
                       "that matches the pattern '^[a-zA-Z0-9_-]+$'.", where, "invalid_value")


def strict_problem(s, ctx: tuple) -> str | None:
    """Why a schema cannot be used in OpenAI's strict mode (every object:
    additionalProperties false and every property required), or None."""
    if not isinstance(s, dict):
        return None
    t = s.get("type")
    if t == "object" or (isinstance(t, list) and "object" in t):
        if s.get("additionalProperties") is not False:
            return (f"In context={ctx!r}, 'additionalProperties' is required to be supplied and to "
                    "be false.")
        props = s.get("properties") if isinstance(s.get("properties"), dict) else {}
        req = s.get("required") if isinstance(s.get("required"), list) else []
        lacking = [k for k in props if k not in req]
        if lacking:
            return (f"In context={ctx!r}, 'required' is required to be supplied and to be an array "
                    f"including every key in properties. Missing '{lacking[0]}'.")
        for k, sub in props.items():
            if (r := strict_problem(sub, ctx + ("properties", k))) is not None:
                return r
    if (r := strict_problem(s.get("items"), ctx + ("items",))) is not None:
        return r
    for alt in ("anyOf", "oneOf", "allOf"):
        for i, sub in enumerate(s.get(alt) if isinstance(s.get(alt), list) else ()):
            if (r := strict_problem(sub, ctx + (alt, str(i)))) is not None:
                return r
    for defs in ("$defs", "definitions"):
        for k, sub in (s.get(defs).items() if isinstance(s.get(defs), dict) else ()):
            if (r := strict_problem(sub, ctx + (defs, k))) is not None:
                return r
    return None


def oa_check_parameters(fname: str, params, where: str, strict: bool) -> dict:
    """An OpenAI function's parameters schema, validated; {} when omitted."""
    if params is None:
        return {}
    if not isinstance(params, (dict, bool)):
        raise ApiError(400, f"Invalid schema for function '{fname}': {params!r} is not of type "
                       "'object', 'boolean'.", where, "invalid_function_parameters")
    t = params.get("type") if isinstance(params, dict) else None
    if t != "object":
        raise ApiError(400, f"Invalid schema for function '{fname}': schema must be a JSON Schema "
                       f"of 'type: \"object\"', got 'type: \"{t}\"'.", where,
                       "invalid_function_parameters")
    if strict and (why := strict_problem(params, ())) is not None:
        raise ApiError(400, f"Invalid schema for function '{fname}': {why}", where,
                       "invalid_function_parameters")
    return params


def oa_check_choice_type(tc, where: str = "tool_choice") -> None:
    if not isinstance(tc, (str, dict)):
        raise invalid_type(where, "one of a string or an object", tc)
    if isinstance(tc, str) and tc not in ("none", "auto", "required"):
        raise ApiError(400, f"Invalid value: '{tc}'. Supported values are: 'none', 'auto', and "
                       "'required'.", where, "invalid_value")


def oa_chat_tools(p: dict) -> ToolReq | None:
    """tools, tool_choice and parallel_tool_calls of a chat completions request."""
    tools, tc, ptc = p.get("tools"), p.get("tool_choice"), p.get("parallel_tool_calls")
    if tools is None:
        if tc is not None:
            raise ApiError(400, "Invalid value for 'tool_choice': 'tool_choice' is only allowed "
                           "when 'tools' are specified.", "tool_choice")
        if ptc is not None:
            raise ApiError(400, "Invalid value for 'parallel_tool_calls': 'parallel_tool_calls' is "
                           "only allowed when 'tools' are specified.", "parallel_tool_calls")
        return None
    if not isinstance(tools, list):
        raise invalid_type("tools", "an array", tools)
    if not tools:
        raise ApiError(400, "Invalid 'tools': empty array. Expected an array with minimum length 1, "
                       "but got an empty array instead.", "tools", "empty_array")
    schemas, nwords = {}, 0
    for i, t in enumerate(tools):
        where = f"tools[{i}]"
        if not isinstance(t, dict):
            raise invalid_type(where, "an object", t)
        if "type" not in t:
            raise missing_param(f"{where}.type")
        if t["type"] == "custom":
            raise mock_unsupported("Custom tools (type 'custom')", f"{where}.type")
        if t["type"] != "function":
            raise ApiError(400, f"Invalid value: '{t['type']}'. Supported values are: 'function' and "
                           "'custom'.", f"{where}.type", "invalid_value")
        f = t.get("function")
        if f is None:
            raise missing_param(f"{where}.function")
        if not isinstance(f, dict):
            raise invalid_type(f"{where}.function", "an object", f)
        name = f.get("name")
        if name is None:
            raise missing_param(f"{where}.function.name")
        oa_check_name(name, f"{where}.function.name")
        if f.get("description") is not None and not isinstance(f["description"], str):
            raise invalid_type(f"{where}.function.description", "a string", f["description"])
        strict = f.get("strict")
        if strict is not None and not isinstance(strict, bool):
            raise invalid_type(f"{where}.function.strict", "a boolean", strict)
        params = oa_check_parameters(name, f.get("parameters"), f"{where}.function.parameters",
                                     strict is True)
        schemas.setdefault(name, params)
        nwords += words(canon(t))
    mode, forced = "auto", None
    if tc is not None:
        oa_check_choice_type(tc)
        if isinstance(tc, str):
            mode = tc
        else:
            ty = tc.get("type")
            if ty is None:
                raise missing_param("tool_choice.type")
            if ty in ("allowed_tools", "custom"):
                raise mock_unsupported(f"tool_choice of type '{ty}'", "tool_choice.type")
            if ty != "function":
                raise ApiError(400, f"Invalid value: '{ty}'. Supported values are: 'function', "
                               "'allowed_tools', and 'custom'.", "tool_choice.type", "invalid_value")
            fn = tc.get("function")
            if fn is None:
                raise missing_param("tool_choice.function")
            if not isinstance(fn, dict):
                raise invalid_type("tool_choice.function", "an object", fn)
            if fn.get("name") is None:
                raise missing_param("tool_choice.function.name")
            if not isinstance(fn["name"], str):
                raise invalid_type("tool_choice.function.name", "a string", fn["name"])
            if fn["name"] not in schemas:
                raise ApiError(400, "Tool choice 'function' not found in 'tools' parameter.",
                               "tool_choice")
            mode, forced = "required", fn["name"]
    if ptc is not None and not isinstance(ptc, bool):
        raise invalid_type("parallel_tool_calls", "a boolean", ptc)
    return ToolReq(schemas, mode, forced, None, ptc is not False, nwords)


def oa_responses_tools(p: dict) -> ToolReq | None:
    """tools, tool_choice and parallel_tool_calls of a Responses API request."""
    tools, tc, ptc = p.get("tools"), p.get("tool_choice"), p.get("parallel_tool_calls")
    if tools is not None and not isinstance(tools, list):
        raise invalid_type("tools", "an array", tools)
    schemas, nwords = {}, 0
    for i, t in enumerate(tools or ()):
        where = f"tools[{i}]"
        if not isinstance(t, dict):
            raise invalid_type(where, "an object", t)
        if "type" not in t:
            raise missing_param(f"{where}.type")
        if t["type"] != "function":
            raise mock_unsupported(f"Tools of type '{t['type']}' (only 'function' tools are)",
                                   f"{where}.type")
        name = t.get("name")
        if name is None:
            raise missing_param(f"{where}.name")
        oa_check_name(name, f"{where}.name")
        if t.get("description") is not None and not isinstance(t["description"], str):
            raise invalid_type(f"{where}.description", "a string", t["description"])
        strict = t.get("strict")
        if strict is not None and not isinstance(strict, bool):
            raise invalid_type(f"{where}.strict", "a boolean", strict)
        params = oa_check_parameters(name, t.get("parameters"), f"{where}.parameters",
                                     strict is True)
        schemas.setdefault(name, params)
        nwords += words(canon(t))
    mode, forced = "auto", None
    if tc is not None:
        oa_check_choice_type(tc)
        if isinstance(tc, str):
            if tc == "required" and not schemas:
                raise ApiError(400, "Tool choice 'required' must be specified with 'tools' "
                               "parameter.", "tool_choice")
            mode = tc
        else:
            ty = tc.get("type")
            if ty is None:
                raise missing_param("tool_choice.type")
            if ty == "allowed_tools":
                raise mock_unsupported("tool_choice of type 'allowed_tools'", "tool_choice.type")
            if ty == "function" and tc.get("name") is None:
                raise missing_param("tool_choice.name")
            if ty == "function" and not isinstance(tc["name"], str):
                raise invalid_type("tool_choice.name", "a string", tc["name"])
            if ty != "function" or tc["name"] not in schemas:
                raise ApiError(400, f"Tool choice '{ty}' not found in 'tools' parameter.",
                               "tool_choice")
            mode, forced = "required", tc["name"]
    if ptc is not None and not isinstance(ptc, bool):
        raise invalid_type("parallel_tool_calls", "a boolean", ptc)
    if not schemas:
        return None
    return ToolReq(schemas, mode, forced, None, ptc is not False, nwords)


def responses_tool_fields(p: dict) -> dict:
    """The tool fields a Responses API response echoes."""
    return {"tools": p.get("tools") or [], "tool_choice": p.get("tool_choice") or "auto",
            "parallel_tool_calls": p.get("parallel_tool_calls") is not False}


def an_tools(p: dict, thinking: bool) -> ToolReq | None:
    """tools and tool_choice of an Anthropic Messages request."""
    tools, tc = p.get("tools"), p.get("tool_choice")
    if tools is None and tc is None:
        return None
    if tools is not None and not isinstance(tools, list):
        raise ApiError(400, "tools: Input should be a valid list")
    schemas, nwords = {}, 0
    for i, t in enumerate(tools or ()):
        if not isinstance(t, dict):
            raise ApiError(400, f"tools.{i}: Input should be a valid dictionary")
        if t.get("type") not in (None, "custom"):
            raise mock_unsupported(f"tools.{i}: Server tools (type '{t['type']}')")
        w = f"tools.{i}.custom"
        name = t.get("name")
        if name is None:
            raise ApiError(400, f"{w}.name: Field required")
        if not isinstance(name, str):
            raise ApiError(400, f"{w}.name: Input should be a valid string")
        if not ANTHROPIC_TOOL_NAME_RE.fullmatch(name):
            raise ApiError(400, f"{w}.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'")
        if t.get("description") is not None and not isinstance(t["description"], str):
            raise ApiError(400, f"{w}.description: Input should be a valid string")
        schema = t.get("input_schema")
        if schema is None:
            raise ApiError(400, f"{w}.input_schema: Field required")
        if not isinstance(schema, dict):
            raise ApiError(400, f"{w}.input_schema: Input should be a valid dictionary")
        if "type" not in schema:
            raise ApiError(400, f"{w}.input_schema.type: Field required")
        if schema["type"] != "object":
            raise ApiError(400, f"{w}.input_schema.type: Input should be 'object'")
        if name in schemas:
            raise ApiError(400, "tools: Tool names must be unique.")
        schemas[name] = schema
        nwords += words(canon(t))
    mode, forced, parallel = "auto", None, True
    if tc is not None:
        if not isinstance(tc, dict):
            raise ApiError(400, "tool_choice: Input should be a valid dictionary or object to "
                           "extract fields from")
        ty = tc.get("type")
        if ty is None:
            raise ApiError(400, "tool_choice: Unable to extract tag using discriminator 'type'")
        if ty not in ("auto", "any", "tool", "none"):
            raise ApiError(400, f"tool_choice: Input tag '{ty}' found using 'type' does not match "
                           "any of the expected tags: 'auto', 'any', 'tool', 'none'")
        dpu = tc.get("disable_parallel_tool_use")
        if dpu is not None and not isinstance(dpu, bool):
            raise ApiError(400, f"tool_choice.{ty}.disable_parallel_tool_use: Input should be a "
                           "valid boolean")
        if ty == "tool":
            if tc.get("name") is None:
                raise ApiError(400, "tool_choice.tool.name: Field required")
            if not isinstance(tc["name"], str):
                raise ApiError(400, "tool_choice.tool.name: Input should be a valid string")
        if not schemas and ty != "none":
            raise ApiError(400, "tool_choice may only be specified while providing tools.")
        if ty == "tool" and tc["name"] not in schemas:
            raise ApiError(400, f"tool_choice.tool.name: Tool '{tc['name']}' not found in tools")
        if thinking and ty in ("any", "tool"):
            raise ApiError(400, "Thinking may not be enabled when tool_choice forces tool use.")
        mode = {"auto": "auto", "none": "none", "any": "required", "tool": "required"}[ty]
        forced = tc["name"] if ty == "tool" else None
        parallel = dpu is not True
    if not schemas:
        return None
    return ToolReq(schemas, mode, forced, None, parallel, nwords)


def gemini_value_error(where: str, typ: str, value) -> ApiError:
    return ApiError(400, f"Invalid value at '{where}' (type.googleapis.com/google.ai."
                    f"generativelanguage.v1beta.{typ}), {json.dumps(value)}")


def ge_tools(p: dict) -> ToolReq | None:
    """tools and toolConfig of a Gemini generateContent request."""
    tools = p.get("tools")
    tcfg = p.get("toolConfig", p.get("tool_config"))
    if tools is None and tcfg is None:
        return None
    decls = []
    if tools is not None:
        if not isinstance(tools, list):
            raise gemini_value_error("tools", "Tool", tools)
        for i, t in enumerate(tools):
            if not isinstance(t, dict):
                raise gemini_value_error(f"tools[{i}]", "Tool", t)
            for k in t:
                if k not in ("functionDeclarations", "function_declarations"):
                    raise mock_unsupported(f"tools[{i}].{k} (only functionDeclarations are)")
            fds = t.get("functionDeclarations", t.get("function_declarations"))
            if fds is None:
                continue
            if not isinstance(fds, list):
                raise gemini_value_error(f"tools[{i}].function_declarations", "FunctionDeclaration",
                                         fds)
            for j, d in enumerate(fds):
                if not isinstance(d, dict):
                    raise gemini_value_error(f"tools[{i}].function_declarations[{j}]",
                                             "FunctionDeclaration", d)
                decls.append((i, j, d))
    problems, schemas, nwords = [], {}, 0
    for i, j, d in decls:
        where = f"tools[{i}].function_declarations[{j}]"
        name = d.get("name")
        if name is not None and not isinstance(name, str):
            raise gemini_value_error(f"{where}.name", "FunctionDeclaration.name", name)
        if not name:
            problems.append(f"* GenerateContentRequest.{where}.name: Name cannot be empty.")
        elif not GEMINI_TOOL_NAME_RE.fullmatch(name):
            problems.append(f"* GenerateContentRequest.{where}.name: {GEMINI_BAD_NAME}")
        params = d.get("parameters")
        if params is not None:
            if not isinstance(params, dict):
                raise gemini_value_error(f"{where}.parameters", "Schema", params)
            t = params.get("type")
            if t is not None and (not isinstance(t, str) or t.upper() not in GEMINI_TYPES):
                raise gemini_value_error(f"{where}.parameters.type", "Type", t)
        else:
            params = d.get("parametersJsonSchema", d.get("parameters_json_schema"))
        if name:
            schemas.setdefault(name, params if isinstance(params, dict) else {})
        nwords += words(canon(d))
    if problems:
        raise ApiError(400, "\n".join(problems))
    seen = set()
    for _, _, d in decls:
        if d["name"] in seen:
            raise ApiError(400, f"Duplicate function declaration found: {d['name']}")
        seen.add(d["name"])
    mode, allowed = "auto", None
    if tcfg is not None:
        if not isinstance(tcfg, dict):
            raise gemini_value_error("tool_config", "ToolConfig", tcfg)
        fcc = tcfg.get("functionCallingConfig", tcfg.get("function_calling_config"))
        if fcc is not None:
            if not isinstance(fcc, dict):
                raise gemini_value_error("tool_config.function_calling_config",
                                         "FunctionCallingConfig", fcc)
            m = fcc.get("mode", "AUTO")
            if not isinstance(m, str) or m.upper() not in GEMINI_MODES:
                raise gemini_value_error("tool_config.function_calling_config.mode",
                                         "FunctionCallingConfig.Mode", m)
            if not schemas:
                raise ApiError(400, "Function calling config is set without function_declarations.")
            mode = GEMINI_MODES[m.upper()]
            allowed = fcc.get("allowedFunctionNames", fcc.get("allowed_function_names"))
            if allowed is not None:
                where = "GenerateContentRequest.tool_config.function_calling_config." \
                        "allowed_function_names"
                if not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed):
                    raise gemini_value_error("tool_config.function_calling_config."
                                             "allowed_function_names", "string", allowed)
                if m.upper() not in ("ANY", "VALIDATED"):
                    raise ApiError(400, f"* {where}: allowed_function_names can only be set when "
                                   "mode is ANY or VALIDATED.")
                for k, a in enumerate(allowed):
                    if a not in schemas:
                        raise ApiError(400, f"* {where}[{k}]: function '{a}' is not declared in "
                                       "function_declarations.")
                allowed = allowed or None
    if not schemas:
        return None
    return ToolReq(schemas, mode, None, allowed, True, nwords)


def oa_chat_history(msgs: list) -> tuple[list | None, int]:
    """Validates the tool calls and tool messages of a chat history: (the tool
    results that end it, or None; the words of the replayed calls)."""
    pending = None                  # (index, {call id: name}, answered ids)
    trailing, nwords = [], 0

    def close(pend) -> None:
        idx, ids, answered = pend
        lacking = [c for c in ids if c not in answered]
        if lacking:
            raise ApiError(400, "An assistant message with 'tool_calls' must be followed by tool "
                           "messages responding to each 'tool_call_id'. The following tool_call_ids "
                           "did not have response messages: " + ", ".join(lacking),
                           f"messages.[{idx}].role")

    for i, m in enumerate(msgs):
        role = m["role"]
        if role == "tool":
            if pending is None:
                raise ApiError(400, "Invalid parameter: messages with role 'tool' must be a response "
                               "to a preceeding message with 'tool_calls'.", f"messages.[{i}].role")
            tid = m.get("tool_call_id")
            if tid is None:
                raise missing_param(f"messages[{i}].tool_call_id")
            if not isinstance(tid, str):
                raise invalid_type(f"messages[{i}].tool_call_id", "a string", tid)
            if tid not in pending[1]:
                raise ApiError(400, f"Invalid parameter: 'tool_call_id' of '{tid}' not found in "
                               "'tool_calls' of previous message.", f"messages.[{i}].tool_call_id")
            pending[2].add(tid)
            trailing.append((pending[1][tid], text_of(m.get("content")), False))
            continue
        if pending is not None:
            close(pending)
        pending, trailing = None, []
        tcs = m.get("tool_calls") if role == "assistant" else None
        if tcs is None:
            continue
        where = f"messages[{i}].tool_calls"
        if not isinstance(tcs, list):
            raise invalid_type(where, "an array", tcs)
        if not tcs:
            raise ApiError(400, f"Invalid '{where}': empty array. Expected an array with minimum "
                           "length 1, but got an empty array instead.", where, "empty_array")
        ids = {}
        for k, c in enumerate(tcs):
            w = f"{where}[{k}]"
            if not isinstance(c, dict):
                raise invalid_type(w, "an object", c)
            for key in ("id", "type", "function"):
                if key not in c:
                    raise missing_param(f"{w}.{key}")
            fn = c["function"]
            if not isinstance(fn, dict):
                raise invalid_type(f"{w}.function", "an object", fn)
            for key in ("name", "arguments"):
                if key not in fn:
                    raise missing_param(f"{w}.function.{key}")
            oa_check_name(fn["name"], f"{w}.function.name")
            if not isinstance(fn["arguments"], str):
                raise invalid_type(f"{w}.function.arguments", "a string", fn["arguments"])
            if not isinstance(c["id"], str):
                raise invalid_type(f"{w}.id", "a string", c["id"])
            ids[c["id"]] = fn["name"]
            nwords += words(fn["name"]) + words(arguments_canon(fn["arguments"]))
        pending = (i, ids, set())
    if pending is not None:
        close(pending)
    return trailing or None, nwords


def arguments_canon(text: str) -> str:
    """A replayed arguments string in the form whose words count as tokens."""
    try:
        return canon(json.loads(text))
    except ValueError:
        return text


def oa_responses_items(items: list, previous: bool) -> tuple[list | None, int]:
    """Validates the function_call / function_call_output items of a Responses
    input: (the outputs that end it, or None; their words and the calls')."""
    calls, answered, trailing, nwords = {}, set(), [], 0
    for i, it in enumerate(items):
        ty = it.get("type")
        if ty == "function_call":
            for key in ("call_id", "name", "arguments"):
                if key not in it:
                    raise missing_param(f"input[{i}].{key}")
            oa_check_name(it["name"], f"input[{i}].name")
            if not isinstance(it["call_id"], str):
                raise invalid_type(f"input[{i}].call_id", "a string", it["call_id"])
            if not isinstance(it["arguments"], str):
                raise invalid_type(f"input[{i}].arguments", "a string", it["arguments"])
            calls[it["call_id"]] = it["name"]
            nwords += words(it["name"]) + words(arguments_canon(it["arguments"]))
            trailing = []
        elif ty == "function_call_output":
            for key in ("call_id", "output"):
                if key not in it:
                    raise missing_param(f"input[{i}].{key}")
            cid = it["call_id"]
            if not isinstance(cid, str):
                raise invalid_type(f"input[{i}].call_id", "a string", cid)
            if cid not in calls:
                if previous:
                    raise mock_unsupported("previous_response_id (the mock is stateless: replay "
                                           "the function_call items in input)",
                                           "previous_response_id")
                raise ApiError(400, f"No tool call found for function call output with call_id "
                               f"{cid}.", "input")
            answered.add(cid)
            out = text_of(it["output"])
            nwords += words(out)
            trailing.append((calls[cid], out, False))
        elif ty != "reasoning":
            trailing = []
    for cid in calls:
        if cid not in answered:
            raise ApiError(400, f"No tool output found for function call {cid}.", "input")
    return trailing or None, nwords


def an_result_text(content) -> str:
    """The text of a tool_result block's content (a string or content blocks)."""
    if isinstance(content, list):
        return "\n".join(b["text"] for b in content
                         if isinstance(b, dict) and isinstance(b.get("text"), str))
    return content if isinstance(content, str) else ""


def an_block_text(b) -> str:
    """The text of an Anthropic content block whose words count as tokens."""
    if isinstance(b, str):
        return b
    if not isinstance(b, dict):
        return ""
    ty = b.get("type")
    if ty == "tool_use":
        return f"{b.get('name', '')} {canon(b.get('input'))}"
    if ty == "tool_result":
        return an_result_text(b.get("content"))
    return b["text"] if isinstance(b.get("text"), str) else ""


def an_history(msgs: list, has_tools: bool) -> tuple[list | None, int]:
    """Validates the tool_use / tool_result blocks of a Messages history: (the
    results of the last user message, or None; the words of the tool blocks)."""
    if not has_tools:
        raise ApiError(400, "Requests which include `tool_use` or `tool_result` blocks must define "
                       "tools.")
    pending, results, nwords = None, None, 0      # pending: (index, {id: name})

    def unanswered(idx, lacking) -> ApiError:
        return ApiError(400, f"messages.{idx}: `tool_use` ids were found without `tool_result` "
                        f"blocks immediately after: {', '.join(lacking)}. Each `tool_use` block must "
                        "have a corresponding `tool_result` block in the next message.")

    for i, m in enumerate(msgs):
        blocks = m.get("content") if isinstance(m.get("content"), list) else []
        if m["role"] == "assistant":
            if pending is not None:
                raise unanswered(pending[0], list(pending[1]))
            ids = {}
            for k, b in enumerate(blocks):
                if not isinstance(b, dict) or b.get("type") != "tool_use":
                    continue
                w = f"messages.{i}.content.{k}.tool_use"
                for key in ("id", "name", "input"):
                    if key not in b:
                        raise ApiError(400, f"{w}.{key}: Field required")
                for key in ("id", "name"):
                    if not isinstance(b[key], str):
                        raise ApiError(400, f"{w}.{key}: Input should be a valid string")
                if not isinstance(b["input"], dict):
                    raise ApiError(400, f"{w}.input: Input should be a valid dictionary")
                ids[b["id"]] = b["name"]
                nwords += words(an_block_text(b))
            pending, results = ((i, ids) if ids else None), None
            continue
        found = []
        for k, b in enumerate(blocks):
            if isinstance(b, dict) and b.get("type") == "tool_result":
                w = f"messages.{i}.content.{k}.tool_result.tool_use_id"
                if "tool_use_id" not in b:
                    raise ApiError(400, f"{w}: Field required")
                if not isinstance(b["tool_use_id"], str):
                    raise ApiError(400, f"{w}: Input should be a valid string")
                found.append((k, b))
        got = {b["tool_use_id"] for _, b in found}
        if pending is not None:
            lacking = [t for t in pending[1] if t not in got]
            if lacking:
                raise unanswered(pending[0], lacking)
        results = []
        for k, b in found:
            tid = b["tool_use_id"]
            if pending is None or tid not in pending[1]:
                raise ApiError(400, f"messages.{i}.content.{k}: unexpected `tool_use_id` found in "
                               f"`tool_result` blocks: {tid}. Each `tool_result` block must have a "
                               "corresponding `tool_use` block in the previous message.")
            text = an_result_text(b.get("content"))
            nwords += words(text)
            results.append((pending[1][tid], text, b.get("is_error") is True))
        pending, results = None, (results or None)
    if pending is not None:
        raise unanswered(pending[0], list(pending[1]))
    return results, nwords


def ge_history(contents: list) -> tuple[list | None, int]:
    """Validates the functionCall / functionResponse turns of Gemini contents:
    (the function responses of the last turn, or None; their words and the
    calls')."""
    prev, ncalls, results, nwords = None, 0, None, 0
    for c in contents:
        parts = [x for x in c["parts"] if isinstance(x, dict)]
        calls = [x["functionCall"] for x in parts if "functionCall" in x]
        resps = [x["functionResponse"] for x in parts if "functionResponse" in x]
        results = None
        if calls:
            if prev not in ("user", "response"):
                raise ApiError(400, GEMINI_CALL_ORDER)
            for fc in calls:
                if not isinstance(fc, dict) or not isinstance(fc.get("name"), str):
                    raise ApiError(400, "* GenerateContentRequest.contents.parts.function_call.name: "
                                   "Name cannot be empty.")
                nwords += words(fc["name"]) + words(canon(fc.get("args", {})))
            prev, ncalls = "call", len(calls)
        elif resps:
            if prev != "call":
                raise ApiError(400, GEMINI_RESPONSE_ORDER)
            if len(resps) != ncalls:
                raise ApiError(400, GEMINI_RESPONSE_COUNT)
            results = []
            for fr in resps:
                if not isinstance(fr, dict) or not isinstance(fr.get("name"), str):
                    raise ApiError(400, "* GenerateContentRequest.contents.parts.function_response."
                                   "name: Name cannot be empty.")
                text = canon(fr.get("response", {}))
                nwords += words(fr["name"]) + words(text)
                results.append((fr["name"], text, False))
            prev = "response"
        else:
            if prev == "call":
                raise ApiError(400, GEMINI_RESPONSE_COUNT)
            prev = "user" if c.get("role", "user") == "user" else "model"
    if prev == "call":
        raise ApiError(400, GEMINI_RESPONSE_COUNT)
    return results, nwords


# -------------------------------------------------------------------- batches
# OpenAI's Files and Batch APIs and Anthropic's Message Batches API; see
# README.md ("Batch APIs"). No background task runs them: a batch's schedule
# (its events: in_progress, finalizing, ended, ...) is fixed when it is created
# and when it is cancelled, and whenever a request looks at the batch the lines
# due by then are answered, in the order they complete, through handle(), the
# code path of the synchronous endpoints.

OPENAI_BATCH_ENDPOINTS = {"/v1/chat/completions": "chat", "/v1/embeddings": "embeddings",
                          "/v1/responses": "responses"}
FILE_PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
NOT_DOWNLOADABLE = ("assistants", "user_data")
CUSTOM_ID_RE = re.compile(r"[a-zA-Z0-9_-]{1,64}")
BATCH_ROUTES = (
    (re.compile(r"/v1/messages/batches(?:/([^/]+)(?:/(cancel|results))?)?$"), "msgbatches"),
    (re.compile(r"/v1/batches(?:/([^/]+)(?:/(cancel))?)?$"), "batches"),
    (re.compile(r"/v1/files(?:/([^/]+)(?:/(content))?)?$"), "files"),
)
# (route kind, with an id, sub-resource) -> allowed methods
BATCH_METHODS = {
    ("msgbatches", False, None): ("POST", "GET"), ("msgbatches", True, None): ("GET", "DELETE"),
    ("msgbatches", True, "cancel"): ("POST",), ("msgbatches", True, "results"): ("GET",),
    ("batches", False, None): ("POST", "GET"), ("batches", True, None): ("GET",),
    ("batches", True, "cancel"): ("POST",),
    ("files", False, None): ("POST", "GET"), ("files", True, None): ("GET", "DELETE"),
    ("files", True, "content"): ("GET",),
}
BATCH_EXPIRED = ("batch_expired", "This request could not be executed before the completion "
                 "window expired.")
BATCH_CANCELLED = ("batch_cancelled", "This request was not executed because the batch was "
                   "cancelled.")
INF = float("inf")


def batch_route(path: str) -> tuple[str, str | None, str | None] | None:
    """(kind, id, sub-resource) of a Files / Batch / Message Batches path."""
    for rx, kind in BATCH_ROUTES:
        m = rx.search(path)
        if m is not None:
            return kind, m.group(1), m.group(2)
    return None


def json_type(v) -> str:
    """How OpenAI names a JSON value's type in its messages."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, int):
        return "an integer"
    if isinstance(v, float):
        return "a number"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, list):
        return "an array"
    return "an object"


def rfc3339(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1e6):06d}Z"


def parse_multipart(body: bytes, ctype: str) -> dict[str, tuple[str | None, bytes]]:
    """multipart/form-data fields: name -> (filename or None, bytes)."""
    m = re.search(r'boundary=(?:"([^"]+)"|([^;\s]+))', ctype, re.I)
    if m is None:
        raise ValueError("no boundary in the Content-Type header")
    delim = b"--" + (m.group(1) or m.group(2)).encode("latin-1")
    pos = body.find(delim)
    if pos < 0:
        raise ValueError("boundary not found in the body")
    parts: dict[str, tuple[str | None, bytes]] = {}
    while True:
        pos += len(delim)
        if body[pos:pos + 2] == b"--":
            return parts
        eol = body.find(b"\r\n", pos)
        hend = body.find(b"\r\n\r\n", pos)
        if eol < 0 or hend < 0:
            raise ValueError("unterminated part headers")
        nxt = body.find(b"\r\n" + delim, hend + 4)
        if nxt < 0:
            raise ValueError("unterminated part")
        name = filename = None
        for line in body[eol + 2:hend].decode("utf-8", "replace").split("\r\n"):
            k, _, v = line.partition(":")
            if k.strip().lower() != "content-disposition":
                continue
            nm = re.search(r'(?:^|;)\s*name=(?:"([^"]*)"|([^;\s]*))', v)
            fn = re.search(r'(?:^|;)\s*filename=(?:"([^"]*)"|([^;\s]*))', v)
            if nm:
                name = nm.group(1) if nm.group(1) is not None else nm.group(2)
            if fn:
                filename = fn.group(1) if fn.group(1) is not None else fn.group(2)
        if name is not None:
            parts[name] = (filename, body[hend + 4:nxt])
        pos = nxt + 2


def first_line_is_object(data: bytes) -> bool:
    for raw in data.split(b"\n", 64):
        if raw.strip():
            try:
                return isinstance(json.loads(raw), dict)
            except ValueError:
                return False
    return False


class BatchLine:
    __slots__ = ("custom_id", "body", "model", "fate")

    def __init__(self, custom_id: str, body: dict, fate: str) -> None:
        self.custom_id = custom_id
        self.body = body
        self.model = body.get("model") if isinstance(body.get("model"), str) else None
        self.fate = fate                # "ok", "expire" or an HTTP status ("500")


class Batch:
    """What both APIs' batches share: lines, the order they complete in, progress."""

    def __init__(self, bid: str, created: float, lines: list[BatchLine], start: float,
                 processing_s: float, window_s: float, rng: random.Random) -> None:
        self.id = bid
        self.created = created
        self.window_s = window_s
        self.lines = lines
        # Lines that get answered, in completion order (never the input order when
        # there are two or more), each due at its share of the processing time;
        # [[batch=expire]] lines never are (stalled).
        seq = [i for i, ln in enumerate(lines) if ln.fate != "expire"]
        rng.shuffle(seq)
        if len(seq) >= 2 and seq == sorted(seq):
            seq = seq[1:] + seq[:1]
        self.seq = seq
        self.due = [start + processing_s * (k + 1) / len(seq) for k in range(len(seq))]
        if seq:
            self.due[-1] = start + processing_s      # exactly when processing ends
        self.stalled = [i for i, ln in enumerate(lines) if ln.fate == "expire"]
        rng.shuffle(self.stalled)
        self.done = 0                   # seq[:done] are answered
        self.results: dict[int, tuple[bool, dict]] = {}
        self.n_ok = 0
        self.cancel_at: float | None = None
        self.cancel_s = 0.0
        self.finished = False           # terminal outputs written
        self.submitted = 0              # non-blank lines / requests sent
        self.custom_ids: list[str] = []

    @property
    def expires(self) -> float:
        return self.created + self.window_s

    def cutoff(self, now: float) -> float:
        """Lines due by this time are answered."""
        cut = min(now, self.expires)
        return cut if self.cancel_at is None else min(cut, self.cancel_at)


class OpenAIBatch(Batch):
    def __init__(self, bid, created, endpoint, input_file_id, metadata, cfg: Config,
                 lines, errors, rng) -> None:
        self.validating_s = cfg.batch_validating_s
        self.processing_s = cfg.batch_processing_s
        self.finalizing_s = cfg.batch_finalizing_s
        super().__init__(bid, created, lines, created + self.validating_s, self.processing_s,
                         cfg.batch_window_s, rng)
        self.endpoint = endpoint
        self.input_file_id = input_file_id
        self.metadata = metadata
        self.errors = errors            # validation errors: the batch fails
        self.output_file_id: str | None = None
        self.error_file_id: str | None = None
        self.schedule()

    def schedule(self) -> None:
        """The batch's events (time, status, timestamp field), in time order."""
        start = self.created + self.validating_s
        end = start + self.processing_s
        exp = self.expires
        if self.errors:
            ev = [(start, "failed", "failed_at")]
        else:
            ev = [(start, "in_progress", "in_progress_at")] if start < exp else []
            if not self.stalled and end + self.finalizing_s <= exp:
                ev += [(end, "finalizing", "finalizing_at"),
                       (end + self.finalizing_s, "completed", "completed_at")]
            else:
                if not self.stalled and end < exp:
                    ev.append((end, "finalizing", "finalizing_at"))
                ev.append((exp, "expired", "expired_at"))
        if self.cancel_at is not None:
            ev = [e for e in ev if e[0] <= self.cancel_at]
            ev += [(self.cancel_at, "cancelling", "cancelling_at"),
                   (self.cancel_at + self.cancel_s, "cancelled", "cancelled_at")]
        self.events = ev

    def state(self, now: float) -> tuple[str, dict[str, int]]:
        status, times = "validating", {}
        for t, s, field in self.events:
            if t > now:
                break
            status, times[field] = s, int(t)
        return status, times

    def cutoff(self, now: float) -> float:
        return -INF if self.errors else super().cutoff(now)


class AnthropicBatch(Batch):
    def __init__(self, bid, created, cfg: Config, lines, rng) -> None:
        super().__init__(bid, created, lines, created, cfg.batch_processing_s,
                         cfg.batch_window_s, rng)
        self.processing_s = cfg.batch_processing_s
        self.results_jsonl = b""
        self.schedule()

    def schedule(self) -> None:
        """When processing ends, and how: "done", "expired" or "canceled"."""
        if self.cancel_at is not None:
            self.end_at, self.end_how = self.cancel_at + self.cancel_s, "canceled"
        elif self.stalled or self.created + self.processing_s > self.expires:
            self.end_at, self.end_how = self.expires, "expired"
        else:
            self.end_at, self.end_how = self.created + self.processing_s, "done"

    def status(self, now: float) -> str:
        if now >= self.end_at:
            return "ended"
        return "in_progress" if self.cancel_at is None else "canceling"


class BatchAPIs:
    """OpenAI's Files and Batch APIs and Anthropic's Message Batches API, mixed
    into MockLLM (which provides config, stats, error, check_auth, gate, handle)."""

    def init_batches(self) -> None:
        self.files: dict[str, dict] = {}                    # id -> {"obj", "content"}
        self.oa_batches: dict[str, OpenAIBatch] = {}
        self.an_batches: dict[str, AnthropicBatch] = {}
        self.batch_once: set[bytes] = set()                 # [[batch=...-once]] seen
        self.bound = ("127.0.0.1", 0)                       # for results_url without Host
        self.reset_batch_stats()

    def reset_batch_stats(self) -> None:
        per_api = {api: {"created": 0, "cancelled": 0, "lines_submitted": 0}
                   for api in ("openai", "anthropic")}
        self.bstats = {"files_uploaded": 0, "files_deleted": 0, "created": 0, "cancelled": 0,
                       "lines_submitted": 0, "lines_resubmitted": 0,
                       "lines": {"succeeded": 0, "errored": 0, "expired": 0, "cancelled": 0},
                       "by_api": per_api}
        self.bseen: dict[str, set[str]] = {"openai": set(), "anthropic": set()}
        self.bsince: list[tuple[str, str]] = []             # (api, id) created since reset

    # ----------------------------------------------------------- dispatching
    async def dispatch_batch(self, req: Request, route) -> Response:
        kind, bid, sub = route
        api = "anthropic" if kind == "msgbatches" else "openai"
        endpoint = "files" if kind == "files" else "batches"
        st = self.stats
        st.concurrent += 1
        if st.concurrent > st.max_concurrent:
            st.max_concurrent = st.concurrent
        resp = None
        try:
            allowed = BATCH_METHODS[(kind, bid is not None, sub)]
            if req.method not in allowed:
                resp = self.error(api, 405, f"Method {req.method} not allowed; use "
                                  f"{' or '.join(allowed)}.")
                return resp
            resp = self.check_auth(api, req)
            if resp is not None:
                return resp
            resp, fault = await self.gate(api, req)
            if resp is not None:
                return resp
            if api == "anthropic" and not req.headers.get("anthropic-version"):
                resp = self.error(api, 400, "anthropic-version: header is required")
            else:
                try:
                    resp = self.batch_request(kind, bid, sub, req, time.time())
                except ApiError as e:
                    resp = self.batch_error(api, e)
            resp = self.with_fault(resp, fault)
            return resp
        finally:
            st.concurrent -= 1
            if resp is not None:
                st.record(api, resp.label, None, endpoint)

    def batch_error(self, api: str, e: ApiError) -> Response:
        if api == "anthropic":
            return self.error(api, e.status, e.message)
        etype = OPENAI_ERR.get(e.status, ("server_error", None) if e.status >= 500
                               else ("invalid_request_error", None))[0]
        return Response(e.status, jdump({"error": {"message": e.message, "type": etype,
                                                   "param": e.param, "code": e.code}}))

    def batch_request(self, kind: str, bid, sub, req: Request, now: float) -> Response:
        m = req.method
        if kind == "files":
            if bid is None:
                return self.oa_upload(req, now) if m == "POST" else self.oa_list_files(req)
            f = self.files.get(bid)
            if f is None:
                raise ApiError(404, f"No such File object: {bid}", "id")
            if sub == "content":
                purpose = f["obj"]["purpose"]
                if purpose in NOT_DOWNLOADABLE:
                    raise ApiError(400, f"Not allowed to download files of purpose: {purpose}")
                return Response(200, f["content"], ctype="application/octet-stream")
            if m == "DELETE":
                del self.files[bid]
                self.bstats["files_deleted"] += 1
                return Response(200, jdump({"id": bid, "object": "file", "deleted": True}))
            return Response(200, jdump(f["obj"]))
        if kind == "batches":
            if bid is None:
                if m == "POST":
                    return Response(200, jdump(self.oa_create(req, now)))
                return Response(200, jdump(self.oa_list(req, now)))
            b = self.oa_batches.get(bid)
            if b is None:
                raise ApiError(404, f"No batch found with id '{bid}'.")
            if sub == "cancel":
                return Response(200, jdump(self.oa_cancel(b, now)))
            return Response(200, jdump(self.oa_batch(b, now)))
        host = req.headers.get("host") or f"{self.bound[0]}:{self.bound[1]}"
        if bid is None:
            if m == "POST":
                return Response(200, jdump(self.an_create(req, now, host)))
            return Response(200, jdump(self.an_list(req, now, host)))
        b = self.an_batches.get(bid)
        if b is None:
            raise ApiError(404, f"No message batch found with id '{bid}'.")
        if sub == "cancel":
            return Response(200, jdump(self.an_cancel(b, now, host)))
        if sub == "results":
            self.an_advance(b, now)
            if b.status(now) != "ended":
                raise ApiError(400, f"Message Batch {bid} has not ended yet: its results are "
                               "available once its processing_status is 'ended'.")
            return Response(200, b.results_jsonl, ctype="application/binary")
        if m == "DELETE":
            if b.status(now) != "ended":
                raise ApiError(400, f"Message Batch {bid} is still processing: batches can only be "
                               "deleted once they have finished processing; cancel it first.")
            del self.an_batches[bid]
            return Response(200, jdump({"id": bid, "type": "message_batch_deleted"}))
        return Response(200, jdump(self.an_batch(b, now, host)))

    @staticmethod
    def json_body(req: Request) -> dict:
        try:
            p = json.loads(req.body) if req.body else None
        except ValueError:
            raise ApiError(400, "We could not parse the JSON body of your request.") from None
        if not isinstance(p, dict):
            raise ApiError(400, "The request body must be a JSON object.")
        return p

    def line_fate(self, api: str, body: dict) -> str:
        """'ok', 'expire' or an HTTP status, by the line's [[batch=...]] directive."""
        text = json.dumps(body, sort_keys=True)
        if "[[" not in text:
            return "ok"
        value = next((v.lower() for k, v in directives(text) if k == "batch"), None)
        if value is None:
            return "ok"
        once = value.endswith("-once")
        kind = value[:-5] if once else value
        if kind == "expire":
            fate = "expire"
        elif kind == "error":
            fate = "500"
        elif len(kind) == 3 and kind.isdigit() and 400 <= int(kind) <= 599:
            fate = kind
        else:
            return "ok"
        if once:
            key = hashlib.sha256(f"{api}\0{text}".encode("utf-8", "surrogatepass")).digest()
            if key in self.batch_once:
                return "ok"
            self.batch_once.add(key)
        return fate

    def answer_line(self, api: str, endpoint: str, path: str, line: BatchLine) -> Response:
        if line.fate == "ok":
            return self.handle(api, endpoint, path, line.body, line.model)
        status = int(line.fate)
        return self.error(api, status, FAULT_MESSAGES.get(status, f"Injected HTTP {status} (mock)."))

    def count_created(self, api: str, b: Batch) -> None:
        bs = self.bstats
        bs["created"] += 1
        bs["by_api"][api]["created"] += 1
        bs["lines_submitted"] += b.submitted
        bs["by_api"][api]["lines_submitted"] += b.submitted
        seen = self.bseen[api]
        bs["lines_resubmitted"] += sum(1 for c in b.custom_ids if c in seen)
        seen.update(b.custom_ids)
        self.bsince.append((api, b.id))

    def count_cancelled(self, api: str) -> None:
        self.bstats["cancelled"] += 1
        self.bstats["by_api"][api]["cancelled"] += 1

    def store_file(self, filename: str, purpose: str, data: bytes, now: float) -> str:
        fid = "file-" + uuid.uuid4().hex[:24]
        self.files[fid] = {"obj": {"id": fid, "object": "file", "bytes": len(data),
                                   "created_at": int(now), "expires_at": None,
                                   "filename": filename, "purpose": purpose,
                                   "status": "processed", "status_details": None},
                           "content": data}
        return fid

    # ------------------------------------------------------------ OpenAI Files
    def oa_upload(self, req: Request, now: float) -> Response:
        ct = req.headers.get("content-type", "")
        if "multipart/form-data" not in ct.lower():
            raise ApiError(400, f"Invalid Content-Type header ({ct or 'none'}), expected "
                           "multipart/form-data.")
        try:
            parts = parse_multipart(req.body, ct)
        except ValueError as e:
            raise ApiError(400, f"Could not parse the multipart form: {e}.") from None
        if "purpose" not in parts:
            raise ApiError(400, "Missing required parameter: 'purpose'.", "purpose",
                           "missing_required_parameter")
        purpose = parts["purpose"][1].decode("utf-8", "replace").strip()
        if purpose not in FILE_PURPOSES:
            raise ApiError(400, f"'{purpose}' is not one of {list(FILE_PURPOSES)} - 'purpose'",
                           "purpose")
        if "file" not in parts:
            raise ApiError(400, "Missing required parameter: 'file'.", "file",
                           "missing_required_parameter")
        filename, data = parts["file"]
        filename = filename or "file"
        if purpose == "batch":
            if len(data) > self.config.openai_batch_max_file_mb << 20:
                raise ApiError(400, "File is too large.")
            if not filename.endswith(".jsonl") or not first_line_is_object(data):
                raise ApiError(400, "Invalid file format for Batch API. Must be .jsonl")
        fid = self.store_file(filename, purpose, data, now)
        self.bstats["files_uploaded"] += 1
        return Response(200, jdump(self.files[fid]["obj"]))

    def oa_list_files(self, req: Request) -> Response:
        q = parse_qs(req.query)
        purpose = q.get("purpose", [None])[-1]
        data = [f["obj"] for f in reversed(self.files.values())
                if purpose is None or f["obj"]["purpose"] == purpose]
        return Response(200, jdump({"object": "list", "data": data, "has_more": False,
                                    "first_id": data[0]["id"] if data else None,
                                    "last_id": data[-1]["id"] if data else None}))

    # ------------------------------------------------------------ OpenAI Batch
    def oa_create(self, req: Request, now: float) -> dict:
        p = self.json_body(req)
        for k in p:
            if k not in ("input_file_id", "endpoint", "completion_window", "metadata",
                         "output_expires_after"):
                raise ApiError(400, f"Unrecognized request argument supplied: {k}")
        for k in ("input_file_id", "endpoint", "completion_window"):
            if p.get(k) is None:
                raise ApiError(400, f"Missing required parameter: '{k}'.", k,
                               "missing_required_parameter")
            if not isinstance(p[k], str):
                raise ApiError(400, f"Invalid type for '{k}': expected a string, but got "
                               f"{json_type(p[k])} instead.", k, "invalid_type")
        endpoint = p["endpoint"]
        if endpoint not in OPENAI_BATCH_ENDPOINTS:
            raise ApiError(400, f"Invalid value: '{endpoint}'. Supported values are: "
                           "'/v1/chat/completions', '/v1/embeddings', and '/v1/responses'.",
                           "endpoint", "invalid_value")
        if p["completion_window"] != "24h":
            raise ApiError(400, f"Invalid value: '{p['completion_window']}'. Supported values "
                           "are: '24h'.", "completion_window", "invalid_value")
        metadata = self.oa_metadata(p.get("metadata"))
        ifid = p["input_file_id"]
        f = self.files.get(ifid)
        lines, custom_ids, submitted = [], [], 0
        if f is None:
            errors = [{"code": "invalid_request", "line": None, "param": "file_id",
                       "message": f"Cannot find file {ifid}, or organization org-mock does not "
                                  "have access to it."}]
        elif f["obj"]["purpose"] != "batch":
            errors = [{"code": "invalid_request", "line": None, "param": "input_file_id",
                       "message": f"File {ifid} has purpose '{f['obj']['purpose']}': a batch "
                                  "input file must be uploaded with purpose 'batch'."}]
        else:
            errors, lines, custom_ids, submitted = self.oa_parse_input(f["content"], endpoint)
        for ln in lines:
            ln.fate = self.line_fate("openai", ln.body)
        bid = "batch_" + uuid.uuid4().hex
        b = OpenAIBatch(bid, now, endpoint, ifid, metadata, self.config, lines, errors or None,
                        random.Random(f"{self.config.seed}|{bid}"))
        b.submitted, b.custom_ids = submitted, custom_ids
        self.oa_batches[bid] = b
        self.count_created("openai", b)
        return self.oa_batch(b, now)

    @staticmethod
    def oa_metadata(md):
        if md is None:
            return None
        if not isinstance(md, dict):
            raise ApiError(400, f"Invalid type for 'metadata': expected an object, but got "
                           f"{json_type(md)} instead.", "metadata", "invalid_type")
        if len(md) > 16:
            raise ApiError(400, "Invalid 'metadata': too many properties. Expected an object with "
                           f"at most 16 properties, but got an object with {len(md)} properties "
                           "instead.", "metadata", "object_above_max_properties")
        for k, v in md.items():
            if len(k) > 64:
                raise ApiError(400, f"Invalid 'metadata': key too long. Expected a key with maximum "
                               f"length 64, but got a key with length {len(k)} instead.",
                               "metadata", "invalid_value")
            if not isinstance(v, str):
                raise ApiError(400, f"Invalid type for 'metadata.{k}': expected a string, but got "
                               f"{json_type(v)} instead.", f"metadata.{k}", "invalid_type")
            if len(v) > 512:
                raise ApiError(400, f"Invalid 'metadata.{k}': string too long. Expected a string "
                               f"with maximum length 512, but got a string with length {len(v)} "
                               "instead.", f"metadata.{k}", "string_above_max_length")
        return md

    def oa_parse_input(self, content: bytes, endpoint: str):
        """(errors, valid lines, custom_ids seen, non-blank line count) of an input file."""
        numbered = [(n, raw) for n, raw in enumerate(content.split(b"\n"), 1) if raw.strip()]
        limit = self.config.openai_batch_max_lines
        if len(numbered) > limit:
            return ([{"code": "too_many_tasks", "line": None, "param": None,
                      "message": f"The batch input file contains {len(numbered)} requests; a batch "
                                 f"can contain at most {limit} requests."}], [], [],
                    len(numbered))
        kind = OPENAI_BATCH_ENDPOINTS[endpoint]
        required = "messages" if kind == "chat" else "input"
        errors, lines, custom_ids, seen, first_model = [], [], [], set(), None

        def problem(obj) -> tuple[str, str, str | None] | None:
            nonlocal first_model
            if not isinstance(obj, dict):
                return "invalid_json_line", "This line is not a JSON object.", None
            for k in ("custom_id", "method", "url", "body"):
                if k not in obj:
                    return ("missing_required_parameter", f"Missing required parameter: '{k}'.",
                            k)
            cid = obj["custom_id"]
            if not isinstance(cid, str):
                return ("invalid_type", f"Invalid type for 'custom_id': expected a string, but got "
                        f"{json_type(cid)} instead.", "custom_id")
            custom_ids.append(cid)
            if obj["method"] != "POST":
                return ("invalid_value", f"Invalid value: {json.dumps(obj['method'])}. Supported "
                        "values are: 'POST'.", "method")
            if obj["url"] != endpoint:
                return ("invalid_url", "The URL provided for this request does not match the "
                        "batch endpoint.", "url")
            if cid in seen:
                return ("duplicate_custom_id", "The custom_id for this request is a duplicate of "
                        "another request. The custom_id parameter must be unique for each "
                        "request in a batch.", "custom_id")
            seen.add(cid)
            body = obj["body"]
            if not isinstance(body, dict):
                return ("invalid_type", f"Invalid type for 'body': expected an object, but got "
                        f"{json_type(body)} instead.", "body")
            if body.get("stream"):
                name = {"chat": "Chat Completions", "responses": "Responses",
                        "embeddings": "Embeddings"}[kind]
                return ("streaming_unsupported", f"{name}: Streaming is not supported in the "
                        "Batch API.", "body.stream")
            model = body.get("model")
            if not isinstance(model, str) or not model:
                return "invalid_request", "Model parameter is required.", "body.model"
            if body.get(required) is None:
                return ("invalid_request", f"{required.capitalize()} parameter is required.",
                        f"body.{required}")
            if "notfound" in model.lower():
                return ("model_not_found", f"The provided model '{model}' is not supported by the "
                        "Batch API.", "body.model")
            if first_model is None:
                first_model = model
            elif model != first_model:
                return ("mismatched_model", f"The model '{model}' for this request does not match "
                        "the rest of the batch. Each batch must contain requests for a single "
                        "model.", "body.model")
            return None

        for n, raw in numbered:
            try:
                obj = json.loads(raw)
            except ValueError:
                errors.append({"code": "invalid_json_line", "line": n, "param": None,
                               "message": "This line is not parseable as valid JSON."})
                continue
            bad = problem(obj)
            if bad is not None:
                errors.append({"code": bad[0], "line": n, "message": bad[1], "param": bad[2]})
            elif not errors:
                lines.append(BatchLine(obj["custom_id"], obj["body"], "ok"))
        return errors, ([] if errors else lines), custom_ids, len(numbered)

    def oa_advance(self, b: OpenAIBatch, now: float) -> None:
        """Answers the lines due by now, in completion order."""
        cut = b.cutoff(now)
        kind = OPENAI_BATCH_ENDPOINTS[b.endpoint]
        while b.done < len(b.seq) and b.due[b.done] <= cut:
            i = b.seq[b.done]
            b.done += 1
            line = b.lines[i]
            resp = self.answer_line("openai", kind, b.endpoint, line)
            rid = next((v for k, v in resp.headers if k == "x-request-id"), None)
            ok = resp.status == 200
            b.n_ok += ok
            self.bstats["lines"]["succeeded" if ok else "errored"] += 1
            b.results[i] = (ok, {"id": "batch_req_" + uuid.uuid4().hex, "custom_id": line.custom_id,
                                 "response": {"status_code": resp.status,
                                              "request_id": rid or "req_mock" + self.next_id(),
                                              "body": json.loads(resp.body)},
                                 "error": None})

    def oa_finish(self, b: OpenAIBatch, status: str, now: float) -> None:
        """Writes the output and error files of a batch that has just ended."""
        if b.finished or status not in ("completed", "expired", "cancelled"):
            return
        b.finished = True
        out, err = [], []
        for i in b.seq[:b.done]:
            ok, line = b.results[i]
            (out if ok else err).append(line)
        rest = b.seq[b.done:] + b.stalled
        if rest:
            code, msg = BATCH_EXPIRED if status == "expired" else BATCH_CANCELLED
            self.bstats["lines"]["expired" if status == "expired" else "cancelled"] += len(rest)
            err += [{"id": "batch_req_" + uuid.uuid4().hex, "custom_id": b.lines[i].custom_id,
                     "response": None, "error": {"code": code, "message": msg}} for i in rest]
        if out:
            b.output_file_id = self.store_file(f"{b.id}_output.jsonl", "batch_output",
                                               b"".join(jdump(x) + b"\n" for x in out), now)
        if err:
            b.error_file_id = self.store_file(f"{b.id}_error.jsonl", "batch_output",
                                              b"".join(jdump(x) + b"\n" for x in err), now)

    def oa_batch(self, b: OpenAIBatch, now: float) -> dict:
        self.oa_advance(b, now)
        status, times = b.state(now)
        self.oa_finish(b, status, now)
        started = "in_progress_at" in times
        return {
            "id": b.id, "object": "batch", "endpoint": b.endpoint,
            "errors": {"object": "list", "data": b.errors} if status == "failed" else None,
            "input_file_id": b.input_file_id, "completion_window": "24h", "status": status,
            "output_file_id": b.output_file_id, "error_file_id": b.error_file_id,
            "created_at": int(b.created), "in_progress_at": times.get("in_progress_at"),
            "expires_at": int(b.expires), "finalizing_at": times.get("finalizing_at"),
            "completed_at": times.get("completed_at"), "failed_at": times.get("failed_at"),
            "expired_at": times.get("expired_at"), "cancelling_at": times.get("cancelling_at"),
            "cancelled_at": times.get("cancelled_at"),
            "request_counts": {"total": len(b.lines) if started else 0, "completed": b.n_ok,
                               "failed": b.done - b.n_ok},
            "metadata": b.metadata,
        }

    def oa_cancel(self, b: OpenAIBatch, now: float) -> dict:
        self.oa_advance(b, now)
        status, _ = b.state(now)
        if status in ("completed", "failed", "expired"):
            raise ApiError(409, f"Cannot cancel a batch with status '{status}'.")
        if status not in ("cancelling", "cancelled"):
            b.cancel_at, b.cancel_s = now, self.config.batch_cancelling_s
            b.schedule()
            self.count_cancelled("openai")
        return self.oa_batch(b, now)

    def oa_list(self, req: Request, now: float) -> dict:
        q = parse_qs(req.query)
        raw = q.get("limit", ["20"])[-1]
        try:
            limit = int(raw)
        except ValueError:
            limit = 0
        if not 1 <= limit <= 100:
            raise ApiError(400, f"Invalid 'limit': expected an integer from 1 to 100, but got "
                           f"{raw!r} instead.", "limit", "invalid_value")
        ids = list(reversed(self.oa_batches))
        after = q.get("after", [None])[-1]
        start = 0 if after is None else (ids.index(after) + 1 if after in self.oa_batches
                                         else len(ids))
        page = ids[start:start + limit]
        return {"object": "list", "data": [self.oa_batch(self.oa_batches[i], now) for i in page],
                "first_id": page[0] if page else None, "last_id": page[-1] if page else None,
                "has_more": start + limit < len(ids)}

    # -------------------------------------------------- Anthropic Message Batches
    def an_create(self, req: Request, now: float, host: str) -> dict:
        if len(req.body) > self.config.anthropic_batch_max_mb << 20:
            raise ApiError(413, "Request exceeds the maximum allowed number of bytes.")
        p = self.json_body(req)
        for k in p:
            if k != "requests":
                raise ApiError(400, f"{k}: Extra inputs are not permitted")
        reqs = p.get("requests")
        if reqs is None:
            raise ApiError(400, "requests: Field required")
        if not isinstance(reqs, list):
            raise ApiError(400, "requests: Input should be a valid list")
        limit = self.config.anthropic_batch_max_requests
        if not 1 <= len(reqs) <= limit:
            raise ApiError(400, "requests: List should have at " + (
                f"least 1 item after validation, not 0" if not reqs else
                f"most {limit} items after validation, not {len(reqs)}"))
        seen: dict[str, int] = {}
        lines = []
        for i, r in enumerate(reqs):
            where = f"requests.{i}"
            if not isinstance(r, dict):
                raise ApiError(400, f"{where}: Input should be a valid dictionary")
            for k in r:
                if k not in ("custom_id", "params"):
                    raise ApiError(400, f"{where}.{k}: Extra inputs are not permitted")
            for k in ("custom_id", "params"):
                if k not in r:
                    raise ApiError(400, f"{where}.{k}: Field required")
            cid, params = r["custom_id"], r["params"]
            if not isinstance(cid, str):
                raise ApiError(400, f"{where}.custom_id: Input should be a valid string")
            if not CUSTOM_ID_RE.fullmatch(cid):
                raise ApiError(400, f"{where}.custom_id: String should match pattern "
                               "'^[a-zA-Z0-9_-]{1,64}$'")
            if cid in seen:
                raise ApiError(400, f"{where}.custom_id: Duplicate custom_id '{cid}' (also used by "
                               f"requests.{seen[cid]}): custom_id must be unique within a Message "
                               "Batch")
            seen[cid] = i
            if not isinstance(params, dict):
                raise ApiError(400, f"{where}.params: Input should be a valid dictionary")
            lines.append(BatchLine(cid, params, "ok"))
        for ln in lines:
            ln.fate = self.line_fate("anthropic", ln.body)
        bid = "msgbatch_01" + uuid.uuid4().hex[:22]
        b = AnthropicBatch(bid, now, self.config, lines, random.Random(f"{self.config.seed}|{bid}"))
        b.submitted, b.custom_ids = len(lines), [ln.custom_id for ln in lines]
        self.an_batches[bid] = b
        self.count_created("anthropic", b)
        return self.an_batch(b, now, host)

    def an_advance(self, b: AnthropicBatch, now: float) -> None:
        """Answers the requests due by now; writes the results once the batch ends."""
        cut = b.cutoff(now)
        while b.done < len(b.seq) and b.due[b.done] <= cut:
            i = b.seq[b.done]
            b.done += 1
            line = b.lines[i]
            resp = self.answer_line("anthropic", "chat", "/v1/messages", line)
            ok = resp.status == 200
            b.n_ok += ok
            self.bstats["lines"]["succeeded" if ok else "errored"] += 1
            result = ({"type": "succeeded", "message": json.loads(resp.body)} if ok
                      else {"type": "errored", "error": json.loads(resp.body)})
            b.results[i] = (ok, {"custom_id": line.custom_id, "result": result})
        if b.finished or now < b.end_at:
            return
        b.finished = True
        out = [b.results[i][1] for i in b.seq[:b.done]]
        rest = b.seq[b.done:] + b.stalled
        if rest:
            how = "expired" if b.end_how == "expired" else "canceled"
            self.bstats["lines"]["expired" if how == "expired" else "cancelled"] += len(rest)
            out += [{"custom_id": b.lines[i].custom_id, "result": {"type": how}} for i in rest]
        b.results_jsonl = b"".join(jdump(x) + b"\n" for x in out)

    def an_batch(self, b: AnthropicBatch, now: float, host: str) -> dict:
        self.an_advance(b, now)
        status = b.status(now)
        ended = status == "ended"
        rest = len(b.lines) - b.done
        return {
            "id": b.id, "type": "message_batch", "processing_status": status,
            "request_counts": {
                "processing": 0 if ended else rest, "succeeded": b.n_ok,
                "errored": b.done - b.n_ok,
                "canceled": rest if ended and b.end_how == "canceled" else 0,
                "expired": rest if ended and b.end_how == "expired" else 0},
            "ended_at": rfc3339(b.end_at) if ended else None,
            "created_at": rfc3339(b.created), "expires_at": rfc3339(b.expires),
            "cancel_initiated_at": None if b.cancel_at is None else rfc3339(b.cancel_at),
            "archived_at": None,
            "results_url": f"http://{host}/v1/messages/batches/{b.id}/results" if ended else None,
        }

    def an_cancel(self, b: AnthropicBatch, now: float, host: str) -> dict:
        self.an_advance(b, now)
        status = b.status(now)
        if status == "ended":
            raise ApiError(400, f"Message Batch {b.id} has already ended and can no longer be "
                           "canceled.")
        if status == "in_progress":
            b.cancel_at, b.cancel_s = now, self.config.batch_cancelling_s
            b.schedule()
            self.count_cancelled("anthropic")
        return self.an_batch(b, now, host)

    def an_list(self, req: Request, now: float, host: str) -> dict:
        q = parse_qs(req.query)
        raw = q.get("limit", ["20"])[-1]
        try:
            limit = int(raw)
        except ValueError:
            raise ApiError(400, "limit: Input should be a valid integer") from None
        if not 1 <= limit <= 1000:
            raise ApiError(400, "limit: Input should be " + (
                "greater than or equal to 1" if limit < 1 else "less than or equal to 1000"))
        ids = list(reversed(self.an_batches))
        after, before = q.get("after_id", [None])[-1], q.get("before_id", [None])[-1]
        if after is not None:
            start = ids.index(after) + 1 if after in self.an_batches else len(ids)
            page, more = ids[start:start + limit], start + limit < len(ids)
        elif before is not None:
            end = ids.index(before) if before in self.an_batches else 0
            page, more = ids[max(0, end - limit):end], end - limit > 0
        else:
            page, more = ids[:limit], limit < len(ids)
        return {"data": [self.an_batch(self.an_batches[i], now, host) for i in page],
                "has_more": more, "first_id": page[0] if page else None,
                "last_id": page[-1] if page else None}

    # ----------------------------------------------------------------- admin
    def batch_status(self, api: str, bid: str, now: float) -> str:
        if api == "openai":
            b = self.oa_batches.get(bid)
            return b.state(now)[0] if b is not None else "gone"
        b = self.an_batches.get(bid)
        return b.status(now) if b is not None else "deleted"

    def batch_stats_dict(self) -> dict:
        now = time.time()
        out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in self.bstats.items()}
        out["by_api"] = {api: dict(d) for api, d in self.bstats["by_api"].items()}
        per = []
        for api, bid in self.bsince:
            b = self.oa_batches.get(bid) if api == "openai" else self.an_batches.get(bid)
            per.append({"id": bid, "api": api, "lines": b.submitted if b is not None else None,
                        "status": self.batch_status(api, bid, now)})
        out["per_batch"] = per
        return out

    def batches_dict(self) -> dict:
        """GET /_admin/batches: every batch held, with its custom_ids."""
        now = time.time()
        return {
            "openai": [{"id": b.id, "status": b.state(now)[0], "endpoint": b.endpoint,
                        "input_file_id": b.input_file_id, "lines": b.submitted,
                        "custom_ids": list(b.custom_ids), "created_at": int(b.created)}
                       for b in self.oa_batches.values()],
            "anthropic": [{"id": b.id, "status": b.status(now), "lines": b.submitted,
                           "custom_ids": list(b.custom_ids), "created_at": rfc3339(b.created)}
                          for b in self.an_batches.values()],
            "files": len(self.files),
        }


class MockLLM(BatchAPIs):
    def __init__(self, keys: list[str], answers: dict[str, str], config: Config,
                 max_body: int = 64 << 20, verbose: bool = False) -> None:
        self.keys = set(keys)
        self.config = config
        self.initial_config = config.to_dict()
        self.stats = Stats()
        # prompt prefixes each model has seen: its prompt cache (see cached_prefix)
        self.prompt_cache: set[bytes] = set()
        self.attempts: dict[bytes, int] = {}
        self.rng = random.Random(config.seed)
        self.max_body = max_body
        self.verbose = verbose
        self.conn_tasks: set[asyncio.Task] = set()
        self.seq = 0
        self._date = ""
        self._date_at = -1
        self.flaky: dict[str, int] = {}                 # [[judge=flaky]] request counters
        self.runs: collections.deque = collections.deque(maxlen=MAX_STORED_RUNS)
        self.runs_total = 0
        self.run_batches = 0
        self.run_requests = 0
        self.set_answers(answers)
        self.init_batches()

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

    def compose(self, model: str, prompt: str) -> Reply:
        """The reply to a prompt: a judge verdict for judge prompts (any model,
        echo models included), otherwise reply_for()."""
        j = detect_judge(prompt)
        if j is None:
            return Reply(self.reply_for(model, prompt))
        self.stats.judge[j.kind] += 1
        if j.repair:
            self.stats.judge["repair"] += 1
        if j.kind == "verdicts":
            return self.verdicts_verdict(j)
        return self.score_verdict(j) if j.kind == "score" else self.pairwise_verdict(j)

    def tool_turn(self, api: str, tr: ToolReq | None, results: list | None,
                  prompt: str) -> tuple[list[Call], Reply | None]:
        """The turn of a request that declares tools or replays tool calls: (the
        calls the model makes; else the reply to the tool results that end the
        history, or None for the ordinary answer to the prompt)."""
        st = self.stats
        if tr is not None:
            st.tool_stat(api, "requests")
        if results is not None:
            st.tool_stat(api, "result_turns")
        # Directives are read from the latest turn: the tool results when the
        # history ends with them (a result may ask for another call), else the
        # prompt.
        calls = choose_calls(tr, "\n".join(c for _, c, _ in results) if results is not None
                             else prompt)
        if calls:
            return calls, None
        return [], (Reply(results_reply(results)) if results is not None else None)

    def count_calls(self, api: str, calls: list[Call]) -> None:
        self.stats.tool_stat(api, "calls", len(calls))
        self.stats.tool_stat(api, "raw_calls", sum(c.raw is not None for c in calls))

    def cached_prefix(self, model: str, prefix: str) -> bool:
        """Whether model's prompt cache holds prefix; it does from now on.

        Like the providers' caches, a prefix is read from the cache from its
        second request on (the real ones also need 1024 tokens or more, which
        test prompts never reach, and expire after minutes, which tests never
        wait for)."""
        key = hashlib.sha256(f"{model}\0{prefix}".encode()).digest()
        if key in self.prompt_cache:
            return True
        if len(self.prompt_cache) >= 100_000:
            self.prompt_cache.clear()      # bound memory on endless distinct prompts
        self.prompt_cache.add(key)
        return False

    def flaky_step(self, key: str) -> int:
        """0, 1, 2, ... for successive requests with the same key (until a reset)."""
        n = self.flaky.get(key, 0)
        if len(self.flaky) >= 100_000 and n == 0:
            self.flaky.clear()
        self.flaky[key] = n + 1
        return n

    def score_verdict(self, j: Judge) -> Reply:
        answer = j.sections["answer"]
        words = word_set(answer)
        if "tool_calls" in j.sections:
            # task_completion: the calls are part of what is judged.
            words |= tool_words(j.sections["tool_calls"])
            answer += "\n" + j.sections["tool_calls"]
        n, d = len(words & support_words(j)), len(words)
        reason = f"{n} of {d} answer words are supported"
        dirs = directives(answer)
        modes = {v.lower() for k, v in dirs if k == "judge"}
        opts = {k: v for k, v in dirs if k != "judge"}
        dist = parse_logprobs_directive(opts["logprobs"]) if "logprobs" in opts else None
        if "score" in opts and opts["score"]:
            stated = opts["score"]
        elif dist:
            stated = dist[0][0]
        elif "flaky" in modes:
            stated = str(j.hi if self.flaky_step("score\0" + answer) % 2 == 0 else j.lo)
        else:
            stated = str(default_score(n, d, j.lo, j.hi))
        rep = render_verdict("score", stated, reason, modes, j.repair, MALFORMED_SCORE)
        if "quote" in modes:
            rep = with_quote(rep, "The answer says:\n" + quoted(j.text, "answer"))
        if rep.score_at is None:
            return rep
        return rep._replace(dist=dist or default_dist(stated, j.lo))

    def verdicts_verdict(self, j: Judge) -> Reply:
        judged = [(tag, text) for tag, text in j.sections.items() if tag != "criteria"]
        modes = {v.lower() for _, text in judged for k, v in directives(text) if k == "judge"}
        flaky = None
        if "flaky" in modes:
            key = "verdicts\0" + "\0".join(f"{tag}\0{text}" for tag, text in judged)
            flaky = self.flaky_step(key) % 2 == 0
        parts = []
        for item, yes, reason in rule_verdicts(j):
            forced = [v for k, v in directives(item) if k == "verdict" and v]
            if forced:
                v = forced[-1]
                value = json.dumps(v.lower() if v.lower() in ("yes", "no") else v)
            else:
                value = json.dumps("yes" if (yes if flaky is None else flaky) else "no")
            parts.append('{"item": ' + json.dumps(cut_item(item)) + ', "verdict": ' + value
                         + ', "reason": ' + json.dumps(reason) + "}")
        if mode_on(modes, "short", j.repair) and parts:
            parts.pop()
        if mode_on(modes, "extra", j.repair):
            parts.append(json.dumps(EXTRA_VERDICT))
        body = '{"verdicts": [' + ", ".join(parts) + "]}"
        rep = render_form(body, None, modes, j.repair, MALFORMED_VERDICTS)
        if "quote" in modes:
            tags = sorted((tag for tag, text in judged
                           if any(k == "judge" and v.lower() == "quote"
                                  for k, v in directives(text))),
                          key=lambda tag: section_span(j.text, tag)[0])
            quotes = [f"The {tag} section says:\n" + quoted(j.text, tag) for tag in tags]
            rep = with_quote(rep, "\n\n".join(quotes))
        return rep

    def pairwise_verdict(self, j: Judge) -> Reply:
        a, b = j.sections["answer_a"], j.sections["answer_b"]
        ref = support_words(j)
        (na, da), (nb, db) = support(a, ref), support(b, ref)
        reason = (f"A: {na} of {da} answer words are supported; "
                  f"B: {nb} of {db} answer words are supported")
        da_, db_ = directives(a), directives(b)
        modes = {v.lower() for k, v in da_ + db_ if k == "judge"}
        better_a = any(k == "better" for k, _ in da_)
        better_b = any(k == "better" for k, _ in db_)
        if any(k == "judge" and v.lower() == "position-bias" for k, v in directives(j.text)):
            winner = "A"
        elif better_a or better_b:
            winner = "tie" if better_a and better_b else ("A" if better_a else "B")
        elif "flaky" in modes:
            winner = "A" if self.flaky_step("pair\0" + a + "\0" + b) % 2 == 0 else "B"
        else:
            fa = Fraction(na, da) if da else Fraction(0)
            fb = Fraction(nb, db) if db else Fraction(0)
            winner = "A" if fa > fb else "B" if fb > fa else "tie"
        rep = render_verdict("winner", json.dumps(winner), reason, modes, j.repair,
                             MALFORMED_WINNER)
        if "quote" in modes:
            rep = with_quote(rep, "Answer A says:\n" + quoted(j.text, "answer_a")
                             + "\n\nAnswer B says:\n" + quoted(j.text, "answer_b"))
        return rep._replace(score_at=None)

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
    def error(api: str, status: int, message: str, headers=(), param=None,
              code=None) -> Response:
        if api == "langsmith":
            body = {"detail": message}
        elif api == "anthropic":
            etype = ANTHROPIC_ERR.get(status, "api_error" if status >= 500
                                      else "invalid_request_error")
            body = {"type": "error", "error": {"type": etype, "message": message}}
        elif api == "gemini":
            gstatus = GEMINI_ERR.get(status, "INTERNAL" if status >= 500
                                     else "FAILED_PRECONDITION")
            body = {"error": {"code": status, "message": message, "status": gstatus}}
        else:
            etype, default_code = OPENAI_ERR.get(status, ("server_error", None) if status >= 500
                                                 else ("invalid_request_error", None))
            body = {"error": {"message": message, "type": etype, "param": param,
                              "code": code or default_code}}
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
        elif api == "langsmith":
            key = h.get("x-api-key", "").strip()
            if not key or (self.keys and key not in self.keys):
                return self.error(api, 401, "Invalid token: send a valid x-api-key header")
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
    def classify(req: Request) -> tuple[str, str] | None:
        """(api, endpoint) of a request path; endpoint is chat, embeddings or runs."""
        path = req.path
        if path.endswith("/chat/completions"):
            return "openai", "chat"
        if path.endswith("/responses"):
            return "openai", "responses"
        if path.endswith("/embeddings"):
            # Anthropic has no embeddings API: its clients' requests (anthropic-version,
            # no OpenAI key header) get Anthropic's 404.
            h = req.headers
            if "anthropic-version" in h and "authorization" not in h and "api-key" not in h:
                return "anthropic", "embeddings"
            return "openai", "embeddings"
        if path.endswith("/v1/messages") or path == "/messages":
            return "anthropic", "chat"
        if ":generateContent" in path or ":streamGenerateContent" in path:
            return "gemini", "chat"
        if ":embedContent" in path or ":batchEmbedContents" in path:
            return "gemini", "embeddings"
        if path.endswith("/runs/batch") or path.endswith("/runs"):
            return "langsmith", "runs"
        return None

    async def dispatch(self, req: Request) -> Response:
        path = req.path
        if path.startswith("/_admin/"):
            self.stats.admin_requests += 1
            return self.admin(req)
        if "/batches" in path or "/files" in path:
            broute = batch_route(path)
            if broute is not None:
                return await self.dispatch_batch(req, broute)
        route = self.classify(req)
        if route is None:
            if req.method == "GET" and path.endswith("/models"):
                return self.list_models(req)
            resp = self.error("openai", 404, f"Unknown request URL: {req.method} {path}.")
            self.stats.record("other", "404", None, "other")
            return resp
        api, endpoint = route
        if api == "anthropic" and endpoint == "embeddings":
            resp = self.error(api, 404, f"Not found: {req.method} {path} (Anthropic has no "
                              "embeddings API).")
            self.stats.record(api, "404", None, endpoint)
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
            elif api == "langsmith":
                pass
            elif payload is not None and isinstance(payload.get("model"), str):
                model = payload["model"]

            resp, fault = await self.gate(api, req)
            if resp is not None:
                return resp
            resp = self.with_fault(self.answer(api, endpoint, req, path, payload, perr, model),
                                   fault)
            return resp
        finally:
            st.concurrent -= 1
            if resp is not None:
                st.record(api, resp.label, model, endpoint)

    async def gate(self, api: str, req: Request) -> tuple[Response | None, str | None]:
        """Latency, then the fault decision, for an authenticated API request:
        (the response that ends it here, or None; the fault kind drawn, or None)."""
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
                return self.error(api, 400, f"X-Mock-Fault: unknown fault {fault!r}"), None
            st = self.stats
            st.faults[fault] = st.faults.get(fault, 0) + 1
            if fault == "drop":
                return Response(0, b"", action="drop", label="drop"), fault
            if fault == "hang":
                await asyncio.sleep(self.config.hang_s)
            elif fault.isdigit():
                status = int(fault)
                hdrs = ()
                if status == 429 and self.config.retry_after_s is not None:
                    hdrs = (("Retry-After", str(self.config.retry_after_s)),)
                return self.error(api, status, FAULT_MESSAGES.get(
                    status, f"Injected HTTP {status} (mock)."), hdrs), fault
        return None, fault

    @staticmethod
    def with_fault(resp: Response, fault: str | None) -> Response:
        """A response as the faults that corrupt answers deliver it."""
        if fault == "malformed":
            return Response(200, resp.body[: max(1, len(resp.body) // 2)] + b'{"mock":',
                            resp.headers, label="200")
        if fault == "truncate":
            resp.action = "truncate"
        return resp

    def gemini_model(self, path: str) -> str:
        i = path.rfind("/models/")
        seg = path[i + 8:] if i >= 0 else path.rsplit("/", 1)[-1]
        return unquote(seg.split(":", 1)[0])

    def answer(self, api, endpoint, req, path, payload, perr, model) -> Response:
        if api == "anthropic" and not req.headers.get("anthropic-version"):
            return self.error(api, 400, "anthropic-version: header is required")
        if perr is not None:
            return self.error(api, 422 if api == "langsmith" else 400, perr)
        return self.handle(api, endpoint, path, payload, model)

    def handle(self, api, endpoint, path, payload: dict, model) -> Response:
        """The answer to a request body: the one code path of the synchronous
        endpoints, which the lines of batches go through too."""
        try:
            if api == "langsmith":
                return self.langsmith(payload, path.endswith("/runs/batch"))
            if endpoint == "embeddings":
                if api == "openai":
                    return self.openai_embeddings(payload)
                return self.gemini_embeddings(payload, model, ":batchEmbedContents" in path)
            if endpoint == "responses":
                return self.openai_responses(payload)
            if api == "openai":
                return self.openai(payload)
            if api == "anthropic":
                return self.anthropic(payload)
            if ":streamGenerateContent" in path:
                raise ApiError(400, "streamGenerateContent is not supported by the mock server.")
            return self.gemini(payload, model)
        except ApiError as e:
            return self.error(api, e.status, e.message, param=e.param, code=e.code)
        except (ValueError, TypeError, AttributeError, KeyError) as e:
            return self.error(api, 422 if api == "langsmith" else 400, f"Invalid request: {e}")

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
        if is_reasoning_model(model):
            reasoning_refusals(p, "chat")
        rt = reasoning_tokens(p.get("reasoning_effort"), model)
        want_lp, top_k = self.logprobs_params(p)
        tr = oa_chat_tools(p) if ("tools" in p or "tool_choice" in p
                                  or "parallel_tool_calls" in p) else None
        self.model_hooks(model)
        prompt = ""
        system = ""
        in_words = 0
        tool_history = False
        for m in msgs:
            if not isinstance(m, dict) or not isinstance(m.get("role"), str):
                raise ApiError(400, "each message must be an object with a 'role'")
            t = text_of(m.get("content"))
            in_words += words(t)
            role = m["role"]
            if role == "user":
                prompt = t
            elif role in ("system", "developer") and not prompt:
                system += t
            elif role == "tool" or "tool_calls" in m:
                tool_history = True
        results = None
        if tool_history:
            results, hw = oa_chat_history(msgs)
            in_words += hw
        if tr is not None:
            in_words += tr.words
        # OpenAI caches prompt prefixes by itself: here, the system messages.
        cached = words(system) if system and self.cached_prefix(model, system) else 0
        limit = p.get("max_completion_tokens", p.get("max_tokens"))
        rep = None
        if tr is not None or results is not None:
            calls, rep = self.tool_turn("openai", tr, results, prompt)
            if calls:
                return self.openai_calls(model, calls, tr, limit, rt, in_words, cached, want_lp)
        if rep is None:
            rep = self.compose(model, prompt)
        out, cut = self.limit_with_reasoning(rep.text, limit, rt)
        logprobs = None
        if want_lp:
            logprobs = {"content": logprobs_content(out, rep.score_at, rep.dist, max(top_k, 1)),
                        "refusal": None}
        ow = words(out)
        self.stats.input_tokens += in_words
        self.stats.output_tokens += ow + rt
        body = {
            "id": "chatcmpl-mock" + self.next_id(),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0,
                         "message": {"role": "assistant", "content": out, "refusal": None},
                         "logprobs": logprobs,
                         "finish_reason": "length" if cut else "stop"}],
            "usage": {"prompt_tokens": in_words, "completion_tokens": ow + rt,
                      "total_tokens": in_words + ow + rt,
                      "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
                      "completion_tokens_details": {"reasoning_tokens": rt, "audio_tokens": 0,
                                                    "accepted_prediction_tokens": 0,
                                                    "rejected_prediction_tokens": 0}},
            "system_fingerprint": "fp_mock",
        }
        return Response(200, jdump(body), (("x-request-id", "req_mock" + self.next_id()),))

    def openai_calls(self, model, calls, tr, limit, rt, in_words, cached, want_lp) -> Response:
        """A chat completion whose message makes tool calls."""
        kept, part, left, used = fit_calls(calls, output_limit(limit, rt))
        tcs = [{"id": "call_mock" + self.next_id(), "type": "function",
                "function": {"name": c.name,
                             "arguments": c.raw if c.raw is not None
                             else json.dumps(c.args, ensure_ascii=False, separators=(",", ":"))}}
               for c in kept]
        if part is not None and left > 0:
            # Cut by the output limit: the arguments end mid-way (not valid JSON).
            cut = part.raw if part.raw is not None else canon(part.args)
            tcs.append({"id": "call_mock" + self.next_id(), "type": "function",
                        "function": {"name": part.name,
                                     "arguments": " ".join(cut.split()[:max(left - words(part.name),
                                                                              0)])}})
            used += left
        self.count_calls("openai", kept + ([part] if part is not None and left > 0 else []))
        # A named tool choice ends with "stop", as OpenAI's does; "length" when cut.
        finish = "length" if part is not None else ("stop" if tr.forced else "tool_calls")
        message = {"role": "assistant", "content": None if tcs else "", "refusal": None}
        if tcs:
            message["tool_calls"] = tcs
        self.stats.input_tokens += in_words
        self.stats.output_tokens += used + rt
        body = {
            "id": "chatcmpl-mock" + self.next_id(),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "message": message,
                         "logprobs": {"content": None, "refusal": None} if want_lp else None,
                         "finish_reason": finish}],
            "usage": {"prompt_tokens": in_words, "completion_tokens": used + rt,
                      "total_tokens": in_words + used + rt,
                      "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
                      "completion_tokens_details": {"reasoning_tokens": rt, "audio_tokens": 0,
                                                    "accepted_prediction_tokens": 0,
                                                    "rejected_prediction_tokens": 0}},
            "system_fingerprint": "fp_mock",
        }
        return Response(200, jdump(body), (("x-request-id", "req_mock" + self.next_id()),))

    def limit_with_reasoning(self, text: str, limit, rt: int) -> tuple[str, bool]:
        """The answer cut to an output limit that counts reasoning tokens too."""
        if limit is None or isinstance(limit, bool) or not isinstance(limit, int) or rt == 0:
            return self.limit_words(text, limit)
        if limit <= rt:
            return "", True
        return self.limit_words(text, limit - rt)

    def openai_responses(self, p: dict) -> Response:
        """OpenAI's Responses API (POST /v1/responses)."""
        model = p.get("model")
        if not isinstance(model, str) or not model:
            raise ApiError(400, "Missing required parameter: 'model'.", "model",
                           "missing_required_parameter")
        for name in ("messages", "max_tokens", "max_completion_tokens", "stop", "seed", "n",
                     "logprobs", "reasoning_effort"):
            if name in p:
                raise ApiError(400, f"Unknown parameter: '{name}'.", name, "unknown_parameter")
        if p.get("stream"):
            raise ApiError(400, "stream=true is not supported by the mock server")
        inp = p.get("input")
        if isinstance(inp, str):
            items = [{"role": "user", "content": inp}]
        elif isinstance(inp, list) and inp:
            items = inp
        else:
            raise ApiError(400, "Missing required parameter: 'input'.", "input",
                           "missing_required_parameter")
        if is_reasoning_model(model):
            reasoning_refusals(p, "responses")
        reasoning = p.get("reasoning")
        effort = reasoning.get("effort") if isinstance(reasoning, dict) else None
        rt = reasoning_tokens(effort, model)
        limit = p.get("max_output_tokens")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 16):
            raise ApiError(400, f"Invalid 'max_output_tokens': integer below minimum value. Expected "
                           f"a value >= 16, but got {json.dumps(limit)} instead.",
                           "max_output_tokens", "integer_below_min_value")
        tr = oa_responses_tools(p) if ("tools" in p or "tool_choice" in p
                                       or "parallel_tool_calls" in p) else None
        self.model_hooks(model)
        instructions = p.get("instructions") or ""
        if not isinstance(instructions, str):
            raise ApiError(400, "Invalid type for 'instructions': expected a string.",
                           "instructions", "invalid_type")
        in_words = words(instructions)
        prompt = ""
        tool_items = False
        for m in items:
            if isinstance(m, dict) and m.get("type") in ("function_call", "function_call_output",
                                                         "reasoning"):
                tool_items = True
                continue
            if not isinstance(m, dict) or m.get("role") not in ("user", "assistant", "system",
                                                                "developer"):
                raise ApiError(400, "Invalid value for 'input': each item must be a message "
                               "with a role.", "input", "invalid_value")
            t = text_of(m.get("content"))
            in_words += words(t)
            if m["role"] == "user":
                prompt = t
        results = None
        if tool_items:
            results, hw = oa_responses_items(items, p.get("previous_response_id") is not None)
            in_words += hw
        if tr is not None:
            in_words += tr.words
        cached = words(instructions) if instructions and self.cached_prefix(model, instructions) else 0
        rep = None
        if tr is not None or results is not None:
            calls, rep = self.tool_turn("openai", tr, results, prompt)
            if calls:
                return self.responses_calls(p, model, calls, limit, rt, in_words, cached,
                                            instructions)
        if rep is None:
            rep = self.compose(model, prompt)
        out, cut = self.limit_with_reasoning(rep.text, limit, rt)
        ow = words(out)
        self.stats.input_tokens += in_words
        self.stats.output_tokens += ow + rt
        output = []
        if rt:
            output.append({"id": "rs_mock" + self.next_id(), "type": "reasoning", "summary": []})
        if out or not cut:
            output.append({"id": "msg_mock" + self.next_id(), "type": "message",
                           "status": "incomplete" if cut else "completed", "role": "assistant",
                           "content": [{"type": "output_text", "annotations": [], "logprobs": [],
                                        "text": out}]})
        body = {
            "id": "resp_mock" + self.next_id(),
            "object": "response",
            "created_at": int(time.time()),
            "status": "incomplete" if cut else "completed",
            "error": None,
            "incomplete_details": {"reason": "max_output_tokens"} if cut else None,
            "instructions": instructions or None,
            "max_output_tokens": limit,
            "model": model,
            "output": output,
            "store": bool(p.get("store", True)),
            "usage": {"input_tokens": in_words,
                      "input_tokens_details": {"cached_tokens": cached},
                      "output_tokens": ow + rt,
                      "output_tokens_details": {"reasoning_tokens": rt},
                      "total_tokens": in_words + ow + rt},
        }
        if "tools" in p or "tool_choice" in p:
            body.update(responses_tool_fields(p))
        return Response(200, jdump(body), (("x-request-id", "req_mock" + self.next_id()),))

    def responses_calls(self, p, model, calls, limit, rt, in_words, cached,
                        instructions) -> Response:
        """A Responses API response whose output makes function calls."""
        kept, part, left, used = fit_calls(calls, output_limit(limit, rt))
        output = []
        if rt:
            output.append({"id": "rs_mock" + self.next_id(), "type": "reasoning", "summary": []})
        items = [(c, "completed", c.raw if c.raw is not None
                  else json.dumps(c.args, ensure_ascii=False, separators=(",", ":"))) for c in kept]
        if part is not None and left > 0:
            cut = part.raw if part.raw is not None else canon(part.args)
            items.append((part, "incomplete",
                          " ".join(cut.split()[:max(left - words(part.name), 0)])))
            used += left
        for c, status, args in items:
            output.append({"id": "fc_mock" + self.next_id(), "type": "function_call",
                           "status": status, "arguments": args,
                           "call_id": "call_mock" + self.next_id(), "name": c.name})
        self.count_calls("openai", [c for c, _, _ in items])
        self.stats.input_tokens += in_words
        self.stats.output_tokens += used + rt
        incomplete = part is not None
        body = {
            "id": "resp_mock" + self.next_id(),
            "object": "response",
            "created_at": int(time.time()),
            "status": "incomplete" if incomplete else "completed",
            "error": None,
            "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
            "instructions": instructions or None,
            "max_output_tokens": limit,
            "model": model,
            "output": output,
            "store": bool(p.get("store", True)),
            "usage": {"input_tokens": in_words,
                      "input_tokens_details": {"cached_tokens": cached},
                      "output_tokens": used + rt,
                      "output_tokens_details": {"reasoning_tokens": rt},
                      "total_tokens": in_words + used + rt},
            **responses_tool_fields(p),
        }
        return Response(200, jdump(body), (("x-request-id", "req_mock" + self.next_id()),))

    @staticmethod
    def logprobs_params(p: dict) -> tuple[bool, int]:
        """(logprobs requested, top_logprobs k) of an OpenAI chat request, validated."""
        lp = p.get("logprobs")
        if lp is not None and not isinstance(lp, bool):
            raise ApiError(400, "logprobs must be a boolean")
        k = p.get("top_logprobs")
        if k is None:
            return bool(lp), 0
        if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= 20:
            raise ApiError(400, "top_logprobs must be an integer from 0 to 20")
        if not lp:
            raise ApiError(400, "logprobs must be set to true if top_logprobs is used")
        return True, k

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
        thinking_tokens = self.anthropic_thinking(p, mt)
        tr = an_tools(p, thinking_tokens > 0) if ("tools" in p or "tool_choice" in p) else None
        self.model_hooks(model)
        in_words = words(text_of(p.get("system")))
        prompt = ""
        # The prompt as blocks in cache order (tools, system, then messages),
        # each marked or not with a cache_control breakpoint.
        blocks = [(b, isinstance(b, dict) and "cache_control" in b)
                  for b in (p.get("system") if isinstance(p.get("system"), list)
                            else [p.get("system") or ""])]
        if tr is not None:
            blocks = [(canon(t), "cache_control" in t) for t in p["tools"]] + blocks
            in_words += tr.words
        tool_blocks = False
        for m in msgs:
            if not isinstance(m, dict) or m.get("role") not in ("user", "assistant"):
                raise ApiError(400, "messages: roles must be 'user' or 'assistant'")
            t = text_of(m.get("content"))
            in_words += words(t)
            if m["role"] == "user":
                prompt = t
            c = m.get("content")
            if isinstance(c, list):
                if not tool_blocks:
                    tool_blocks = any(isinstance(b, dict) and b.get("type") in ("tool_use",
                                                                               "tool_result")
                                      for b in c)
                blocks += [(b, isinstance(b, dict) and "cache_control" in b) for b in c]
            else:
                blocks.append((c, False))
        results = None
        if tool_blocks:
            results, hw = an_history(msgs, tr is not None or bool(p.get("tools")))
            in_words += hw
        # Prompt caching: the prefix up to the last breakpoint is written to
        # the cache by the first request, read from it by the next ones;
        # input_tokens counts only what follows it.
        block_text = an_block_text if tool_blocks else text_of
        prefix, prefix_words, written, read = "", 0, 0, 0
        text_so_far, words_so_far = "", 0
        for block, marked in blocks:
            t = block_text(block)
            text_so_far += "\x00" + t
            words_so_far += words(t)
            if marked:
                prefix, prefix_words = text_so_far, words_so_far
        if prefix_words:
            if self.cached_prefix(model, prefix):
                read = prefix_words
            else:
                written = prefix_words
        rep = calls = None
        if tr is not None or results is not None:
            calls, rep = self.tool_turn("anthropic", tr, results, prompt)
        if calls:
            # Calls that do not fit in max_tokens are left out (stop_reason max_tokens).
            kept, part, left, ow = fit_calls(calls, max(mt - thinking_tokens, 0))
            if part is not None:
                ow += left
            self.count_calls("anthropic", kept)
            reply = [{"type": "tool_use", "id": "toolu_mock" + self.next_id(), "name": c.name,
                      "input": c.args if c.raw is None else {}} for c in kept]
            stop = "max_tokens" if part is not None else "tool_use"
        else:
            if rep is None:
                rep = self.compose(model, prompt)
            out, cut = self.limit_words(rep.text, mt - thinking_tokens)
            ow = words(out)
            reply = [{"type": "text", "text": out}]
            stop = "max_tokens" if cut else "end_turn"
        self.stats.input_tokens += in_words
        self.stats.output_tokens += ow + thinking_tokens
        body = {
            "id": "msg_mock" + self.next_id(),
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": ([{"type": "thinking", "thinking": "Weighing the answer (mock).",
                          "signature": "mock-signature"}] if thinking_tokens else []) + reply,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": {"input_tokens": in_words - read - written, "output_tokens": ow + thinking_tokens,
                      "cache_creation_input_tokens": written, "cache_read_input_tokens": read},
        }
        return Response(200, jdump(body), (("request-id", "req_mock" + self.next_id()),))

    ANTHROPIC_THINKING_TOKENS = 16
    THINKING_DOCS = "https://docs.claude.com/en/docs/build-with-claude/extended-thinking"

    def anthropic_thinking(self, p: dict, max_tokens: int) -> int:
        """Thinking tokens of an Anthropic request, refusing what thinking refuses."""
        th = p.get("thinking")
        if th is None:
            return 0
        if not isinstance(th, dict) or th.get("type") not in ("enabled", "disabled"):
            raise ApiError(400, "thinking: Input tag does not match any of the expected tags: "
                           "'enabled', 'disabled'")
        if th["type"] == "disabled":
            return 0
        budget = th.get("budget_tokens")
        if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1024:
            raise ApiError(400, "thinking.enabled.budget_tokens: Input should be greater than or "
                           "equal to 1024")
        if max_tokens <= budget:
            raise ApiError(400, "`max_tokens` must be greater than `thinking.budget_tokens`. Please "
                           f"consult our documentation at {self.THINKING_DOCS}"
                           "#max-tokens-and-context-window-size")
        if p.get("temperature") is not None and p["temperature"] != 1:
            raise ApiError(400, "`temperature` may only be set to 1 when thinking is enabled. Please "
                           f"consult our documentation at {self.THINKING_DOCS}"
                           "#feature-compatibility")
        if p.get("top_k") is not None:
            raise ApiError(400, "`top_k` must be unset when thinking is enabled. Please consult our "
                           f"documentation at {self.THINKING_DOCS}#feature-compatibility")
        return min(self.ANTHROPIC_THINKING_TOKENS, budget)

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

        tr = ge_tools(p) if ("tools" in p or "toolConfig" in p or "tool_config" in p) else None
        sysi = p.get("systemInstruction", p.get("system_instruction"))
        in_words = words(parts_text(sysi)) if sysi is not None else 0
        prompt = ""
        tool_parts = False
        for c in contents:
            t = parts_text(c)
            in_words += words(t)
            if c.get("role", "user") == "user":
                prompt = t
            if not tool_parts:
                tool_parts = any(isinstance(x, dict) and ("functionCall" in x
                                                          or "functionResponse" in x)
                                 for x in c["parts"])
        results = None
        if tool_parts:
            results, hw = ge_history(contents)
            in_words += hw
        if tr is not None:
            in_words += tr.words
        gc = p.get("generationConfig", p.get("generation_config")) or {}
        limit = gc.get("maxOutputTokens", gc.get("max_output_tokens")) if isinstance(gc, dict) else None
        # Thinking (thinkingConfig.thinkingBudget: 0 off, -1 dynamic) counts
        # against maxOutputTokens; Gemini's implicit cache holds the system
        # instruction once seen.
        tc = gc.get("thinkingConfig", gc.get("thinking_config")) if isinstance(gc, dict) else None
        budget = tc.get("thinkingBudget", tc.get("thinking_budget")) if isinstance(tc, dict) else None
        if tc is not None and (not isinstance(tc, dict) or (budget is not None and (
                isinstance(budget, bool) or not isinstance(budget, int) or budget < -1))):
            raise ApiError(400, "Invalid value at 'generation_config.thinking_config.thinking_budget'")
        thoughts = 0
        if budget is not None and budget != 0:
            thoughts = 16 if budget == -1 else min(16, budget)
        elif budget is None and "thinking" in model.lower():
            thoughts = 16
        calls = rep = None
        if tr is not None or results is not None:
            calls, rep = self.tool_turn("gemini", tr, results, prompt)
        out = "" if calls else (rep or self.compose(model, prompt)).text
        sys_text = parts_text(sysi) if sysi is not None else ""
        cached = words(sys_text) if sys_text and self.cached_prefix(model, sys_text) else 0
        if calls:
            # Calls that do not fit in maxOutputTokens are left out (MAX_TOKENS).
            kept, part, left, ow = fit_calls(calls, output_limit(limit, thoughts))
            cut = part is not None
            if cut:
                ow += left
            self.count_calls("gemini", kept)
            parts = [{"functionCall": {"name": c.name, "args": c.args if c.raw is None else {}}}
                     for c in kept]
        else:
            out, cut = self.limit_with_reasoning(out, limit, thoughts)
            ow = words(out)
            parts = [{"text": out}]
        self.stats.input_tokens += in_words
        self.stats.output_tokens += ow + thoughts
        body = {
            "candidates": [{"content": {"role": "model", "parts": parts},
                            "finishReason": "MAX_TOKENS" if cut else "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": in_words, "candidatesTokenCount": ow,
                              "totalTokenCount": in_words + ow + thoughts,
                              **({"cachedContentTokenCount": cached} if cached else {}),
                              **({"thoughtsTokenCount": thoughts} if thoughts else {})},
            "modelVersion": model,
            "responseId": "mock" + self.next_id(),
        }
        return Response(200, jdump(body), ctype="application/json; charset=UTF-8")

    # ------------------------------------------------------------- embeddings
    def count_embedded(self, api: str, texts: list[str]) -> int:
        st = self.stats
        st.embed_texts[api] = st.embed_texts.get(api, 0) + len(texts)
        n = sum(words(t) for t in texts)
        st.input_tokens += n
        return n

    def openai_embeddings(self, p: dict) -> Response:
        model = p.get("model")
        if not isinstance(model, str) or not model:
            raise ApiError(400, "you must provide a model parameter")
        inp = p.get("input")
        if isinstance(inp, str):
            texts = [inp]
        elif isinstance(inp, list) and inp and all(isinstance(t, str) for t in inp):
            texts = inp
        elif isinstance(inp, list) and not inp:
            raise ApiError(400, "'input' must not be an empty array")
        elif inp is None:
            raise ApiError(400, "'input' is a required property")
        else:
            raise ApiError(400, "'input' must be a string or an array of strings "
                           "(token arrays are not supported by the mock server)")
        if len(texts) > 2048:
            raise ApiError(400, "'input' must have at most 2048 elements")
        dim = embed_dim(p.get("dimensions"), "dimensions")
        fmt = p.get("encoding_format", "float")
        if fmt not in ("float", "base64"):
            raise ApiError(400, "encoding_format must be 'float' or 'base64'")
        self.model_hooks(model)
        data = []
        for i, t in enumerate(texts):
            v = embed(t, dim)
            if fmt == "base64":
                v = base64.b64encode(struct.pack(f"<{dim}f", *v)).decode()
            data.append({"object": "embedding", "index": i, "embedding": v})
        n = self.count_embedded("openai", texts)
        body = {"object": "list", "data": data, "model": model,
                "usage": {"prompt_tokens": n, "total_tokens": n}}
        return Response(200, jdump(body), (("x-request-id", "req_mock" + self.next_id()),))

    @staticmethod
    def gemini_embed_text(req, model: str, where: str) -> tuple[str, int]:
        """(text, dimension) of one EmbedContentRequest."""
        if not isinstance(req, dict):
            raise ApiError(400, f"Invalid value at '{where}': expected an object")
        rm = req.get("model")
        if rm is not None and rm != f"models/{model}":
            raise ApiError(400, f"* {where}.model: must be 'models/{model}' (the model "
                           "of the URL)")
        content = req.get("content")
        parts = content.get("parts") if isinstance(content, dict) else None
        if not isinstance(parts, list):
            raise ApiError(400, f"* {where}.content: content is not specified")
        text = "\n".join(x["text"] for x in parts
                         if isinstance(x, dict) and isinstance(x.get("text"), str))
        dim = embed_dim(req.get("outputDimensionality", req.get("output_dimensionality")),
                        f"{where}.outputDimensionality")
        return text, dim

    def gemini_embeddings(self, p: dict, model: str, batch: bool) -> Response:
        if not model:
            raise ApiError(404, "model not found")
        if batch:
            reqs = p.get("requests")
            if not isinstance(reqs, list) or not reqs:
                raise ApiError(400, "* BatchEmbedContentsRequest.requests: requests is not "
                               "specified")
            if len(reqs) > 100:
                raise ApiError(400, "* BatchEmbedContentsRequest.requests: at most 100 "
                               "requests can be in one batch")
            items = [self.gemini_embed_text(r, model, f"requests[{i}]")
                     for i, r in enumerate(reqs)]
        else:
            items = [self.gemini_embed_text(p, model, "EmbedContentRequest")]
        self.model_hooks(model)
        vecs = [{"values": embed(t, d)} for t, d in items]
        self.count_embedded("gemini", [t for t, _ in items])
        body = {"embeddings": vecs} if batch else {"embedding": vecs[0]}
        return Response(200, jdump(body), ctype="application/json; charset=UTF-8")

    # -------------------------------------------------------------- LangSmith
    def langsmith(self, p: dict, batch: bool) -> Response:
        """POST /runs/batch {"post": [...], "patch": [...]} or POST /runs {run}."""
        if batch:
            ops = []
            for op in ("post", "patch"):
                runs = p.get(op)
                if runs is None:
                    continue
                if not isinstance(runs, list):
                    raise ApiError(422, f"{op}: must be a list of runs")
                ops += [(op, f"{op}[{i}]", r) for i, r in enumerate(runs)]
        else:
            ops = [("post", "run", p)]
        for op, where, run in ops:
            problem = run_problem(run, where, op)
            if problem is not None:
                raise ApiError(422, problem)
        for op, _, run in ops:
            self.runs.append({**run, "_op": op})
        self.runs_total += len(ops)
        self.run_requests += 1
        self.run_batches += batch
        return Response(202, b"{}", label="202")

    def langsmith_dict(self) -> dict:
        return {"batches": self.run_batches, "requests": self.run_requests,
                "runs": list(self.runs), "dropped": self.runs_total - len(self.runs)}

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
                self.flaky.clear()
                self.runs.clear()
                self.prompt_cache.clear()
                self.runs_total = self.run_batches = self.run_requests = 0
                self.reset_batch_stats()
                self.batch_once.clear()
                return Response(200, jdump({"ok": True}))
            if path == "/_admin/batches" and m == "GET":
                return Response(200, jdump(self.batches_dict()))
            if path == "/_admin/langsmith" and m == "GET":
                return Response(200, jdump(self.langsmith_dict()))
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
            "by_endpoint": dict(st.by_endpoint),
            "judge": dict(st.judge),
            "embeddings": {
                "requests": sum(st.embed_requests.values()),
                "texts": sum(st.embed_texts.values()),
                "by_api": {api: {"requests": n, "texts": st.embed_texts.get(api, 0)}
                           for api, n in st.embed_requests.items()},
            },
            "batches": self.batch_stats_dict(),
            "tools": {**{k: sum(d[k] for d in st.tools.values())
                         for k in ("requests", "calls", "raw_calls", "result_turns")},
                      "by_api": {api: dict(d) for api, d in st.tools.items()}},
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
    d = Config()
    for name in Config.BATCH_DURATIONS + Config.BATCH_LIMITS:
        ap.add_argument("--" + name.replace("_", "-"), type=type(getattr(d, name)),
                        default=getattr(d, name))
    ap.add_argument("--verbose", action="store_true", help="log each request to stderr")
    return ap.parse_args(argv)


async def amain(args: argparse.Namespace) -> int:
    cfg = Config()
    try:
        cfg.update({"latency_ms": args.latency_ms, "jitter_ms": args.jitter_ms,
                    "fault_rate": args.fault_rate, "faults": args.faults, "seed": args.seed,
                    "retry_after_s": args.retry_after_s, "hang_s": args.hang_s,
                    "fail_first_n": args.fail_first_n,
                    "status_override": args.status_override,
                    **{name: getattr(args, name)
                       for name in Config.BATCH_DURATIONS + Config.BATCH_LIMITS}})
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
    app.bound = (host, port)
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
