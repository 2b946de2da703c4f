"""Pushing loyalty attributes and segment membership to both email tools: Mailchimp, then Klaviyo.

Each platform's benchmark (``email_push_mailchimp.py``, ``email_push_klaviyo.py``) pushes
100,000 changed profiles to its fake through ``integration.push.push_attributes``, then a push
with nothing changed (goal: zero calls), and prints time, API calls and batches/jobs; then
segment membership (``email_segments.py``): the 100,000 customers in seven segments, a first
push and a 1 % delta per round, seconds and requests per round with the load average, and
min / median / max. They run one after the other in their own processes so neither's fake
server or memory colours the other.

    .venv/bin/python benchmarks/email_push.py [--customers 100000] [--rounds 3] [--database URL]
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    status = 0
    for platform in ("mailchimp", "klaviyo"):
        print(f"== {platform}", flush=True)
        status |= subprocess.run(
            [sys.executable, str(HERE / f"email_push_{platform}.py"), *sys.argv[1:]]
        ).returncode
    return status


if __name__ == "__main__":
    sys.exit(main())
