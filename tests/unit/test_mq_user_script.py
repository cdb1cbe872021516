"""The shared mq-user.py against a local HTTP server that answers like RabbitMQ's management API
(paths, methods and Basic auth as documented): the script waits while the API is down, then creates
the vhost, the user and its permissions with PUTs, which makes a second run harmless."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files

import pytest

SCRIPT = str(files("chartgen") / "shared" / "mq-user.py")


class FakeManagementApi(BaseHTTPRequestHandler):
    calls: list[tuple[str, str, dict | None]] = []
    down_for = 1  # the first overview request fails, as while the nodes start

    def _answer(self, body: dict | None) -> None:
        expected = "Basic " + base64.b64encode(b"admin:s3cret").decode()
        if self.headers.get("Authorization") != expected:
            self.send_response(401)
        elif self.path == "/api/overview" and type(self).down_for > 0:
            type(self).down_for -= 1
            self.send_response(503)
        else:
            type(self).calls.append((self.command, self.path, body))
            self.send_response(201 if self.command == "PUT" else 200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._answer(None)

    def do_PUT(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length", 0))
        self._answer(json.loads(self.rfile.read(length) or b"{}"))

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def api():
    FakeManagementApi.calls, FakeManagementApi.down_for = [], 1
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeManagementApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def run(api_url: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {"MQ_API": api_url, "MQ_ADMIN_USER": "admin", "MQ_ADMIN_PASSWORD": "s3cret", "MQ_USER": "glance",
           "MQ_PASSWORD": "pw/with:odd@chars", "PATH": "/usr/bin:/bin", **extra}
    # sleep(5) between attempts is the script's pace; the test lets it take one retry.
    return subprocess.run([sys.executable, SCRIPT], env=env, capture_output=True, text=True, timeout=60)


def test_creates_the_user_and_its_permissions_after_waiting(api: str) -> None:
    result = run(api)
    assert result.returncode == 0, result.stderr
    assert f"waiting for the RabbitMQ management API at {api}" in result.stdout
    puts = [(path, body) for method, path, body in FakeManagementApi.calls if method == "PUT"]
    assert puts == [("/api/vhosts/%2F", {}),
                    ("/api/users/glance", {"password": "pw/with:odd@chars", "tags": ""}),
                    ("/api/permissions/%2F/glance", {"configure": ".*", "write": ".*", "read": ".*"})]
    assert "RabbitMQ user glance is ready on virtual host /" in result.stdout


def test_gives_up_with_a_message_that_names_what_it_waited_for() -> None:
    result = run("http://127.0.0.1:9", MQ_WAIT_SECONDS="0")  # port 9 (discard): nothing listens
    assert result.returncode == 1
    assert "gave up waiting for the RabbitMQ management API at http://127.0.0.1:9" in result.stderr
