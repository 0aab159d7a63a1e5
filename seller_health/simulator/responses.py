"""Wire formats shared by every endpoint: instants, the ``ErrorList`` body and request ids.

SP-API answers errors as ``{"errors": [{"code", "message", "details"}]}`` (``ErrorList``); v0
``getOrders`` declares ``GetOrdersResponse`` for its errors, which is the same JSON since that
schema's ``errors`` field is the list. Handlers raise ``ApiError`` and the operation wrapper in
``app.py`` turns it into that body, so every error path has one shape.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "x-amzn-RequestId"
RATE_LIMIT_HEADER = "x-amzn-RateLimit-Limit"


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with ``Z`` and whole seconds, as in every example of the models."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_instant(text: str) -> datetime:
    """Parse a query/body date-time; naive values are taken as UTC, as the API does."""
    raw = text.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    moment = datetime.fromisoformat(raw)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def error_body(code: str, message: str, details: str = "") -> dict[str, Any]:
    return {"errors": [{"code": code, "message": message, "details": details}]}


class ApiError(Exception):
    """An SP-API error answer (status, ``ErrorList`` code/message/details)."""

    def __init__(self, status: int, code: str, message: str, details: str = "") -> None:
        super().__init__(f"{status} {code}: {message} {details}".strip())
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def response(self, headers: dict[str, str] | None = None) -> JSONResponse:
        body = error_body(self.code, self.message, self.details)
        return JSONResponse(body, status_code=self.status, headers=headers)


def invalid_input(details: str) -> ApiError:
    """400 ``InvalidInput``: the code the models' sandbox cases use for bad parameters."""
    return ApiError(400, "InvalidInput", "Invalid input", details)


class RequestIdMiddleware:
    """Adds ``x-amzn-RequestId`` to every HTTP response, errors and unknown paths included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = str(uuid.uuid4())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_id)
