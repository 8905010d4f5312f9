"""Helpers the test suites share: a real SMTP server on loopback (aiosmtpd), a free port, the test Redis, and a client
that calls a WSGI application the way a server does."""

import email
import os
import socket
import time
from io import BytesIO
from urllib.parse import urlencode

# The Redis the page cache tests use, with keys of their own under a unique prefix; CAREPATH_TEST_REDIS_URL points
# them at another database where several people share one Redis server.
TEST_REDIS_URL = os.environ.get("CAREPATH_TEST_REDIS_URL", "redis://127.0.0.1:6379/4")


class Inbox:
    """aiosmtpd handler that keeps every message it accepts."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(inbox, count, seconds=5):
    """The inbox's messages once it holds `count` of them, or what it holds after `seconds`."""
    deadline = time.monotonic() + seconds
    while len(inbox.messages) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return inbox.messages


class Response:
    def __init__(self, status, headers, body):
        self.status_code = int(status[:3])
        self.headers = headers
        self.body = body
        self.text = body.decode()

    def header(self, name):
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def cookies(self):
        return [v for k, v in self.headers if k.lower() == "set-cookie"]


class WSGIClient:
    """Calls the WSGI application with a plain environ, the way gunicorn or granian do."""

    def __init__(self, app):
        self.app = app
        self.cookies = {}

    def request(self, method, path, query="", body=b"", headers=None):
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "testserver",
            "wsgi.url_scheme": "http",
            "wsgi.input": BytesIO(body),
            "wsgi.errors": BytesIO(),
            "CONTENT_LENGTH": str(len(body)),
        }
        if self.cookies:
            environ["HTTP_COOKIE"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for name, value in (headers or {}).items():
            environ[name] = value
        captured = {}

        def start_response(status, response_headers, exc_info=None):
            captured.update(status=status, headers=response_headers)

        chunks = self.app(environ, start_response)
        data = b"".join(chunks)
        if hasattr(chunks, "close"):
            chunks.close()
        response = Response(captured["status"], captured["headers"], data)
        for cookie in response.cookies():
            name, value = cookie.split(";", 1)[0].split("=", 1)
            self.cookies[name] = value
        return response

    def get(self, path, query="", **headers):
        return self.request("GET", path, query, headers=headers)

    def post(self, path, data, **headers):
        body = urlencode(data).encode()
        return self.request(
            "POST", path, body=body, headers={"CONTENT_TYPE": "application/x-www-form-urlencoded", **headers}
        )
