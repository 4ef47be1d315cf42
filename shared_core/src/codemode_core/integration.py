"""The stable surface for framework adapters: what a `codemode-<framework>` package may import.

Users import from `codemode_core`; an adapter needs a little more (converting a native tool's
validation error into the model-facing message, keeping a paused execution in the
framework's own storage, marking tools that need approval, checking its options, choosing which
tools go behind the code tool, labelling its framework's trace of an inner call with the plan
line). Those helpers live in the core's modules, which are free to move; this module
re-exports them under names that stay.
An adapter imports from `codemode_core` and from here, never from another `codemode_core.*`
module: `integration_tests/test_adapter_imports.py` checks that, and
`shared_core/tests/test_integration.py` pins `__all__`, so removing a name is a deliberate,
reviewed change.
"""

from __future__ import annotations

from codemode_core._options import check_approval_rules, check_options
from codemode_core.catalog import Catalog
from codemode_core.durable.approvals import (
    Approver,
    decision_from,
    edit,
    require_approval,
)
from codemode_core.durable.journal import ExecutionRecord
from codemode_core.durable.store import MemoryStore, Store
from codemode_core.durable.transfer import (
    adopt,
    record_from_data,
    record_to_data,
    result_from_data,
    result_to_data,
)
from codemode_core.plan_call import PlanCall, current_plan_call
from codemode_core.sandbox import resolve_executor
from codemode_core.selection import (
    ToolChoice,
    check_approvals_wrapped,
    check_chosen_names,
    check_tool_choice,
    chooses,
)
from codemode_core.tools import (
    ApprovalPredicate,
    clean_description,
    describe_validation_error,
    output_schema_of,
)

__all__ = [
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
