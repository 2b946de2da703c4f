"""Segments: declarative rule segments and built-in RFM groups, computed as set-based SQL, with
membership changes logged so pushes send deltas (``changes_since``)."""

from integration.segments.definitions import SegmentDefinition, read_definitions, save_segment
from integration.segments.membership import (
    MemberChange,
    RecomputeResult,
    changes_since,
    recompute_account,
    recompute_segments,
)
from integration.segments.rules import Scope, members_query, parse_rule

__all__ = [
    "MemberChange",
    "RecomputeResult",
    "Scope",
    "SegmentDefinition",
    "changes_since",
    "members_query",
    "parse_rule",
    "read_definitions",
    "recompute_account",
    "recompute_segments",
    "save_segment",
]
