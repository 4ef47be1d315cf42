"""The executors know which interpreters the sandbox was verified on: elsewhere they warn
once, and `strict=True` refuses to start."""

from __future__ import annotations

import stat
import sys
import warnings
from pathlib import Path

import pytest

from codemode_core import CodeMode, ConfigurationError, Tool
from codemode_core.sandbox import InProcessExecutor, IsolatedExecutor, _interpreter
from codemode_core.sandbox.policy import VERIFIED_INTERPRETERS


@pytest.fixture
def unverified(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend this interpreter is a version the sandbox was never verified on."""
    monkeypatch.setattr(_interpreter, "VERIFIED_INTERPRETERS", ((3, 99),))
    monkeypatch.setattr(_interpreter, "_warned", set())


def test_this_interpreter_is_verified_and_nothing_is_said() -> None:
    assert (sys.version_info.major, sys.version_info.minor) in VERIFIED_INTERPRETERS
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        InProcessExecutor(strict=True)
        IsolatedExecutor(strict=True)


@pytest.mark.usefixtures("unverified")
def test_an_unverified_interpreter_warns_once_and_plans_still_run() -> None:
    with pytest.warns(RuntimeWarning, match=r"not verified on \(verified: CPython 3\.99\)"):
        first = InProcessExecutor()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the second executor stays quiet
        second = InProcessExecutor()
    tools = [Tool.from_function(lambda a, b: a + b, name="add")]
    result = CodeMode(tools, executor=second).run_sync("return await tools.add(a=1, b=2)")
    assert result.value == 3
    assert first is not second


@pytest.mark.usefixtures("unverified")
@pytest.mark.parametrize("executor", [InProcessExecutor, IsolatedExecutor])
def test_strict_refuses_an_unverified_interpreter(executor: type) -> None:
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    with pytest.raises(ConfigurationError) as caught:
        executor(strict=True)
    message = str(caught.value)
    assert message.startswith(f"{executor.__name__}(strict=True): plans would run on cpython")
    assert version in message
    assert "verified on CPython 3.99 only" in message


def test_the_isolated_workers_interpreter_is_the_one_checked(tmp_path: Path) -> None:
    fake = tmp_path / "python3.14"
    fake.write_text("#!/bin/sh\necho cpython 3 14\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    with pytest.raises(ConfigurationError, match=r"plans would run on cpython 3\.14"):
        IsolatedExecutor(python=str(fake), strict=True)


def test_a_worker_interpreter_that_cannot_run_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot run the worker interpreter"):
        IsolatedExecutor(python=str(tmp_path / "missing-python"))
