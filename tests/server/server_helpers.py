"""Helpers of the server tests: the students' tokens, a live uvicorn server on a
loopback port, and a scan for key-side fields in what a student is sent."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

TOKENS = {f"s00{i}": f"tok-{i}-" + "k" * 30 for i in range(1, 4)}
KEY_FIELDS = {"correct", "answer", "key", "explanation", "references", "rubric", "params",
              "misconceptions", "seed", "source_index", "display", "value"}  # fmt: skip
"""Field names of the key side of a quiz: none may appear in any answer to a student."""


def auth(student_id: str = "s001") -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[student_id]}"}


@contextmanager
def running(app) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port in a thread; yield its URL."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(20)
        sock.close()


def key_fields(value, path: str = "") -> list[str]:
    """Paths of every key-side field name anywhere in a JSON value."""
    found = []
    if isinstance(value, dict):
        for k, v in value.items():
            if k in KEY_FIELDS:
                found.append(f"{path}.{k}")
            found += key_fields(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += key_fields(v, f"{path}[{i}]")
    return found
