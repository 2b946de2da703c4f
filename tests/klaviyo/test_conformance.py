"""The Klaviyo connector passes the connector conformance suite against its fake."""

from __future__ import annotations

import uuid
from typing import Any

from connectors.klaviyo.connector import KlaviyoConnector
from connectors.klaviyo.fake import FakeKlaviyo
from connectors.sdk import ContactRef, CustomerRecord, CustomerUpserted
from connectors.sdk.conformance import ConnectorConformance
from integration.db import write_session
from integration.events import apply_event
from integration.models import Account, Connection

API_KEY = "pk_test_sadakat"
SECRET = "whsec-klaviyo-0123456789"


class TestKlaviyoConformance(ConnectorConformance):
    connector_class = KlaviyoConnector

    def start_fake(self) -> FakeKlaviyo:
        # 100 profiles per page (get_profiles' maximum): 250 profiles make three pages
        return FakeKlaviyo(seed=7, profiles=250, api_key=API_KEY, account_id=uuid.uuid4().hex[:6],
                           job_delay=0.01)

    def settings_for(self, fake: FakeKlaviyo) -> dict[str, Any]:
        return {"api_key": API_KEY, "webhook_secret": SECRET, "base_url": fake.url,
                "poll_interval": 0.01}

    def bad_settings(self, fake: FakeKlaviyo) -> list[dict[str, Any]]:
        return [{**self.settings_for(fake), "timeout": "soon"}]

    def inject_rate_limit(self, fake: FakeKlaviyo, retry_after: int) -> None:
        fake.inject("get_profiles", 429, retry_after=retry_after)

    def signed_webhook(self, fake: FakeKlaviyo, connector: Any) -> tuple[dict[str, str], bytes]:
        return fake.system_webhook(SECRET, "event:klaviyo.unsubscribed_from_email_marketing",
                                   fake.email(0))

    def prepare_push(self, engine: Any, connection_id: int, connector: Any, fake: FakeKlaviyo) -> None:
        """Profiles never create customers: the store would; here five customers share their
        e-mails with Klaviyo profiles."""
        with write_session(engine) as session:
            connection = session.get(Connection, connection_id)
            account = session.get(Account, connection.account_id)
            for i in range(5):
                apply_event(session, account, connection,
                            CustomerUpserted(customer=CustomerRecord(email=fake.email(i))))

    def remote_attributes(self, fake: FakeKlaviyo, contact: ContactRef) -> dict[str, Any]:
        return fake.properties_of(contact.email)
