"""Pagination strategies, each with loop detection: a page token seen twice is an error, not an
endless sync.

A paginator is handed each response and says where the next page is; the connector's stream does
the request. The token of the *next* page is what a stream stores as its resume cursor.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests


class PaginationLoop(Exception):
    """The platform returned a page token it had already given: stop instead of looping."""


@dataclass
class Paginator:
    seen: set[str] = field(default_factory=set)

    def _remember(self, token: str | None) -> str | None:
        if token is None:
            return None
        if token in self.seen:
            raise PaginationLoop(f"page token {token!r} repeated")
        self.seen.add(token)
        return token


@dataclass
class PageNumberPaginator(Paginator):
    """``?page=N`` with a total-pages header (WordPress/WooCommerce ``X-WP-TotalPages``)."""

    total_pages_header: str = "X-WP-TotalPages"

    def next_page(self, response: requests.Response, page: int) -> int | None:
        total = int(response.headers.get(self.total_pages_header, "0") or 0)
        if page >= total:
            return None
        token = self._remember(str(page + 1))
        return int(token) if token else None


@dataclass
class JsonCursorPaginator(Paginator):
    """A cursor inside the JSON body, e.g. GraphQL ``pageInfo { hasNextPage endCursor }``.

    ``extract`` returns (has_next, cursor) from the decoded body.
    """

    extract: Callable[[Any], tuple[bool, str | None]] = lambda body: (False, None)

    def next_cursor(self, body: Any) -> str | None:
        has_next, cursor = self.extract(body)
        if not has_next or not cursor:
            return None
        return self._remember(cursor)


_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?([a-z]+)"?')


@dataclass
class LinkHeaderPaginator(Paginator):
    """RFC 8288 ``Link: <url>; rel="next"`` (also Klaviyo-style ``links.next`` via ``next_url``)."""

    def next_url(self, response: requests.Response) -> str | None:
        for url, rel in _LINK.findall(response.headers.get("Link", "")):
            if rel == "next":
                return self._remember(url)
        return None

    def next_from_body(self, url: str | None) -> str | None:
        return self._remember(url) if url else None
