"""The fake Klaviyo account's data, kept compact so a 500k-profile account is cheap.

Profile ``i`` is generated from the seed on demand (e-mail, consent, timestamps live in flat
arrays); only what the API changed (properties, list memberships, deletions) is stored per
profile. Consent follows Klaviyo's model: ``consent`` is SUBSCRIBED / UNSUBSCRIBED /
NEVER_SUBSCRIBED, and a global ``suppression`` (HARD_BOUNCE, SPAM_COMPLAINT, USER_SUPPRESSED)
overrides it for sending.
"""

from __future__ import annotations

import bisect
import random
import threading
from array import array
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)

# (consent, suppression reason) per consent code; weights are a plausible store's mix.
CONSENTS: tuple[tuple[str, str | None], ...] = (
    ("SUBSCRIBED", None),
    ("NEVER_SUBSCRIBED", None),
    ("UNSUBSCRIBED", None),
    ("SUBSCRIBED", "HARD_BOUNCE"),
    ("SUBSCRIBED", "SPAM_COMPLAINT"),
    ("UNSUBSCRIBED", "USER_SUPPRESSED"),
)
CONSENT_WEIGHTS = (55, 25, 10, 4, 3, 3)
CODE = {pair: code for code, pair in enumerate(CONSENTS)}


def iso(ts: float) -> str:
    return (EPOCH + timedelta(seconds=ts)).isoformat()


def seconds(when: datetime) -> float:
    return (when - EPOCH).total_seconds()


def profile_id(index: int) -> str:
    """A 26-character id shaped like Klaviyo's (ULID-like), reversible to the index."""
    return f"01KP{index:022d}"


def profile_index(pid: str) -> int | None:
    if len(pid) != 26 or not pid.startswith("01KP") or not pid[4:].isdigit():
        return None
    return int(pid[4:])


@dataclass
class Job:
    id: str
    kind: str  # "profile-bulk-import-job" | "data-privacy-deletion-job"
    payload: list[dict[str, Any]]
    list_ids: list[str]
    created: float
    status: str = "queued"
    started: float | None = None
    completed: float | None = None
    completed_count: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)


class Store:
    def __init__(self, seed: int, profiles: int, now: float) -> None:
        rng = random.Random(seed)
        self.lock = threading.RLock()
        self.emails: list[str] = [f"shopper{i:06d}@example.com" for i in range(profiles)]
        self.by_email: dict[str, int] = {email: i for i, email in enumerate(self.emails)}
        self.consent = bytearray(rng.choices(range(len(CONSENTS)), CONSENT_WEIGHTS, k=profiles))
        # Created over the past months, each updated some time after creation.
        span = max(now - 3600.0, 1.0)
        self.created = array("d", sorted(rng.uniform(0, span * 0.8) for _ in range(profiles)))
        self.updated = array("d", (c + rng.uniform(0, span * 0.2) for c in self.created))
        self.consent_at = array("d", self.updated)
        self.properties: dict[int, dict[str, Any]] = {}
        self.deleted: set[int] = set()
        self.lists: dict[str, dict[str, Any]] = {}
        self.list_members: dict[str, set[int]] = {}
        self.events: dict[str, dict[str, Any]] = {}
        self.jobs: dict[str, Job] = {}
        self.webhooks: dict[str, dict[str, Any]] = {}
        self._order: list[tuple[float, int]] | None = None
        self._next_id = 0

    def new_id(self, prefix: str) -> str:
        with self.lock:
            self._next_id += 1
            return f"{prefix}{self._next_id:08d}"

    def __len__(self) -> int:
        return len(self.emails)

    # -- profiles -----------------------------------------------------------------------------

    def find(self, email: str | None = None, pid: str | None = None) -> int | None:
        index = self.by_email.get(email.strip().lower()) if email else None
        if index is None and pid:
            index = profile_index(pid)
        if index is None or index >= len(self.emails) or index in self.deleted:
            return None
        return index

    def upsert(self, email: str, properties: dict[str, Any], now: float) -> int:
        """Create or update by e-mail; properties merge (null removes one). Consent untouched:
        a new profile is NEVER_SUBSCRIBED, as Klaviyo creates imported profiles."""
        with self.lock:
            email = email.strip().lower()
            index = self.by_email.get(email)
            if index is None or index in self.deleted:
                index = len(self.emails)
                self.emails.append(email)
                self.by_email[email] = index
                self.consent.append(CODE[("NEVER_SUBSCRIBED", None)])
                self.created.append(now)
                self.updated.append(now)
                self.consent_at.append(now)
            old = self.properties.get(index, {})
            merged = dict(old)
            for key, value in properties.items():
                if value is None:
                    merged.pop(key, None)
                else:
                    merged[key] = value
            if merged != old:
                self.properties[index] = merged
                self.touch(index, now)
            return index

    def touch(self, index: int, now: float) -> None:
        with self.lock:
            self.updated[index] = max(now, self.updated[index])
            self._order = None

    def set_consent(self, index: int, consent: str, suppression: str | None, now: float) -> None:
        """How the merchant's shoppers change their mind inside Klaviyo (tests drive this)."""
        with self.lock:
            self.consent[index] = CODE[(consent, suppression)]
            self.consent_at[index] = now
            self.touch(index, now)

    def delete(self, index: int) -> None:
        with self.lock:
            self.deleted.add(index)
            self.properties.pop(index, None)
            for members in self.list_members.values():
                members.discard(index)
            self._order = None

    def order(self) -> list[tuple[float, int]]:
        """Live profiles sorted by (updated, index): the keyset pages walk."""
        with self.lock:
            if self._order is None:
                self._order = sorted(
                    (self.updated[i], i) for i in range(len(self.emails)) if i not in self.deleted
                )
            return self._order

    def page_after(self, key: tuple[float, int] | None, after_updated: float | None,
                   size: int) -> list[int]:
        order = self.order()
        start = 0
        if after_updated is not None:
            start = bisect.bisect_right(order, (after_updated, float("inf")))
        if key is not None:
            start = max(start, bisect.bisect_right(order, key))
        return [i for _, i in order[start:start + size]]

    def resource(self, index: int, *, subscriptions: bool, base_url: str) -> dict[str, Any]:
        consent, suppression = CONSENTS[self.consent[index]]
        pid = profile_id(index)
        attributes: dict[str, Any] = {
            "email": self.emails[index], "phone_number": None, "external_id": None,
            "first_name": None, "last_name": None, "organization": None, "locale": None,
            "title": None, "image": None, "created": iso(self.created[index]),
            "updated": iso(self.updated[index]), "last_event_date": None, "location": {},
            "properties": self.properties.get(index, {}),
        }
        if subscriptions:
            at = iso(self.consent_at[index])
            attributes["subscriptions"] = {"email": {"marketing": {
                "can_receive_email_marketing": consent == "SUBSCRIBED" and suppression is None,
                "consent": consent,
                "consent_timestamp": at if consent != "NEVER_SUBSCRIBED" else None,
                "last_updated": at,
                "method": "PREFERENCE_PAGE" if consent != "NEVER_SUBSCRIBED" else None,
                "method_detail": "", "custom_method_detail": None, "double_optin": None,
                "suppression": [{"reason": suppression, "timestamp": at}] if suppression else [],
                "list_suppressions": [],
            }}}
        return {"type": "profile", "id": pid, "attributes": attributes,
                "links": {"self": f"{base_url}/api/profiles/{pid}/"}}

    def consent_of(self, index: int) -> tuple[str, str | None]:
        return CONSENTS[self.consent[index]]
