"""Helpers the test suites share: a real SMTP server on loopback (aiosmtpd), a free port, the test Redis."""

import email
import os
import socket
import time

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
