"""Which customer an outside id (a customer id in the app we moved from) was imported as.

E-mail alone cannot carry everything over: a redacted customer has none, and vendors key their
exports by their own customer ids. One row per (account, source, ref) lets a re-run of an import
find the customer it created the first time instead of creating another.
"""

from __future__ import annotations

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from integration.db import BigId


class ImportRef(SQLModel, table=True):
    __tablename__ = "import_ref"
    __table_args__ = (UniqueConstraint("account_id", "source", "ref"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    account_id: int = Field(foreign_key="account.id", sa_type=BigId)
    source: str = Field(max_length=40)
    ref: str = Field(max_length=120)
    customer_id: int = Field(foreign_key="customer.id", index=True, sa_type=BigId)
