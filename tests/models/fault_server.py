"""A real OpenAI-compatible HTTP server on 127.0.0.1 that misbehaves on purpose (for tests).

Run as ``python fault_server.py PORT_FILE LOG_FILE ACTIONS_FILE``. ACTIONS_FILE holds a JSON list,
re-read at every request (a changed list starts over from its first action). Each POST to
/v1/chat/completions takes the next action (the last one repeats): ``{"status": 200}`` answers
normally (echoing the last user message), ``{"status": 500}`` / ``{"status": 429, "retry_after":
"1"}`` fail, ``{"sleep": 2}`` answers after a delay, ``{"drop": true}`` closes the connection
without answering, ``{"raw": TEXT}`` answers 200 with TEXT as the body (any JSON shape, or
none), ``{"status": 401, "echo_auth": true}`` fails with the request's Authorization header in its
error text (as some servers do), ``{"judge": ["m", "M"]}`` answers as a judge with top
log-probabilities drawn from the prompt (see ``judge_answer``), ``{"yes_no": true}`` answers YES
or NO with a reason likewise (``yes_no_answer``); ``"message"`` sets a failure's
error text. Every request is appended to LOG_FILE.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT_FILE, LOG_FILE, ACTIONS_FILE = sys.argv[1], sys.argv[2], sys.argv[3]
_lock = threading.Lock()
_state = {"text": None, "index": 0}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def _send(self, status, payload, headers=None):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self._send(200, {"object": "list", "data": [{"id": "fake", "object": "model"}]})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        request = json.loads(self.rfile.read(length))
        with _lock:
            with open(ACTIONS_FILE) as handle:
                text = handle.read()
            if text != _state["text"]:
                _state["text"], _state["index"] = text, 0
            actions = json.loads(text)
            index = _state["index"]
            _state["index"] += 1
            with open(LOG_FILE, "a") as log:
                log.write(json.dumps({"auth": self.headers.get("Authorization"), "body": request}) + "\n")
        action = actions[min(index, len(actions) - 1)]
        if action.get("drop"):
            self.connection.shutdown(socket.SHUT_RDWR)
            self.connection.close()
            return
        if "sleep" in action:
            time.sleep(action["sleep"])
        if "raw" in action:
            body = action["raw"].encode("utf-8", "surrogatepass")
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        status = action.get("status", 200)
        if status != 200:
            headers = {"Retry-After": action["retry_after"]} if "retry_after" in action else {}
            message = action.get("message", f"planned failure {status}")
            if action.get("echo_auth"):
                message += f"; you sent {self.headers.get('Authorization')}"
            self._send(status, {"error": {"message": message}}, headers)
            return
        if "yes_no" in action:
            self._send(200, yes_no_answer(request))
            return
        if "judge" in action:
            self._send(200, judge_answer(request, action["judge"]))
            return
        content = "echo: " + request["messages"][-1]["content"]
        self._send(200, {
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 3},
        })  # fmt: skip


def judge_answer(request, tokens):
    """A deterministic judge: one token, and the first token's top log-probabilities, drawn from a
    hash of the messages (so the same prompt always gets the same answer). ``tokens`` are the two
    answer tokens (an empty list: top tokens that hold neither)."""
    import hashlib
    import math

    digest = hashlib.sha256(json.dumps(request["messages"], sort_keys=True).encode()).digest()
    p = (int.from_bytes(digest[:4], "big") % 999 + 1) / 1000
    top = [{"token": "The", "logprob": math.log(1e-4)}]
    if tokens:
        top = [{"token": tokens[0], "logprob": math.log(p * 0.99)}, {"token": tokens[1], "logprob": math.log((1 - p) * 0.99)}] + top
    content = top[0]["token"] if p >= 0.5 or not tokens else top[1]["token"]
    if request.get("top_logprobs") is None:
        return {"choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "length"}]}
    return {
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "length",
                     "logprobs": {"content": [{"token": content, "logprob": -0.1, "top_logprobs": top[: request["top_logprobs"]]}]}}],
        "usage": {"prompt_tokens": 50, "completion_tokens": 1, "total_tokens": 51},
    }  # fmt: skip


def yes_no_answer(request):
    """A deterministic requirement judge: YES or NO with a reason, P(YES) drawn from a hash of the messages."""
    import hashlib
    import math

    digest = hashlib.sha256(json.dumps(request["messages"], sort_keys=True).encode()).digest()
    p = (int.from_bytes(digest[:4], "big") % 999 + 1) / 1000
    word = "YES" if p >= 0.5 else "NO"
    choice = {"index": 0, "message": {"role": "assistant", "content": f"{word}. Because it {'does' if p >= 0.5 else 'does not'}."},
              "finish_reason": "stop"}  # fmt: skip
    if request.get("top_logprobs"):
        top = sorted([{"token": "YES", "logprob": math.log(p)}, {"token": "NO", "logprob": math.log(1 - p)}],
                     key=lambda t: -t["logprob"])  # fmt: skip
        choice["logprobs"] = {"content": [{"token": word, "logprob": top[0]["logprob"], "top_logprobs": top}]}
    return {"choices": [choice], "usage": {"prompt_tokens": 80, "completion_tokens": 6, "total_tokens": 86}}


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(PORT_FILE + ".tmp", "w") as handle:
    handle.write(str(server.server_address[1]))
import os  # noqa: E402

os.replace(PORT_FILE + ".tmp", PORT_FILE)
server.serve_forever()
