"""Login with Amazon (LWA) token endpoint and the ``x-amz-access-token`` check.

LWA trades a seller's refresh token for an access token that lives ``token_lifetime`` seconds.
Errors follow LWA's OAuth shape ``{"error", "error_description"}``: an unknown or revoked refresh
token is 400 ``invalid_grant``, wrong client credentials 401 ``invalid_client``. SP-API calls
then need a live token: a missing or unknown one is 403 ``Unauthorized`` "Access to requested
resource is denied.", an expired one 403 ``Unauthorized`` "The access token you provided has
expired." (wording seen in real SP-API answers; the models only name the reasons). SigV4 has not
been required since 2023, so no signature is checked.
"""

from __future__ import annotations

import base64
import random
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse

from seller_health.simulator.config import SimulatorConfig
from seller_health.simulator.responses import ApiError

ACCESS_DENIED = "Access to requested resource is denied."
TOKEN_EXPIRED = "The access token you provided has expired."
TOKEN_INVALID = "The access token you provided is revoked, malformed or invalid."


@dataclass(frozen=True)
class IssuedToken:
    refresh_token: str
    expires_at: datetime


class TokenStore:
    """Issued access tokens and the refresh tokens they came from.

    Token strings come from a seeded RNG so two runs of one config hand out the same tokens,
    which keeps recorded request logs comparable.
    """

    def __init__(self, config: SimulatorConfig) -> None:
        self._config = config
        self._rng = random.Random(f"{config.seed}:access-tokens")
        self._lock = threading.Lock()
        self._tokens: dict[str, IssuedToken] = {}
        self._refresh = {a.refresh_token: a for a in config.accounts}
        self._revoked = {a.refresh_token for a in config.accounts if a.revoked}

    def revoke(self, refresh_token: str) -> None:
        """The seller de-authorised the app: its refresh and access tokens stop working."""
        with self._lock:
            self._revoked.add(refresh_token)

    def expire_all(self) -> None:
        """Force every issued access token to be expired (tests of mid-sync refresh)."""
        with self._lock:
            past = self._config.clock() - timedelta(seconds=1)
            self._tokens = {
                token: IssuedToken(issued.refresh_token, past)
                for token, issued in self._tokens.items()
            }

    def known_refresh_token(self, refresh_token: str) -> bool:
        with self._lock:
            return refresh_token in self._refresh and refresh_token not in self._revoked

    def issue(self, refresh_token: str) -> str:
        with self._lock:
            raw = self._rng.getrandbits(8 * 96).to_bytes(96, "big")
            token = "Atza|" + base64.urlsafe_b64encode(raw).decode().rstrip("=")
            expires = self._config.clock() + timedelta(seconds=self._config.token_lifetime)
            self._tokens[token] = IssuedToken(refresh_token, expires)
            return token

    def account_for(self, access_token: str | None) -> str:
        """The refresh token behind a live access token, or the 403 SP-API gives otherwise."""
        if not access_token:
            raise ApiError(403, "Unauthorized", ACCESS_DENIED, "")
        with self._lock:
            issued = self._tokens.get(access_token)
            revoked = issued is not None and issued.refresh_token in self._revoked
        if issued is None or revoked:
            raise ApiError(403, "Unauthorized", ACCESS_DENIED, TOKEN_INVALID)
        if self._config.clock() >= issued.expires_at:
            raise ApiError(403, "Unauthorized", TOKEN_EXPIRED, "")
        return issued.refresh_token


def lwa_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


async def token_endpoint(
    request: Request, store: TokenStore, config: SimulatorConfig
) -> JSONResponse:
    """``POST /auth/o2/token`` with ``grant_type=refresh_token`` (form-encoded, as LWA wants)."""
    content_type = request.headers.get("content-type", "")
    if "application/x-www-form-urlencoded" not in content_type:
        return lwa_error(
            400, "invalid_request", "The Content-Type must be application/x-www-form-urlencoded"
        )
    # Parsed by hand: Starlette's form parser needs python-multipart, for one urlencoded body.
    try:
        pairs = parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        return lwa_error(400, "invalid_request", "The request body is not valid UTF-8")
    fields = dict(pairs)
    grant_type = fields.get("grant_type")
    if not grant_type:
        return lwa_error(
            400, "invalid_request", "The request is missing a required parameter : grant_type"
        )
    if grant_type != "refresh_token":
        return lwa_error(400, "unsupported_grant_type", f"Unsupported grant_type : {grant_type}")
    if fields.get("client_id") != config.client_id or fields.get("client_secret") != (
        config.client_secret
    ):
        return lwa_error(401, "invalid_client", "Client authentication failed")
    refresh_token = fields.get("refresh_token")
    if not refresh_token:
        return lwa_error(
            400, "invalid_request", "The request is missing a required parameter : refresh_token"
        )
    if not store.known_refresh_token(refresh_token):
        return lwa_error(
            400, "invalid_grant", "The request has an invalid grant parameter : refresh_token"
        )
    return JSONResponse(
        {
            "access_token": store.issue(refresh_token),
            "refresh_token": refresh_token,
            "token_type": "bearer",
            "expires_in": config.token_lifetime,
        }
    )
