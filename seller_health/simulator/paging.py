"""Opaque, tamper-evident pagination tokens.

A token carries the resolved query (time field, bounds, filters) and the sort key of the last
order served, so the next page resumes exactly after it: no order is served twice or skipped,
even though the default upper bound ("now minus two minutes") moves between calls. An HMAC keyed
by the seed makes a hand-edited token fail with 400 ``InvalidInput`` instead of silently paging
somewhere else, as a real opaque token would. The payload is also masked with a keystream so
it cannot be read or built by a client: a connector must treat tokens as opaque.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

from seller_health.simulator.responses import ApiError, invalid_input

_MAC_BYTES = 12


class PageTokens:
    def __init__(self, seed: int) -> None:
        self._key = hashlib.sha256(f"{seed}:page-token-key".encode()).digest()

    def _mask(self, mac: bytes, data: bytes) -> bytes:
        stream = bytearray()
        block = 0
        while len(stream) < len(data):
            stream += hashlib.sha256(self._key + mac + block.to_bytes(4, "big")).digest()
            block += 1
        return bytes(a ^ b for a, b in zip(data, stream, strict=False))

    def encode(self, payload: dict[str, Any]) -> str:
        raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        mac = hmac.new(self._key, raw, hashlib.sha256).digest()[:_MAC_BYTES]
        return base64.urlsafe_b64encode(mac + self._mask(mac, raw)).decode().rstrip("=")

    def decode(self, token: str, name: str) -> dict[str, Any]:
        """The payload of a token this simulator issued, or 400 naming the parameter."""
        try:
            blob = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            raise self._invalid(name) from None
        mac = blob[:_MAC_BYTES]
        raw = self._mask(mac, blob[_MAC_BYTES:])
        expected = hmac.new(self._key, raw, hashlib.sha256).digest()[:_MAC_BYTES]
        if len(mac) != _MAC_BYTES or not hmac.compare_digest(mac, expected):
            raise self._invalid(name)
        try:
            payload = json.loads(raw)
        except ValueError:
            raise self._invalid(name) from None
        if not isinstance(payload, dict):
            raise self._invalid(name)
        return payload

    @staticmethod
    def _invalid(name: str) -> ApiError:
        return invalid_input(f"Invalid {name}.")
