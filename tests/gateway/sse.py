"""A small SSE reader for tests: yields (id, event, data) for each frame of a streaming response."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx


def frames(resp: httpx.Response) -> Iterator[tuple[int | None, str, dict[str, Any]]]:
    event_id: int | None = None
    event, data = "message", ""
    for line in resp.iter_lines():
        if line == "":
            if data:
                yield event_id, event, json.loads(data)
            event_id, event, data = None, "message", ""
        elif line.startswith("id:"):
            event_id = int(line[3:].strip())
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data += line[5:].strip()
