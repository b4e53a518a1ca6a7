"""Run the Admin API double in the foreground until SIGTERM/SIGINT.

    python -m devtools.admin_double --port 8765 --api-key K --api-secret S

``--api-key``/``--api-secret`` default to ``$SHOPIFY_API_KEY``/``$SHOPIFY_API_SECRET``.
The app should use ``http://HOST:PORT/{shop}`` as its shop URL template; the demo shop is
``demo-shop.myshopify.com``.  Controls: ``/_double/...`` (see :mod:`.control`).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from types import FrameType

from .server import AdminApiDouble


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.admin_double",
                                     description="Fake Shopify Admin API (2026-10).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--api-key", default=os.environ.get("SHOPIFY_API_KEY"))
    parser.add_argument("--api-secret", default=os.environ.get("SHOPIFY_API_SECRET"))
    parser.add_argument("--app-handle", default="privacy-app",
                        help="app handle used in app embed block types")
    parser.add_argument("--latency", type=float, default=0.0,
                        help="seconds added to every API request")
    parser.add_argument("--seed-customers", type=int, default=0, metavar="N",
                        help="also add N generated customers to the demo shop")
    parser.add_argument("--orders-each", type=int, default=0, metavar="M")
    args = parser.parse_args(argv)
    if not args.api_key or not args.api_secret:
        parser.error("--api-key and --api-secret are required (or SHOPIFY_API_KEY/SECRET)")

    double = AdminApiDouble(args.api_key, args.api_secret, app_handle=args.app_handle)
    double.latency = args.latency
    if args.seed_customers:
        double.seed_customers("demo-shop.myshopify.com", args.seed_customers, args.orders_each)
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    double.start(args.host, args.port)
    print(f"Shopify Admin API double listening on {double.url} "
          f"(shop URL template {double.shop_url_template}, demo shop "
          f"demo-shop.myshopify.com)", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        double.stop()
    print("Shopify Admin API double stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
