"""llama-cpp-python's OpenAI-compatible server behind a proxy that logs every request body.

Usage: python benchmarks/logging_proxy.py PORT LOG_FILE MODEL.gguf
(the server listens on a port of its own; the proxy on PORT writes one JSON line per POST to LOG_FILE:
{"body": the request}, then forwards it and returns the server's answer unchanged).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

PORT, LOG, MODEL = int(sys.argv[1]), sys.argv[2], sys.argv[3]
with socket.socket() as sock:
    sock.bind(("127.0.0.1", 0))
    INNER = sock.getsockname()[1]
server = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", MODEL, "--host", "127.0.0.1",
                           "--port", str(INNER), "--n_ctx", "4096"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
lock = threading.Lock()
client = httpx.Client(base_url=f"http://127.0.0.1:{INNER}", timeout=600)


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _relay(self, response: httpx.Response) -> None:
        body = response.content
        self.send_response(response.status_code)
        self.send_header("Content-Type", response.headers.get("content-type", "application/json"))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        try:
            self._relay(client.get(self.path))
        except httpx.HTTPError:
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with lock, open(LOG, "a") as log:
            log.write(json.dumps({"body": json.loads(raw)}) + "\n")
        self._relay(client.post(self.path, content=raw, headers={"Content-Type": "application/json"}))


try:
    ThreadingHTTPServer(("127.0.0.1", PORT), Proxy).serve_forever()
finally:
    server.terminate()
