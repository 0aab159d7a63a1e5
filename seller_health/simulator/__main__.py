"""``python -m seller_health.simulator``: serve the simulator for manual or benchmark use.

Accounts are given as ``REFRESH_TOKEN:MARKETPLACE_ID:ORDERS[:trouble]``; without any, two demo
sellers (a healthy US one and a troubled DE one) are served.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import uvicorn

from seller_health.simulator.app import create_app
from seller_health.simulator.config import FaultConfig, SellerAccount, SimulatorConfig


def parse_account(spec: str) -> SellerAccount:
    parts = spec.split(":")
    if len(parts) not in (3, 4) or (len(parts) == 4 and parts[3] not in ("trouble", "healthy")):
        raise argparse.ArgumentTypeError(
            f"{spec!r}: expected REFRESH_TOKEN:MARKETPLACE_ID:ORDERS[:trouble|healthy]"
        )
    try:
        return SellerAccount(
            refresh_token=parts[0],
            marketplace_id=parts[1],
            order_count=int(parts[2]),
            in_trouble=len(parts) == 4 and parts[3] == "trouble",
        )
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m seller_health.simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--account", action="append", type=parse_account, default=[])
    parser.add_argument("--client-id", default=SimulatorConfig.client_id)
    parser.add_argument("--client-secret", default=SimulatorConfig.client_secret)
    parser.add_argument("--token-lifetime", type=int, default=3600)
    parser.add_argument("--rate-scale", type=float, default=1.0)
    parser.add_argument("--retry-after", action="store_true", help="send Retry-After on 429")
    parser.add_argument("--throttle", type=float, default=0.0, help="P(429 regardless of quota)")
    parser.add_argument("--server-error", type=float, default=0.0, help="P(500)")
    parser.add_argument("--unavailable", type=float, default=0.0, help="P(503)")
    parser.add_argument("--slow", type=float, default=0.0, help="P(slow response)")
    parser.add_argument("--slow-seconds", type=float, default=5.0)
    parser.add_argument("--malformed", type=float, default=0.0, help="share of broken orders")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    extra = {"accounts": args.account} if args.account else {}
    config = SimulatorConfig(
        seed=args.seed,
        client_id=args.client_id,
        client_secret=args.client_secret,
        token_lifetime=args.token_lifetime,
        rate_scale=args.rate_scale,
        send_retry_after=args.retry_after,
        faults=FaultConfig(
            throttle=args.throttle,
            server_error=args.server_error,
            unavailable=args.unavailable,
            slow=args.slow,
            slow_seconds=args.slow_seconds,
            malformed=args.malformed,
        ),
        **extra,
    )
    app = create_app(config)
    print(f"SP-API simulator on http://{args.host}:{args.port}", file=sys.stderr)
    print(
        f"  LWA client_id={config.client_id} client_secret={config.client_secret}", file=sys.stderr
    )
    for account in config.accounts:
        state = "in trouble" if account.in_trouble else "healthy"
        print(
            f"  refresh_token={account.refresh_token} marketplace={account.marketplace_id} "
            f"orders={account.order_count} ({state})",
            file=sys.stderr,
        )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
