"""Sync benchmark: 100,000 orders from the simulator, against the floor its rate limits allow.

    python bench/bench_sync.py [--orders 100000] [--scale 10000]

The simulator answers searchOrders at Amazon's usage plan (0.0056 requests/s, burst 20) times
``--scale``. With 100 orders a page the fastest possible sync spends the burst at once and then
one request per 1/rate seconds: that is the floor. Runs in a child process for its peak memory.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import socket
import subprocess
import sys
import time

RATE, BURST, PAGE = 0.0056, 20, 100
TOKEN = "Atzr|bench"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def phase(base_url: str, scale: float) -> None:
    """The sync alone, against a simulator serving in another process (a remote marketplace)."""
    from seller_health.connectors.amazon import AmazonCredentials, connect_amazon
    from seller_health.ingest.sync import sync_stream
    from seller_health.simulator.config import SimulatorConfig
    from seller_health.store.db import open_store

    defaults = SimulatorConfig(accounts=[])
    credentials = AmazonCredentials(defaults.client_id, defaults.client_secret, TOKEN)
    amazon = connect_amazon(
        "bench",
        credentials,
        ["ATVPDKIKX0DER"],
        api_url=base_url,
        lwa_url=f"{base_url}/auth/o2/token",
        rate_scale=scale,
    )
    engine = open_store("sqlite://")
    start = time.perf_counter()
    summary = sync_stream(engine, amazon, "orders")
    elapsed = time.perf_counter() - start
    stats = amazon.caller.stats
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "fetched": summary.fetched,
                "stored": summary.stored,
                "requests": stats.requests,
                "rejected_by_server": stats.by_status.get(429, 0),
                "peak_mb": peak,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--scale", type=float, default=10_000)
    args = parser.parse_args()
    port = free_port()
    account = f"{TOKEN}:ATVPDKIKX0DER:{args.orders}"
    command = [sys.executable, "-m", "seller_health.simulator", "--port", str(port)]
    command += ["--seed", "11", "--rate-scale", str(args.scale), "--account", account]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the simulator did not start") from None
                time.sleep(0.2)
        base_url = f"http://127.0.0.1:{port}"
        done = subprocess.run(
            [sys.executable, __file__, "--phase", base_url, str(args.scale)],
            check=True,
            capture_output=True,
            text=True,
        )
    finally:
        server.terminate()
        server.wait()
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    pages = math.ceil(args.orders / PAGE)
    floor = max(0, pages - BURST) / (RATE * args.scale)
    print(f"seller-health sync benchmark: {args.orders:,} orders, rate limits x{args.scale:g}")
    print(f"  sync            {figures['seconds']:8.1f} s  ({figures['stored']:,} stored)")
    print(
        f"  floor           {floor:8.1f} s  ({pages} pages, burst {BURST}, {RATE * args.scale:g}/s)"
    )
    if floor:  # a run within the burst has no floor to compare with
        print(f"  ratio           {figures['seconds'] / floor:8.2f}x (target <= 1.2x)")
    print(f"  requests        {figures['requests'] / args.orders * 1000:8.1f} per 1,000 orders")
    print(f"  quota rejected  {figures['rejected_by_server']:8d} (target: none after the first)")
    print(f"  peak memory     {figures['peak_mb']:8.0f} MB (the syncing process)")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--phase":
        phase(sys.argv[2], float(sys.argv[3]))
    else:
        main()
