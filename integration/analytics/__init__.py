"""Analytics for the admin page and ``sadakat report``: program and store figures by period,
computed in SQL (``report``), and predicted customer value (``predict``, ``clv``)."""

from integration.analytics.report import Report, build_report

__all__ = ["Report", "build_report"]
