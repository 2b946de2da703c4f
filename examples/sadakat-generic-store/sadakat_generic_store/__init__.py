"""Sadakat connector for stores that send Standard Webhooks and expose a paged REST export."""
