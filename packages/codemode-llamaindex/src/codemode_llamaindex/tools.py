"""`create_codemode_tool` and `CodeModeToolSpec`: many LlamaIndex tools in, one code tool out."""

# No `from __future__ import annotations` here: `FunctionTool` finds the workflow `Context`
# parameter by comparing real annotation objects, which postponed (string) annotations defeat.

import contextvars
import hashlib
import itertools
import logging
import uuid
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from typing import Any

from llama_index.core.bridge.pydantic import BaseModel, Field
from llama_index.core.tools import BaseTool, FunctionTool, ToolMetadata, ToolOutput
from llama_index.core.tools.tool_spec.base import SPEC_FUNCTION_TYPE, BaseToolSpec
from llama_index.core.workflow import Context

from codemode_core import CodeMode, ConfigurationError, ExecutionResult
from codemode_core.integration import (
    ToolChoice,
    check_approval_rules,
    check_approvals_wrapped,
    check_chosen_names,
    check_options,
    check_tool_choice,
    chooses,
    decision_from,
)
from codemode_core.integration import require_approval as approval_rules
from codemode_llamaindex._convert import (
    NativeTool,
    OuterCall,
    current_call,
    to_codemode_tools,
    to_native_tools,
)
from codemode_llamaindex.events import (
    CodeModeApproval,
    CodeModeApprovalRequired,
    stream_progress,
)

__all__ = ["CodeModeInput", "CodeModeTool", "CodeModeToolSpec", "create_codemode_tool"]

log = logging.getLogger("codemode.llamaindex")

_caller: contextvars.ContextVar[str] = contextvars.ContextVar(
    "codemode_llamaindex_caller", default="CodeModeToolSpec"
)
"""What the user called, for the errors about its options."""


class CodeModeInput(BaseModel):
    """The code tool's only argument, as the model sees it."""

    code: str = Field(description="The plan: the body of an async Python function.")


class CodeModeTool(FunctionTool):
    """A `FunctionTool` that runs Code Mode plans; a failed plan's output has `is_error` set.

    `raw_output` is the full `ExecutionResult` (every tool call, logs, error); the content the
    model reads is `ExecutionResult.to_model()`.
    """

    code_mode: CodeMode

    @property
    def description(self) -> str:
        """What the model reads about the code tool (its metadata's description, stubs in it)."""
        return self.metadata.description

    @property
    def stubs(self) -> str:
        """The typed stubs of the tools plans call."""
        return self.code_mode.stubs

    def call(self, *args: Any, **kwargs: Any) -> ToolOutput:
        return _flag_failure(super().call(*args, **kwargs))

    async def acall(self, *args: Any, **kwargs: Any) -> ToolOutput:
        return _flag_failure(await super().acall(*args, **kwargs))


def _flag_failure(output: ToolOutput) -> ToolOutput:
    result = output.raw_output
    if isinstance(result, ExecutionResult) and not result.ok:
        output.is_error = True
    return output


def _to_model(result: ExecutionResult) -> str:
    """What the model reads (`FunctionTool` puts a callback's string in the output's content)."""
    return result.to_model()


async def _ato_model(result: ExecutionResult) -> str:
    return result.to_model()


class CodeModeToolSpec(BaseToolSpec):
    """LlamaIndex tools behind one function, `run_code`, as a tool spec.

    `to_tool_list()` is the list to give an agent: the code tool, then the tools `tools=`
    leaves direct (none by default).

    Args:
        agent_tools: (positional) `FunctionTool`s, `BaseTool`/`AsyncBaseTool` subclasses,
            `QueryEngineTool`s, tool specs (or their `to_tool_list()`), and plain sync or async
            callables.
        tools: Which of them plans call, as in every adapter: `"all"` (the default), a list of
            tool names, or a predicate over the LlamaIndex tool (a plain callable is made a
            `FunctionTool` first, a tool spec contributes each of its tools). The others are
            returned by `to_tool_list()` as they are, for the model to call directly.
        name: The code tool's name.
        **options: Passed to `codemode_core.CodeMode` (`limits`, `executor`, `discovery`, ...).
    """

    spec_functions: list[SPEC_FUNCTION_TYPE] = [("run_code_sync", "run_code")]  # noqa: RUF012

    def __init__(
        self,
        agent_tools: Iterable[NativeTool],
        /,
        *,
        tools: ToolChoice = "all",
        name: str = "run_code",
        require_approval: Mapping[str, bool | Callable[[Mapping[str, Any]], bool]] | None = None,
        **options: Any,
    ) -> None:
        caller = _caller.get()
        check_options(caller, options, own=("tools", "name", "require_approval"))
        check_approval_rules(caller, require_approval)
        choice = check_tool_choice(caller, tools)
        self.name = name
        native = to_native_tools(agent_tools)
        check_chosen_names(caller, choice, map(_name, native))
        self.direct_tools = [t for t in native if not chooses(choice, _name(t), t)]
        """The tools `tools=` leaves for the model to call directly."""
        check_approvals_wrapped(caller, require_approval, map(_name, self.direct_tools))
        if any(_name(t) == name for t in self.direct_tools):
            raise ConfigurationError(
                f"{caller}: the direct tool {name!r} has the code tool's name; pass name=... "
                "another name"
            )
        wrapped = [t for t in native if chooses(choice, _name(t), t)]
        converted = approval_rules(to_codemode_tools(wrapped), require_approval)
        self.code_mode = CodeMode(converted, **options)

    @property
    def description(self) -> str:
        """What the model reads about the code tool (the stubs included)."""
        return self.code_mode.description

    @property
    def stubs(self) -> str:
        """The typed stubs of the tools plans call."""
        return self.code_mode.stubs

    async def run_code(self, code: str, ctx: Context) -> ExecutionResult:
        """Run a plan; inside an agent workflow `ctx` is its `Context` (else None).

        Tools the plan calls get this `ctx` when they ask for one, and the plan's progress is
        written to its event stream.
        """
        token = current_call.set(OuterCall(ctx=ctx))
        try:
            observer = None if ctx is None else stream_progress(ctx, self.name)
            if ctx is None:
                return await self.code_mode.run(code, observer=observer)
            return await _run_with_approvals(self.code_mode, code, ctx, observer)
        finally:
            current_call.reset(token)

    def run_code_sync(self, code: str, ctx: Context) -> ExecutionResult:
        """`run_code` for synchronous callers (`tool.call`); workflows call `run_code`."""
        return self.code_mode.run_sync(code)

    def to_tool_list(  # type: ignore[override]  # the direct tools may be any BaseTool
        self,
        spec_functions: list[SPEC_FUNCTION_TYPE] | None = None,
        func_to_metadata_mapping: dict[str, ToolMetadata] | None = None,
    ) -> list[BaseTool]:
        """The `CodeModeTool`, then the tools `tools=` leaves direct.

        `func_to_metadata_mapping["run_code"]` may rename it, put text before its description
        (the plan API stays in it: the model cannot write plans without it) and set
        `return_direct`; its argument schema stays the code tool's own.
        """
        if spec_functions not in (None, self.spec_functions, ["run_code"]):
            raise ConfigurationError(
                f"CodeModeToolSpec has one function, run_code; got spec_functions={spec_functions}"
            )
        code_tool = self._tool((func_to_metadata_mapping or {}).get("run_code"))
        return [code_tool, *self.direct_tools]

    def _tool(self, override: ToolMetadata | None = None) -> CodeModeTool:
        description = self.code_mode.description
        if override is not None and override.description:
            description = f"{override.description.strip()}\n\n{description}"
        metadata = ToolMetadata(
            name=(override.name if override else None) or self.name,
            description=description,
            fn_schema=CodeModeInput,
            return_direct=override.return_direct if override else False,
        )
        tool = CodeModeTool(
            fn=self.run_code_sync,
            async_fn=self.run_code,
            metadata=metadata,
            callback=_to_model,
            async_callback=_ato_model,
            # Outside a workflow nobody passes a Context: default it to None.
            partial_params={"ctx": None},
        )
        tool.code_mode = self.code_mode
        return tool


def create_codemode_tool(
    tools: Iterable[NativeTool],
    *,
    name: str = "run_code",
    require_approval: Mapping[str, bool | Callable[[Mapping[str, Any]], bool]] | None = None,
    **options: Any,
) -> CodeModeTool:
    """One LlamaIndex tool that runs Code Mode plans over `tools`.

    Give it to a `FunctionAgent`, `ReActAgent` or `AgentWorkflow` in place of the tools.

    Args:
        tools: `FunctionTool`s, `BaseTool`/`AsyncBaseTool` subclasses, `QueryEngineTool`s,
            tool specs (or their `to_tool_list()`), and plain sync or async callables.
        name: The code tool's name.
        require_approval: `{tool_name: True | predicate(arguments)}`: calls that need a
            human. Inside an agent workflow a plan reaching one writes `CodeModeApprovalRequired`
            (an `InputRequiredEvent`) and continues when a matching `CodeModeApproval` arrives.
        **options: Passed to `codemode_core.CodeMode` (`limits`, `executor`, `discovery`, ...).
    """
    token = _caller.set("create_codemode_tool")
    try:
        spec = CodeModeToolSpec(tools, name=name, require_approval=require_approval, **options)
    finally:
        _caller.reset(token)
    return spec._tool()


def _name(tool: BaseTool) -> str:
    return tool.metadata.name or ""


async def _run_with_approvals(
    code_mode: CodeMode, code: str, ctx: Context, observer: Any
) -> ExecutionResult:
    """Run the plan; while it waits for approvals, wait for the human's answer on the workflow.

    LlamaIndex's `ctx.wait_for_event` stops the step and replays it when the answer arrives.
    The execution is named after the workflow run and the plan, so the replayed step finds
    the paused execution (and its journal) instead of running the plan again, and the same
    plan in another run (another user's, on a shared tool) is an execution of its own.
    """
    scope = await _run_scope(ctx)
    execution_id, replayed = await _execution_for(code_mode, scope, code)
    if replayed:
        result = None  # the replayed step of a paused plan: wait for its answer, resume
    else:
        result = await code_mode.run(code, observer=observer, execution_id=execution_id)
    while result is None or result.status == "paused":
        paused = await code_mode.paused_record(execution_id)
        assert paused is not None
        answer = await ctx.wait_for_event(
            CodeModeApproval,
            waiter_event=CodeModeApprovalRequired(
                prefix=f"{len(paused.pending)} tool call(s) of a plan need approval",
                execution_id=execution_id,
                requests=[
                    {
                        "request_id": p.request_id,
                        "tool": p.tool,
                        "arguments": dict(p.arguments),
                        "line": p.line,
                    }
                    for p in paused.pending
                ],
            ),
            waiter_id=f"{execution_id}:{','.join(p.request_id for p in paused.pending)}",
            requirements={"execution_id": execution_id},
            timeout=None,
        )
        decisions = {
            str(k): decision
            for k, v in answer.decisions.items()
            if (decision := decision_from(v, f"the decision for {k!r}")) is not None
        }
        result = await code_mode.resume(execution_id, decisions, observer=observer)
    return result


async def _execution_for(code_mode: CodeMode, scope: str, code: str) -> tuple[str, bool]:
    """The execution a code call is: the first of this run's executions of this plan that is
    paused (this is the replayed step: resume it) or unused (run it). Finished and running
    ones are earlier or concurrent calls of the same plan, e.g. a model retrying it."""
    base = "li-" + hashlib.sha256(f"{scope}\n{code}".encode()).hexdigest()[:24]
    for attempt in itertools.count():
        execution_id = base if attempt == 0 else f"{base}-{attempt}"
        record = await code_mode.store.load(execution_id)
        if record is None or record.state == "paused":
            return execution_id, record is not None
    raise AssertionError("unreachable")  # pragma: no cover


_SCOPE_KEY = "codemode_run_scope"


async def _run_scope(ctx: Context) -> str:
    """A random id kept in the workflow's state: the same for every step of one run (and
    for a replayed step, or a run restored from `ctx.to_dict()`), new for the next run.

    Created under the state's lock, so concurrent code calls of one run agree on it. A typed
    state keeps it in a `codemode_run_scope: str | None = None` field if it declares one;
    otherwise the run's own id stands in (a restored run then gets a new one).
    """
    scope: str | None = None
    try:
        async with ctx.store.edit_state() as state:
            if isinstance(state, MutableMapping) or hasattr(state, "__setitem__"):
                found = state.get(_SCOPE_KEY)
                scope = found if isinstance(found, str) else uuid.uuid4().hex
                state[_SCOPE_KEY] = scope
            elif _SCOPE_KEY in getattr(type(state), "model_fields", {}):
                found = getattr(state, _SCOPE_KEY)
                scope = found if isinstance(found, str) else uuid.uuid4().hex
                setattr(state, _SCOPE_KEY, scope)
    except (AttributeError, TypeError, KeyError, ValueError):
        scope = None
    return scope if scope is not None else _run_id(ctx)


def _run_id(ctx: Context) -> str:
    """The workflow run's id, where the runtime tells it (durable state stores do publicly;
    the in-memory runtime only through its adapter)."""
    for path in (("store", "run_id"), ("_face", "_internal_adapter", "run_id")):
        value: Any = ctx
        try:
            for name in path:
                value = getattr(value, name)
        except (AttributeError, RuntimeError):
            continue
        if isinstance(value, str) and value:
            return value
    log.warning(
        "codemode: this workflow's state has no room for a run scope and its run id is not "
        "known; add `codemode_run_scope: str | None = None` to the state model, or the same "
        "plan paused in two runs at once would share an execution"
    )
    return ""
