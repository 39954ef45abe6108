"""An OpenAI-compatible HTTP server on 127.0.0.1 for tests and the throughput bench (stdlib only).

Implements what the describers use, shaped as the real API shapes it: POST /v1/chat/completions,
POST /v1/files (multipart), GET /v1/files/{id}/content, POST /v1/batches, GET /v1/batches/{id},
GET /v1/batches. Answers are a deterministic function of (prompt, seed), so two runs that send the same
requests get the same answers. Faults are injected per request by a `fault(call)` hook, which returns
None (answer normally) or a `Fault`.
"""

from __future__ import annotations

import email.parser
import itertools
import json
import re
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PROMPT = re.compile(r"generate (\d+) sentences related to this sentence <(.+)>")
_WORDS = ("bright", "quiet", "small", "old", "wet", "distant", "red", "busy", "calm", "blurry", "sunlit", "dark")


@dataclass
class Fault:
    status: int | None = None  # an HTTP error status
    error: dict | None = None  # its body's "error" object
    headers: dict = field(default_factory=dict)  # e.g. {"Retry-After": "1"}
    delay_s: float = 0.0  # sleep before answering (client timeouts)
    content: str | None = None  # answer with this text instead (refusals, malformed answers)
    refusal: str | None = None  # the message's refusal field
    drop: bool = False  # close the connection without answering


@dataclass(frozen=True)
class Call:
    """One chat completion request as the server received it."""

    n: int  # 1-based arrival order
    prompt: str
    seed: int | None
    body: dict
    authorization: str


def default_answer(prompt: str, seed: int | None) -> str:
    """A numbered list of the asked number of sentences, varied by the seed: 'A photo of a dog, bright 12-3.'"""
    m = PROMPT.search(prompt)
    n, seed_sentence = (int(m.group(1)), m.group(2)) if m else (3, "Something")
    s = seed or 0
    return "\n".join(
        f"{i + 1}. {seed_sentence}, {_WORDS[(s + i) % len(_WORDS)]} scene {s % 100_000}-{i}." for i in range(n)
    )


def text_of(content: str | list) -> str:
    """A message's text: the content, or its text parts joined (vision requests send a list of parts)."""
    if isinstance(content, str):
        return content
    return " ".join(p.get("text", "") for p in content if p.get("type") == "text")


def completion(body: dict, text: str, refusal: str | None = None, finish: str = "stop") -> dict:
    prompt = " ".join(text_of(m.get("content", "")) for m in body.get("messages", []))
    usage = {"prompt_tokens": len(prompt.split()), "completion_tokens": len(text.split())}
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    return {
        "id": f"chatcmpl-{abs(hash((prompt, text))) % 10**12}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "fake"),
        "choices": [
            {
                "index": 0,
                "finish_reason": finish,
                "logprobs": None,
                "message": {"role": "assistant", "content": text, "refusal": refusal},
            }
        ],
        "usage": usage,
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], OSError):  # a client that hung up (killed, timed out) is normal
            super().handle_error(request, client_address)


class FakeOpenAI:
    """Start with `with FakeOpenAI() as server:`; point clients at `server.base_url`."""

    def __init__(
        self,
        answer: Callable[[str, int | None], str] = default_answer,
        fault: Callable[[Call], Fault | None] | None = None,
        batch_polls: int = 2,
    ) -> None:
        self.answer, self.fault, self.batch_polls = answer, fault, batch_polls
        self.calls: list[Call] = []  # every chat completion received (sync mode)
        self.answered: list[Call] = []  # those that got a 200 answer written to the socket
        self.files: dict[str, dict] = {}
        self.batches: dict[str, dict] = {}
        self.batch_holds: set[str] = set()  # batch ids kept in progress until released
        self.hold_new_batches = False  # keep every batch created from now on in progress
        self.expire_batches = 0  # this many batches end "expired" with no output (the 24 h window passed)
        self.fail_after_batch_create = False  # create the batch, then drop the connection (once)
        self.in_flight = self.max_in_flight = 0  # concurrent chat requests being handled
        self.lock = threading.Lock()
        self._ids = itertools.count(1)
        self._server = _Server(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/v1"

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def new_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids):06d}"

    # -- chat ------------------------------------------------------------------------------------------
    def chat(self, body: dict, authorization: str) -> tuple[Call, int, dict, dict, float, bool]:
        """(call, status, json body, headers, delay, drop) for one chat completion."""
        prompt = next((text_of(m["content"]) for m in body.get("messages", []) if m.get("role") == "user"), "")
        with self.lock:
            call = Call(len(self.calls) + 1, prompt, body.get("seed"), body, authorization)
            self.calls.append(call)
        f = self.fault(call) if self.fault else None
        if f is None:
            return call, 200, completion(body, self.answer(prompt, call.seed)), {}, 0.0, False
        if f.status is not None:
            error = f.error or {"message": "fault", "type": "server_error"}
            return call, f.status, {"error": error}, f.headers, f.delay_s, f.drop
        text = f.content if f.content is not None else self.answer(prompt, call.seed)
        return call, 200, completion(body, text, f.refusal), f.headers, f.delay_s, f.drop

    # -- batches ---------------------------------------------------------------------------------------
    def create_batch(self, body: dict) -> dict:
        batch_id = self.new_id("batch")
        now = int(time.time())
        batch = {
            "id": batch_id,
            "object": "batch",
            "endpoint": body["endpoint"],
            "errors": None,
            "input_file_id": body["input_file_id"],
            "completion_window": body["completion_window"],
            "status": "validating",
            "output_file_id": None,
            "error_file_id": None,
            "created_at": now,
            "in_progress_at": None,
            "expires_at": now + 86400,
            "finalizing_at": None,
            "completed_at": None,
            "failed_at": None,
            "expired_at": None,
            "cancelling_at": None,
            "cancelled_at": None,
            "request_counts": {"total": 0, "completed": 0, "failed": 0},
            "metadata": body.get("metadata"),
            "_polls": 0,
        }
        self.batches[batch_id] = batch
        if self.hold_new_batches:
            self.batch_holds.add(batch_id)
        return batch

    def poll_batch(self, batch_id: str) -> dict:
        """Each retrieval moves a batch on: validating -> in_progress -> ... -> completed."""
        batch = self.batches[batch_id]
        if batch["status"] in ("completed", "failed", "expired", "cancelled") or batch_id in self.batch_holds:
            return batch
        batch["_polls"] += 1
        if batch["_polls"] == 1:
            batch.update(status="in_progress", in_progress_at=int(time.time()))
        if batch["_polls"] >= self.batch_polls and self.expire_batches:
            self.expire_batches -= 1
            batch.update(status="expired", expired_at=int(time.time()))
        elif batch["_polls"] >= self.batch_polls:
            self._complete(batch)
        return batch

    def _complete(self, batch: dict) -> None:
        out, err = [], []
        lines = self.files[batch["input_file_id"]]["content"].decode().splitlines()
        for line in filter(None, lines):
            req = json.loads(line)
            _, status, body, _, _, _ = self.chat(req["body"], "batch")
            item = {
                "id": self.new_id("batch_req"),
                "custom_id": req["custom_id"],
                "response": {"status_code": status, "request_id": self.new_id("req"), "body": body},
                "error": None,
            }
            (out if status == 200 else err).append(json.dumps(item))
        for name, rows in (("output_file_id", out), ("error_file_id", err)):
            if rows:
                batch[name] = self.add_file("\n".join(rows).encode() + b"\n", "batch_output", f"{name}.jsonl")
        batch.update(
            status="completed",
            completed_at=int(time.time()),
            request_counts={"total": len(lines), "completed": len(out), "failed": len(err)},
        )

    def add_file(self, content: bytes, purpose: str, filename: str) -> str:
        file_id = self.new_id("file")
        self.files[file_id] = {
            "id": file_id,
            "object": "file",
            "bytes": len(content),
            "created_at": int(time.time()),
            "filename": filename,
            "purpose": purpose,
            "status": "processed",
            "content": content,
        }
        return file_id

    def batch_requests(self) -> list[dict]:
        """Every request line of every created batch's input file."""
        rows = []
        for batch in self.batches.values():
            rows += [json.loads(x) for x in self.files[batch["input_file_id"]]["content"].decode().splitlines() if x]
        return rows


def _public(obj: dict) -> dict:
    return {k: v for k, v in obj.items() if not k.startswith("_") and k != "content"}


def _handler(server: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no 40 ms Nagle stalls

        def log_message(self, *args: object) -> None:
            pass

        def _send(self, status: int, payload: dict | bytes, headers: dict | None = None) -> None:
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header(
                "content-type", "application/json" if isinstance(payload, dict) else "application/octet-stream"
            )
            self.send_header("content-length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("content-length", 0)))

        def do_POST(self) -> None:
            raw = self._body()
            if self.path.endswith("/chat/completions"):
                with server.lock:
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    self._chat(raw)
                finally:
                    with server.lock:
                        server.in_flight -= 1
                return
            if self.path.endswith("/files"):
                msg = email.parser.BytesParser().parsebytes(
                    b"content-type: " + self.headers["content-type"].encode() + b"\r\n\r\n" + raw
                )
                parts = {p.get_param("name", header="content-disposition"): p for p in msg.get_payload()}
                file_part = parts["file"]
                file_id = server.add_file(
                    file_part.get_payload(decode=True),
                    parts["purpose"].get_payload(),
                    file_part.get_filename() or "upload.jsonl",
                )
                return self._send(200, _public(server.files[file_id]))
            if self.path.endswith("/batches"):
                batch = server.create_batch(json.loads(raw))
                if server.fail_after_batch_create:
                    server.fail_after_batch_create = False
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                return self._send(200, _public(batch))
            self._send(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})

        def _chat(self, raw: bytes) -> None:
            call, status, body, headers, delay, drop = server.chat(
                json.loads(raw), self.headers.get("authorization", "")
            )
            time.sleep(delay)
            if drop:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            try:
                self._send(status, body, headers)
            except OSError:  # the client gave up (timeout): not answered
                self.close_connection = True
                return
            if status == 200:
                with server.lock:
                    server.answered.append(call)

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if m := re.fullmatch(r"/v1/files/([^/]+)/content", path):
                return self._send(200, server.files[m.group(1)]["content"])
            if m := re.fullmatch(r"/v1/batches/([^/]+)", path):
                return self._send(200, _public(server.poll_batch(m.group(1))))
            if path == "/v1/batches":
                data = [_public(b) for b in sorted(server.batches.values(), key=lambda b: b["id"], reverse=True)]
                return self._send(
                    200,
                    {
                        "object": "list",
                        "data": data,
                        "first_id": data[0]["id"] if data else None,
                        "last_id": data[-1]["id"] if data else None,
                        "has_more": False,
                    },
                )
            self._send(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})

    return Handler
