"""The Mailchimp connector passes the connector conformance suite against its fake."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from connectors.mailchimp.connector import MailchimpConnector
from connectors.mailchimp.fake import FakeMailchimp
from connectors.mailchimp.mapping import MERGE_FIELDS
from connectors.sdk import REQUEST_PATH_HEADER, ContactRef, CustomerRecord, CustomerUpserted
from connectors.sdk.conformance import ConnectorConformance
from integration.db import write_session
from integration.events import apply_event
from integration.models import Account, Connection
from integration.sync import sync_stream

SECRET = "s3cr3t-0f-th1s-c0nnect10n"


class TestMailchimpConformance(ConnectorConformance):
    connector_class = MailchimpConnector
    signs_body = False  # Mailchimp does not sign: the secret is the last segment of our URL

    def start_fake(self) -> FakeMailchimp:
        return FakeMailchimp(seed=11, members=60, list_id=uuid.uuid4().hex[:10])

    def settings_for(self, fake: FakeMailchimp) -> dict[str, Any]:
        return {"api_key": fake.api_key, "list_id": fake.list_id, "api_url": fake.url,
                "webhook_secret": SECRET}

    def bad_settings(self, fake: FakeMailchimp) -> list[dict[str, Any]]:
        good = self.settings_for(fake)
        return [{**good, "api_key": "abc-u$"}, {**good, "max_connections": 11}]

    def make_connector(self, plain: Any, secrets: Any, policy: Any) -> MailchimpConnector:
        connector = super().make_connector(plain, secrets, policy)
        connector.page_size = 20  # 60 members make three pages
        return connector

    def inject_rate_limit(self, fake: FakeMailchimp, retry_after: int) -> None:
        fake.inject(429, retry_after=retry_after)

    def signed_webhook(self, fake: FakeMailchimp, connector: Any) -> tuple[dict[str, str], bytes]:
        body = urlencode({
            "type": "unsubscribe", "fired_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
            "data[list_id]": fake.list_id, "data[email]": "ada@example.com", "data[reason]": "manual",
        }).encode()
        return {REQUEST_PATH_HEADER: f"/webhooks/mailchimp/{SECRET}"}, body

    def prepare_push(self, engine: Any, connection_id: int, connector: Any, fake: FakeMailchimp) -> None:
        """Members never create customers: five customers share their e-mails with members,
        then a sync links them."""
        emails = [member.email for member in list(fake.audience.members.values())[:5]]
        with write_session(engine) as session:
            connection = session.get(Connection, connection_id)
            account = session.get(Account, connection.account_id)
            for email in emails:
                apply_event(session, account, connection,
                            CustomerUpserted(customer=CustomerRecord(email=email)))
        sync_stream(engine, connection_id, connector, "contacts", full=True)

    def remote_attributes(self, fake: FakeMailchimp, contact: ContactRef) -> dict[str, Any]:
        names = {field.tag: name for name, field in MERGE_FIELDS.items()}
        return {names.get(tag, tag): value for tag, value in fake.member(contact.email).merge_fields.items()}
