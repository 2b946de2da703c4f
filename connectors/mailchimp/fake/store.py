"""The fake audience's data: members, merge fields, tags, webhooks, batches, and the addresses
Mailchimp keeps outside the audience (permanently deleted, held in compliance state).

Members are small slotted objects, so a 100,000-member audience costs tens of megabytes, not
hundreds. Everything is guarded by one lock held by the server while it handles a request or a
batch operation.
"""

from __future__ import annotations

import hashlib
import random
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

STATUSES = ("subscribed", "unsubscribed", "cleaned", "pending", "transactional")
# Roughly what an e-commerce audience looks like: mostly subscribers, some churn and bounces.
_STATUS_WEIGHTS = (70, 15, 5, 4, 6)


def subscriber_hash(email: str) -> str:
    return hashlib.md5(email.strip().lower().encode()).hexdigest()  # noqa: S324 - Mailchimp's id


def now() -> datetime:
    """Mailchimp keeps change times to the second; so does the fake, ties included."""
    return datetime.now(UTC).replace(microsecond=0)


def stamp(moment: datetime) -> str:
    """Mailchimp's timestamp format: ISO 8601 to the second with an explicit offset."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


@dataclass(slots=True)
class Member:
    email: str
    status: str
    last_changed: datetime
    contact_id: str
    merge_fields: dict[str, Any] = field(default_factory=dict)
    tags: set[str] = field(default_factory=set)
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def id(self) -> str:
        return subscriber_hash(self.email)

    def as_json(self, list_id: str, tag_ids: dict[str, int] | None = None) -> dict[str, Any]:
        tag_ids = tag_ids or {}
        return {
            "id": self.id,
            "email_address": self.email,
            "unique_email_id": self.contact_id[:10],
            "contact_id": self.contact_id,
            "status": self.status,
            "merge_fields": dict(self.merge_fields),
            "last_changed": stamp(self.last_changed),
            "tags_count": len(self.tags),
            "tags": [{"id": tag_ids.get(name, 0), "name": name} for name in sorted(self.tags)],
            "list_id": list_id,
        }


@dataclass
class MergeField:
    merge_id: int
    tag: str
    name: str
    type: str

    def as_json(self, list_id: str) -> dict[str, Any]:
        return {"merge_id": self.merge_id, "tag": self.tag, "name": self.name, "type": self.type,
                "list_id": list_id, "required": False, "public": False}


@dataclass
class Tag:
    """A tag, which the API also shows as a static segment ("Static segments are now known as
    tags", the segment ``type`` field of the list-id spec): one id, one name, its members."""

    id: int
    name: str
    created_at: datetime
    members: set[str] = field(default_factory=set)  # subscriber hashes

    def as_segment(self, list_id: str) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "member_count": len(self.members),
                "type": "static", "created_at": stamp(self.created_at),
                "updated_at": stamp(self.created_at), "list_id": list_id}


@dataclass
class Batch:
    id: str
    operations: list[dict[str, Any]]
    submitted_at: datetime
    status: str = "pending"
    finished_operations: int = 0
    errored_operations: int = 0
    completed_at: datetime | None = None
    results: bytes = b""


@dataclass
class Audience:
    list_id: str
    name: str = "Store customers"
    members: dict[str, Member] = field(default_factory=dict)  # by subscriber hash
    merge_fields: dict[str, MergeField] = field(default_factory=dict)  # by tag
    webhooks: list[dict[str, Any]] = field(default_factory=list)
    tags: dict[str, Tag] = field(default_factory=dict)  # by name
    # Addresses Mailchimp remembers outside the audience and refuses to (re-)add by API: those
    # permanently deleted ("forgotten", mailchimp.com/help/delete-contacts/) and those held in
    # compliance state (unsubscribed or bounced and then removed, or under compliance review).
    forgotten: set[str] = field(default_factory=set)   # subscriber hashes
    compliance: set[str] = field(default_factory=set)  # subscriber hashes
    lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        # Every audience starts with Mailchimp's default merge fields.
        for tag, name in (("FNAME", "First Name"), ("LNAME", "Last Name")):
            self.add_merge_field(tag, name, "text")

    def add_merge_field(self, tag: str, name: str, kind: str) -> MergeField:
        merge = MergeField(len(self.merge_fields) + 1, tag, name, kind)
        self.merge_fields[tag] = merge
        return merge

    def add_member(self, email: str, status: str, last_changed: datetime | None = None) -> Member:
        member = Member(email=email, status=status, last_changed=last_changed or now(),
                        contact_id=uuid.uuid5(uuid.NAMESPACE_URL, email.lower()).hex)
        self.members[member.id] = member
        return member

    def tag(self, name: str) -> Tag:
        """The tag called ``name``, created on first use as Mailchimp does for member tags."""
        if name not in self.tags:
            self.tags[name] = Tag(len(self.tags) + 1, name, now())
        return self.tags[name]

    def tag_ids(self) -> dict[str, int]:
        return {name: tag.id for name, tag in self.tags.items()}

    def set_tag(self, member: Member, name: str, active: bool) -> None:
        tag = self.tag(name)
        if active:
            member.tags.add(name)
            tag.members.add(member.id)
        else:
            member.tags.discard(name)
            tag.members.discard(member.id)

    def forget(self, member: Member) -> None:
        """Permanent deletion: the member and its tags go, the address is remembered."""
        for name in list(member.tags):
            self.set_tag(member, name, False)
        del self.members[member.id]
        self.forgotten.add(member.id)

    def seed(self, rng: random.Random, count: int) -> None:
        """``count`` members changed over the past year, in e-mail order ``member{i}@example.com``."""
        start = now()
        for index in range(count):
            status = rng.choices(STATUSES, _STATUS_WEIGHTS)[0]
            changed = start - timedelta(seconds=rng.randint(3600, 365 * 86400))
            self.add_member(f"member{index}@example.com", status, changed)
