"""Run the fake Shopify on its own: ``python -m connectors.shopify.fake --customers 1000``.

Prints one JSON line (url, shop, token, api_key, api_secret) and serves until interrupted; the
benchmark runs it in a separate process so the sync's memory is measured alone.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading

from connectors.shopify.fake.server import FakeShopify


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--plan", default="standard")
    parser.add_argument("--shop", default="sadakat-demo.myshopify.com")
    args = parser.parse_args()
    fake = FakeShopify(seed=args.seed, customers=args.customers, orders=args.orders,
                       plan=args.plan, shop=args.shop).start()
    print(json.dumps({"url": fake.url, "shop": fake.shop, "token": fake.token,
                      "api_key": fake.api_key, "api_secret": fake.api_secret}), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        fake.stop()
        sys.exit(0)


if __name__ == "__main__":
    main()
