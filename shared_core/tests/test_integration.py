"""`codemode_core.integration`, the adapters' surface, is pinned: a change to it is deliberate."""

from __future__ import annotations

import codemode_core.integration


def test_integration_all_is_pinned_and_sorted() -> None:
    assert codemode_core.integration.__all__ == [
        "ApprovalPredicate",
        "Approver",
        "Catalog",
        "ExecutionRecord",
        "MemoryStore",
        "PlanCall",
        "Store",
        "ToolChoice",
        "adopt",
        "check_approval_rules",
        "check_approvals_wrapped",
        "check_chosen_names",
        "check_options",
        "check_tool_choice",
        "chooses",
        "clean_description",
        "current_plan_call",
        "decision_from",
        "describe_validation_error",
        "edit",
        "output_schema_of",
        "record_from_data",
        "record_to_data",
        "require_approval",
        "resolve_executor",
        "result_from_data",
        "result_to_data",
    ]
    for name in codemode_core.integration.__all__:
        assert hasattr(codemode_core.integration, name)
