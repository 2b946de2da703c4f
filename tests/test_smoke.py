from datetime import UTC, datetime
from decimal import Decimal

from integration.accounts import add_connection
from integration.events import apply_event
from integration.models import Customer, OrderStatus
from integration.records import CustomerRecord, OrderRecord, OrderUpserted


def test_paid_order_earns(session, account, box):
    conn = add_connection(session, box, account, platform="shopify", external_id=f"s{account.id}.myshopify.com", credentials={"token": "x"})
    rec = OrderRecord(platform_id="1", currency="USD", status=OrderStatus.PAID, subtotal=Decimal("25.50"),
                      total=Decimal("25.50"), placed_at=datetime(2026, 1, 1, tzinfo=UTC),
                      customer=CustomerRecord(platform_id="c1", email="A@x.com"))
    out = apply_event(session, account, conn, OrderUpserted(order=rec))
    session.commit()
    assert [e.amount for e in out.entries] == [25]
    out = apply_event(session, account, conn, OrderUpserted(order=rec))
    assert out.entries == []
    c = session.get(Customer, next(iter(out.customer_ids)))
    assert c.points_balance == 25 and c.email == "a@x.com"
