"""`create_codemode_tool` and `CodeModeToolSpec`: many LlamaIndex tools in, one code tool out."""

# No `from __future__ import annotations` here: `FunctionTool` finds the workflow `Context`
# parameter by comparing real annotation objects, which postponed (string) annotations defeat.

from collections.abc import Iterable
from typing import Any

from llama_index.core.bridge.pydantic import BaseModel, Field
from llama_index.core.tools import FunctionTool, ToolMetadata, ToolOutput
from llama_index.core.tools.tool_spec.base import SPEC_FUNCTION_TYPE, BaseToolSpec
from llama_index.core.workflow import Context

from codemode_core import CodeMode, ConfigurationError, ExecutionResult
from codemode_llamaindex._convert import NativeTool, OuterCall, current_call, to_codemode_tools
from codemode_llamaindex.events import stream_progress

__all__ = ["CodeModeInput", "CodeModeTool", "CodeModeToolSpec", "create_codemode_tool"]


class CodeModeInput(BaseModel):
    """The code tool's only argument, as the model sees it."""

    code: str = Field(description="The plan: the body of an async Python function.")


class CodeModeTool(FunctionTool):
    """A `FunctionTool` that runs Code Mode plans; a failed plan's output has `is_error` set.

    `raw_output` is the full `ExecutionResult` (every tool call, logs, error); the content the
    model reads is `ExecutionResult.to_model()`.
    """

    code_mode: CodeMode

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

    Args:
        tools: `FunctionTool`s, `BaseTool`/`AsyncBaseTool` subclasses, `QueryEngineTool`s,
            tool specs (or their `to_tool_list()`), and plain sync or async callables.
        name: The code tool's name.
        **options: Passed to `codemode_core.CodeMode` (`limits`, `executor`, `discovery`, ...).
    """

    spec_functions: list[SPEC_FUNCTION_TYPE] = [("run_code_sync", "run_code")]  # noqa: RUF012

    def __init__(
        self, tools: Iterable[NativeTool], *, name: str = "run_code", **options: Any
    ) -> None:
        self.name = name
        self.code_mode = CodeMode(to_codemode_tools(tools), **options)

    async def run_code(self, code: str, ctx: Context) -> ExecutionResult:
        """Run a plan; inside an agent workflow `ctx` is its `Context` (else None).

        Tools the plan calls get this `ctx` when they ask for one, and the plan's progress is
        written to its event stream.
        """
        token = current_call.set(OuterCall(ctx=ctx))
        try:
            observer = None if ctx is None else stream_progress(ctx, self.name)
            return await self.code_mode.run(code, observer=observer)
        finally:
            current_call.reset(token)

    def run_code_sync(self, code: str, ctx: Context) -> ExecutionResult:
        """`run_code` for synchronous callers (`tool.call`); workflows call `run_code`."""
        return self.code_mode.run_sync(code)

    def to_tool_list(
        self,
        spec_functions: list[SPEC_FUNCTION_TYPE] | None = None,
        func_to_metadata_mapping: dict[str, ToolMetadata] | None = None,
    ) -> list[FunctionTool]:
        """One `CodeModeTool`.

        `func_to_metadata_mapping["run_code"]` may rename it, put text before its description
        (the plan API stays in it: the model cannot write plans without it) and set
        `return_direct`; its argument schema stays the code tool's own.
        """
        if spec_functions not in (None, self.spec_functions, ["run_code"]):
            raise ConfigurationError(
                f"CodeModeToolSpec has one function, run_code; got spec_functions={spec_functions}"
            )
        return [self._tool((func_to_metadata_mapping or {}).get("run_code"))]

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
    tools: Iterable[NativeTool], *, name: str = "run_code", **options: Any
) -> CodeModeTool:
    """One LlamaIndex tool that runs Code Mode plans over `tools`.

    Give it to a `FunctionAgent`, `ReActAgent` or `AgentWorkflow` in place of the tools.

    Args:
        tools: `FunctionTool`s, `BaseTool`/`AsyncBaseTool` subclasses, `QueryEngineTool`s,
            tool specs (or their `to_tool_list()`), and plain sync or async callables.
        name: The code tool's name.
        **options: Passed to `codemode_core.CodeMode` (`limits`, `executor`, `discovery`, ...).
    """
    return CodeModeToolSpec(tools, name=name, **options)._tool()
