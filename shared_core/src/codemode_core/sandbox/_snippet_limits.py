"""Where snippets live and how big one may be: shared by the host (saving, loading) and the
sandbox (building `snippets.*`, refusing too long a snippet before it is sent)."""

from __future__ import annotations

__all__ = ["MAX_SNIPPET_CHARS", "PLAN_NAMESPACE"]

PLAN_NAMESPACE = "plans"
"""Snippets saved by plans are `snippets.plans.<name>`; the developer's are `snippets.<name>`."""

MAX_SNIPPET_CHARS = 20_000
"""Largest snippet, in characters of its code, description and parameter schema: it is compiled
when saved and when called, and sent with every plan."""
