"""Data portability: import balances and history from other loyalty apps, export everything.

Modules: ``formats`` (the sources and their columns), ``reader`` (streaming CSV / JSON Lines with
precise row errors), ``importer`` (chunked, idempotent writes), ``exporter`` (streamed files that
import back), ``cli`` (``sadakat import`` / ``sadakat export``). See docs/import-export.md.
"""
