"""A requests session that keeps what the real exporters put on the wire."""

from __future__ import annotations

import requests


class RecordingSession(requests.Session):
    """Posts as usual and keeps every body it posted."""

    def __init__(self) -> None:
        super().__init__()
        self.bodies: list[str] = []

    def post(self, url, data=None, **kwargs):
        self.bodies.append(data)
        return super().post(url, data=data, **kwargs)
