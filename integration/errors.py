"""Errors the core raises on purpose; each says what went wrong in words a merchant can act on."""


class SadakatError(Exception):
    """Base of the core's deliberate errors."""


class NotFound(SadakatError):
    """The row does not exist in this account (rows of other accounts do not exist either)."""


class LedgerConflict(SadakatError):
    """An idempotency key was reused for an entry that says something different."""


class InsufficientPoints(SadakatError):
    """The available balance does not cover the debit."""


class RuleError(SadakatError):
    """A program rule forbids the operation (inactive reward, bonus not configured...)."""
