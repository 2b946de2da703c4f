"""Locks on the keys a transaction may create rows under (PostgreSQL).

Row locks only cover rows that exist. Two inbox workers that both find no customer with an e-mail
(or no order with a platform id: Shopify sends ``orders/create`` and ``orders/paid`` together)
would both insert one, and the later would fail on the unique key and wait for a retry. A
transaction-scoped advisory lock per key, taken before the rows are looked up, makes the second
transaction wait for the first to commit and then find its row. Keys are locked in one sorted
order, so two batches sharing keys queue instead of deadlocking. SQLite has one writer at a time
and needs none of this.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import text
from sqlmodel import Session

# The two-integer advisory keys live apart from the one-bigint keys (the scheduler's lock);
# the first integer says "a natural key of ours".
NAMESPACE = 0x5ADA


def lock_keys(session: Session, keys: Iterable[str]) -> None:
    """Hold a lock on each key until the transaction ends (a hash collision only queues more)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    hashes = sorted({
        int.from_bytes(hashlib.blake2b(key.encode(), digest_size=4).digest(), "big", signed=True)
        for key in keys
    })
    if hashes:
        session.execute(
            text("SELECT pg_advisory_xact_lock(:namespace, k) FROM unnest(CAST(:keys AS integer[])) AS k"),
            {"namespace": NAMESPACE, "keys": hashes},
        )
