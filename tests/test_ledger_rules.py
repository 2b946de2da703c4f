"""The program's earn, reversal, bonus, expiry, tier and redemption rules, on a real database."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlmodel import select

from integration import ledger
from integration.errors import InsufficientPoints, LedgerConflict, RuleError
from integration.models import (
    EntryKind,
    LedgerEntry,
    OrderStatus,
    RedemptionStatus,
    Reward,
    RewardKind,
    Tier,
)
from integration.program import Bonuses, EarnRule, Expiry, ProgramSettings, TierRules
from integration.records import (
    CustomerRecord,
    CustomerUpserted,
    OrderDeleted,
    RefundCreated,
    ReviewApproved,
)
from tests.factories import T0, apply, customer_of, order, place, refund, reprogram, shop


def balance(session, account, email="c1@example.com") -> int:
    return customer_of(session, account, email).points_balance


def test_earn_rate_rounding_and_what_counts(session, box):
    program = ProgramSettings(earn=EarnRule(points_per_unit=Decimal("1.5"), rounding="nearest",
                                            include_shipping=True))
    account, conn = shop(session, box, program)
    place(session, account, conn, order("1", subtotal=Decimal("10.30"), shipping=Decimal("5"),
                                        tax=Decimal("2"), total=Decimal("17.30")))
    # (10.30 + 5 shipping) * 1.5 = 22.95 -> 23 (nearest); tax excluded
    assert balance(session, account) == 23


def test_discounts_reduce_the_base_and_points_discounts_never_earn(session, box):
    counting = ProgramSettings(earn=EarnRule(count_discounts=True))
    account, conn = shop(session, box, counting)
    place(session, account, conn, order("1", subtotal=Decimal(100), discount_total=Decimal(30),
                                        points_discount=Decimal(10), total=Decimal(70)))
    assert balance(session, account) == 90  # merchant discount counts, points discount never
    account, conn = shop(session, box)
    place(session, account, conn, order("1", subtotal=Decimal(100), discount_total=Decimal(30),
                                        points_discount=Decimal(10), total=Decimal(70)))
    assert balance(session, account) == 70


def test_award_state_is_configurable_and_pending_earns_nothing(session, box):
    account, conn = shop(session, box, ProgramSettings(award_on="completed"))
    place(session, account, conn, order("1", status=OrderStatus.PAID))
    assert balance(session, account) == 0
    place(session, account, conn, order("1", status=OrderStatus.COMPLETED,
                                        updated_at=T0 + timedelta(days=3)))
    assert balance(session, account) == 100


def test_duplicate_and_stale_events_change_nothing(session, box):
    account, conn = shop(session, box)
    paid = order("1", updated_at=T0)
    place(session, account, conn, paid)
    place(session, account, conn, paid)
    cancelled = order("1", status=OrderStatus.CANCELLED, updated_at=T0 + timedelta(hours=1))
    place(session, account, conn, cancelled)
    place(session, account, conn, paid)  # a late copy of the older state
    assert balance(session, account) == 0


def test_reentering_the_award_state_never_earns_twice(session, box):
    account, conn = shop(session, box, ProgramSettings(award_on="completed"))
    for hour, status in enumerate([OrderStatus.COMPLETED, OrderStatus.CANCELLED,
                                   OrderStatus.COMPLETED, OrderStatus.CANCELLED,
                                   OrderStatus.COMPLETED]):
        place(session, account, conn, order("1", status=status,
                                            updated_at=T0 + timedelta(hours=hour)))
    assert balance(session, account) == 100
    kinds = [e.kind for e in session.exec(select(LedgerEntry).where(
        LedgerEntry.account_id == account.id).order_by(LedgerEntry.id))]
    assert kinds.count("earn") == 1


def test_partial_refunds_are_pro_rata_by_the_rule_in_force_when_earned(session, box):
    account, conn = shop(session, box, ProgramSettings(earn=EarnRule(points_per_unit=Decimal(2))))
    place(session, account, conn, order("1", "80.00"))
    assert balance(session, account) == 160
    reprogram(session, account, ProgramSettings(earn=EarnRule(points_per_unit=Decimal(10))))
    apply(session, account, conn, RefundCreated(order_platform_id="1", currency="USD",
                                                refund=refund("r1", "20.00")))
    assert balance(session, account) == 120  # 160 * 20/80 taken back, old rate
    apply(session, account, conn, RefundCreated(order_platform_id="1", currency="USD",
                                                refund=refund("r1", "20.00")))  # duplicate
    assert balance(session, account) == 120
    apply(session, account, conn, RefundCreated(order_platform_id="1", currency="USD",
                                                refund=refund("r2", "60.00")))
    assert balance(session, account) == 0


def test_refund_before_the_order_converges(session, box):
    account, conn = shop(session, box)
    apply(session, account, conn, RefundCreated(order_platform_id="9", currency="USD",
                                                refund=refund("r1", "25.00")))
    place(session, account, conn, order("9", "100.00"))
    assert balance(session, account) == 75


def test_refund_larger_than_balance_stops_at_zero_and_records_the_shortfall(session, box):
    account, conn = shop(session, box)
    place(session, account, conn, order("1", "100.00"))
    reward = Reward(account_id=account.id, name="Tote", kind=RewardKind.FREE_PRODUCT,
                    points_cost=80, product_id="p9")
    session.add(reward)
    session.commit()
    customer = customer_of(session, account, "c1@example.com")
    ledger.redeem(session, account.id, customer.id, reward.id, key="k1", now=T0)
    session.commit()
    place(session, account, conn, order("1", status=OrderStatus.CANCELLED,
                                        updated_at=T0 + timedelta(days=1)))
    entry = session.exec(select(LedgerEntry).where(
        LedgerEntry.account_id == account.id, LedgerEntry.kind == EntryKind.REVERSE)).one()
    assert (entry.amount, entry.shortfall) == (-20, 80)
    assert balance(session, account) == 0
    assert ledger.check_account(session, account.id).ok


def test_pending_points_wait_for_the_return_window(session, box):
    account, conn = shop(session, box, ProgramSettings(return_window_days=14))
    place(session, account, conn, order("1"), now=T0)
    customer = customer_of(session, account, "c1@example.com")
    assert ledger.pending_points(session, customer, T0) == 100
    assert ledger.available_points(session, customer, T0) == 0
    assert ledger.available_points(session, customer, T0 + timedelta(days=15)) == 100
    # a refund inside the window reverses pending points, never available ones
    apply(session, account, conn, RefundCreated(order_platform_id="1", currency="USD",
                                                refund=refund("r1", "50", T0 + timedelta(days=1))),
          now=T0 + timedelta(days=1))
    customer = customer_of(session, account, "c1@example.com")
    assert ledger.available_points(session, customer, T0 + timedelta(days=1)) == 0
    assert ledger.available_points(session, customer, T0 + timedelta(days=15)) == 50


def test_guest_points_follow_them_into_their_account(session, box):
    account, conn = shop(session, box, ProgramSettings(bonuses=Bonuses(signup=25)))
    place(session, account, conn, order("1", customer=None, email="g@example.com", guest=True))
    assert balance(session, account, "g@example.com") == 100
    apply(session, account, conn, CustomerUpserted(customer=CustomerRecord(
        platform_id="c77", email="G@Example.com", created_at=T0)))
    guest = customer_of(session, account, "g@example.com")
    assert (guest.points_balance, guest.is_guest) == (125, False)


def test_signup_bonus_only_for_accounts_opened_after_launch(session, box):
    account, conn = shop(session, box, ProgramSettings(bonuses=Bonuses(signup=25)),
                         created_at=T0)
    apply(session, account, conn, CustomerUpserted(customer=CustomerRecord(
        platform_id="old", email="old@example.com", created_at=T0 - timedelta(days=400))))
    apply(session, account, conn, CustomerUpserted(customer=CustomerRecord(
        platform_id="new", email="new@example.com", created_at=T0 + timedelta(days=1))))
    apply(session, account, conn, CustomerUpserted(customer=CustomerRecord(
        platform_id="new", email="new@example.com", created_at=T0 + timedelta(days=1))))
    assert balance(session, account, "old@example.com") == 0
    assert balance(session, account, "new@example.com") == 25


def test_referral_pays_both_sides_after_the_first_paid_order(session, box):
    account, conn = shop(session, box, ProgramSettings(
        bonuses=Bonuses(referral_referrer=200, referral_referee=100)))
    place(session, account, conn, order("1", customer="ref"))
    referrer = customer_of(session, account, "ref@example.com")
    ledger.refer_friend(session, account.id, referrer.id, "Friend@example.com")
    session.commit()
    with pytest.raises(RuleError):
        ledger.refer_friend(session, account.id, referrer.id, "ref@example.com")
    place(session, account, conn, order("2", customer="friend", email="friend@example.com",
                                        status=OrderStatus.PENDING))
    assert balance(session, account, "ref@example.com") == 100
    place(session, account, conn, order("2", customer="friend", email="friend@example.com",
                                        updated_at=T0 + timedelta(hours=1)))
    place(session, account, conn, order("3", customer="friend", email="friend@example.com"))
    assert balance(session, account, "ref@example.com") == 300
    assert balance(session, account, "friend@example.com") == 300


def test_birthday_once_a_year_and_review_once(session, box):
    account, conn = shop(session, box, ProgramSettings(bonuses=Bonuses(birthday=50, review=10)))
    place(session, account, conn, order("1"))
    customer = customer_of(session, account, "c1@example.com")
    program = ProgramSettings(bonuses=Bonuses(birthday=50, review=10))
    ledger.award_birthday(session, program, customer, 2026)
    ledger.award_birthday(session, program, customer, 2026)
    session.commit()
    for _ in range(2):
        apply(session, account, conn, ReviewApproved(review_id="rv1", customer=CustomerRecord(
            platform_id="c1", email="c1@example.com")))
    assert balance(session, account) == 160


def test_same_key_with_different_data_is_an_error(session, box):
    account, conn = shop(session, box)
    place(session, account, conn, order("1"))
    customer = customer_of(session, account, "c1@example.com")
    ledger.adjust(session, account.id, customer.id, amount=5, reason="goodwill", actor="ana",
                  key="ticket-1")
    session.commit()
    ledger.adjust(session, account.id, customer.id, amount=5, reason="goodwill", actor="ana",
                  key="ticket-1")
    with pytest.raises(LedgerConflict):
        ledger.adjust(session, account.id, customer.id, amount=7, reason="goodwill", actor="ana",
                      key="ticket-1")
    session.rollback()
    assert balance(session, account) == 105


def test_adjustments_need_reason_and_actor_and_cannot_overdraw(session, box):
    account, conn = shop(session, box)
    place(session, account, conn, order("1", "10"))
    customer = customer_of(session, account, "c1@example.com")
    with pytest.raises(RuleError):
        ledger.adjust(session, account.id, customer.id, amount=5, reason=" ", actor="ana")
    with pytest.raises(InsufficientPoints):
        ledger.adjust(session, account.id, customer.id, amount=-11, reason="fix", actor="ana")
    session.rollback()


@pytest.mark.parametrize("kind", list(RewardKind))
def test_redemption_debits_and_awaits_a_code(session, box, kind):
    account, conn = shop(session, box)
    place(session, account, conn, order("1", "250"))
    reward = Reward(account_id=account.id, name=f"r-{kind}", kind=kind, points_cost=200,
                    value=Decimal(10))
    session.add(reward)
    session.commit()
    customer = customer_of(session, account, "c1@example.com")
    redemption = ledger.redeem(session, account.id, customer.id, reward.id, key="r1", now=T0)
    again = ledger.redeem(session, account.id, customer.id, reward.id, key="r1", now=T0)
    session.commit()
    assert again.id == redemption.id and redemption.status == RedemptionStatus.PENDING_CODE
    assert balance(session, account) == 50
    with pytest.raises(InsufficientPoints):
        ledger.redeem(session, account.id, customer.id, reward.id, key="r2", now=T0)
    session.rollback()
    ledger.fail_redemption(session, redemption, "store said no")
    session.commit()
    assert balance(session, account) == 250
    assert ledger.check_account(session, account.id).ok


def test_expiry_by_inactivity_and_by_age(session, box):
    inactive = ProgramSettings(expiry=Expiry(mode="inactivity", months=6))
    account, conn = shop(session, box, inactive)
    place(session, account, conn, order("1"))
    customer = customer_of(session, account, "c1@example.com")
    upcoming = ledger.upcoming_expiry(session, inactive, customer, T0)
    assert upcoming.points == 100 and upcoming.at.date() == (T0 + timedelta(days=183)).date()
    assert ledger.expire_points(session, inactive, customer, T0 + timedelta(days=100)) is None
    entry = ledger.expire_points(session, inactive, customer, T0 + timedelta(days=200))
    assert entry.amount == -100
    assert ledger.expire_points(session, inactive, customer, T0 + timedelta(days=201)) is None
    session.commit()

    aged = ProgramSettings(expiry=Expiry(mode="fixed_age", months=12))
    account, conn = shop(session, box, aged)
    place(session, account, conn, order("1", "100"), now=T0)
    place(session, account, conn, order("2", "50", placed_at=T0 + timedelta(days=200)),
          now=T0 + timedelta(days=200))
    customer = customer_of(session, account, "c1@example.com")
    reward = Reward(account_id=account.id, name="x", kind=RewardKind.FIXED_AMOUNT, points_cost=30)
    session.add(reward)
    session.commit()
    ledger.redeem(session, account.id, customer.id, reward.id, key="k", now=T0 + timedelta(days=201))
    session.commit()
    expired = ledger.expire_points(session, aged, customer, T0 + timedelta(days=370))
    assert expired.amount == -70  # the 100 old points less the 30 spent (oldest first)
    session.commit()
    assert balance(session, account) == 50
    assert ledger.check_account(session, account.id).ok


def test_tiers_by_spend_with_multiplier_and_retention(session, box):
    program = ProgramSettings(tiers=TierRules(basis="spend", window_months=12, retention_months=6))
    account, conn = shop(session, box, program)
    session.add_all([
        Tier(account_id=account.id, name="Member", threshold=Decimal(0)),
        Tier(account_id=account.id, name="Gold", threshold=Decimal(500), multiplier=Decimal(2)),
    ])
    session.commit()
    place(session, account, conn, order("1", "600"))
    gold = customer_of(session, account, "c1@example.com")
    assert session.get(Tier, gold.tier_id).name == "Gold"
    place(session, account, conn, order("2", "100", placed_at=T0 + timedelta(days=1)),
          now=T0 + timedelta(days=1))
    assert balance(session, account) == 600 + 200  # second order earns double
    # fourteen months later the window is empty, but a re-evaluation inside retention keeps Gold
    later = T0 + timedelta(days=100)
    customer = customer_of(session, account, "c1@example.com")
    assert ledger.evaluate_tier(session, program, customer, later).name == "Gold"
    much_later = T0 + timedelta(days=430)
    assert ledger.evaluate_tier(session, program, customer, much_later).name == "Member"


def test_order_deleted_reverses(session, box):
    account, conn = shop(session, box)
    place(session, account, conn, order("1"))
    apply(session, account, conn, OrderDeleted(order_platform_id="1"))
    assert balance(session, account) == 0


def test_entries_are_append_only_in_the_database(session, box, engine):
    account, conn = shop(session, box)
    place(session, account, conn, order("1"))
    for statement in ("UPDATE ledger_entry SET amount = 1", "DELETE FROM ledger_entry"):
        with engine.connect() as connection, pytest.raises(Exception, match="append-only"):
            connection.execute(text(f"{statement} WHERE account_id = {account.id}"))
