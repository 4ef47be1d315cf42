"""Hostile plans by category: each tries to escape, exhaust or crash the host.

A plan "wins" if it reads the planted secret, writes a file, starts a process, reaches the
planted host sentinel, outlives its limit, or leaves the host unable to run the next plan.
"""

from __future__ import annotations

INTROSPECTION = [
    "x = (1).__class__",
    "x = ().__class__.__mro__",
    "x = ''.__class__.__subclasses__()",
    "f = lambda: 0\nx = f.__globals__",
    "x = print.__self__",
    "x = tools.__dict__",
    "x = tools._members",
    "x = type(1)",
    "x = object.__subclasses__()",
    "async def g():\n    pass\nc = g()\nx = c.cr_frame",
    "def gen():\n    yield 1\nx = gen().gi_frame.f_globals",
    "def gen():\n    yield 1\nx = gen().gi_code",
    "try:\n    1/0\nexcept Exception as e:\n    x = e.__traceback__.tb_frame.f_back.f_globals",
    "try:\n    1/0\nexcept Exception as e:\n    x = e.__context__",
    "x = getattr(1, '__cla' + 'ss__')",
    "x = getattr(tools, '_bri' + 'dge')",
    "name = ''.join(['_', '_', 'class', '_', '_'])\nx = getattr(1, name)",
    "x = vars(tools)",
    "x = globals()",
    "x = locals()",
    "x = dir()",
    "x = [c for c in ().__class__.__base__.__subclasses__()]",
    "x = (lambda: 0).__code__.co_consts",
    "x = ToolError.__subclasses__()",
    "x = ToolError.mro()",
    "x = getattr(ToolError, 'mro')()",
    "x = BaseException.__subclasses__()",
    "x = print.__module__",
]
FORMAT_WALKS = [
    "x = '{0.__class__}'.format(1)",
    "x = '{0.__class__.__mro__[1].__subclasses__}'.format(1)",
    "x = '{x.__globals__}'.format(x=lambda: 0)",
    "x = '{0._members}'.format(tools)",
    "x = str.format('{0.__class__}', 1)",
    "x = '{t.__init__.__globals__}'.format_map({'t': tools})",
    "x = format(1, '{0.__class__}')",
    "fmt = '{0.' + '_' * 2 + 'class' + '_' * 2 + '}'\nx = fmt.format(1)",
    "x = f'{(1).__class__}'",
    "x = '%s' % (tools._members,)",
]
BUILTINS_AND_IMPORTS = [
    "__import__('os').system('touch /tmp/codemode-pwned')",
    "import os\nos.system('touch /tmp/codemode-pwned')",
    "import subprocess",
    "import sys\nx = sys.modules",
    "import builtins",
    "import importlib",
    "import ctypes",
    "import pickle",
    "import marshal",
    "import json.decoder",
    "from json import codecs",
    "import json\nx = json.codecs",
    "import re\nx = re.sre_compile",
    "import random\nx = random._os",
    "import functools\nx = functools.sys",
    "import collections\nx = collections.abc",
    "import datetime\nx = datetime.sys",
    "import time\ntime.sleep(100)",
    "import typing\nx = typing.sys",
    "import string\nx = string.Formatter",
    "open('/etc/passwd').read()",
    "exec('import os')",
    "eval('1+1')",
    "compile('1', 'x', 'eval')",
    "x = __builtins__",
    "x = __loader__",
    "x = __spec__",
    "breakpoint()",
    "input()",
    "help()",
    "exit()",
    "setattr(tools, 'x', 1)",
    "memoryview(b'x')",
    "super()",
]
TRICKS = [
    "class A:\n    pass",
    "class M(type):\n    pass",
    "def f(x=(1).__class__):\n    pass",
    "x = [0]\nx[0] = tools\nx[0]._members",
    "global __builtins__\n__builtins__ = {}",
    "tools.add = 1",
    "import json\njson.dumps = 1",
    "x = {}\nx.__class__ = dict",
    "try:\n    pass\nexcept* ValueError:\n    pass",
    "async def f():\n    yield 1\nx = f().ag_frame",
    "x = (i for i in ())\nx.gi_frame",
    "import functools\np = functools.partial(getattr, 1)\nx = p('__class__')",
    "import functools\nx = functools.reduce(getattr, ['__class__', '__mro__'], 1)",
    "x = list(map(getattr, [1], ['__class__']))",
    "x = sorted([1], key=lambda v: getattr(v, '__class__'))",
    "raise SystemExit(1)",
    "raise KeyboardInterrupt",
]
TOOL_OBJECTS = [
    "f = await tools.leak_function()\nx = f",
    "c = await tools.leak_class()\nreturn c",
    "m = await tools.leak_module()\nreturn m",
    "o = await tools.leak_object()\nreturn o",
    "d = await tools.shared_data()\nd['secret_ref'] = 'changed'\nd['items'].append(99)\nreturn d",
    "e = await tools.leak_exception()\nreturn e",
]
CONTAINED = [
    # Allowed, and harmless: they must still leak nothing (checked like every other case).
    "@print\ndef f():\n    pass",
    "import copy\nx = copy.deepcopy(tools)\nreturn str(x)",
    "import copy\nx = copy.copy(tools)",
    "x = iter(tools)",
]
EXHAUSTION = [
    "while True:\n    pass",
    "while True:\n    try:\n        pass\n    except BaseException:\n        pass",
    "try:\n    while True:\n        pass\nfinally:\n    return 'swallowed'",
    "def f():\n    try:\n        while True:\n            pass\n    finally:\n        return 1\nwhile True:\n    f()",
    "x = 'a' * 10**10",
    "x = [0] * 10**10",
    "x = 10**10**10",
    "x = 1 << 10**10",
    "x = list(range(10**10))",
    "s = 'a'\nwhile True:\n    s = s + s",
    "x = [1]\nwhile True:\n    x.extend(x)",
    "x = [1]\nwhile True:\n    x = x * 2",
    "def f(n):\n    return f(n + 1)\nf(0)",
    "f = lambda n: 1 if n == 0 else f(n - 1) + f(n - 1)\nf(64)",
    "for i in range(10**7):\n    print('x' * 1000)",
    "while True:\n    await tools.add(a=1, b=1)",
    "while True:\n    try:\n        await tools.add(a=1, b=1)\n    except BaseException:\n        pass",
    "await asyncio.sleep(10**6)",
    "await tools.never()",
    "try:\n    await tools.never()\nexcept BaseException:\n    await tools.never()",
    "await asyncio.gather(*[tools.never() for _ in range(50)])",
    "import itertools\nx = list(itertools.count())",
    "import itertools\nx = sum(itertools.cycle([1]))",
    "x = list(iter(int, 1))",
    "import math\nx = math.factorial(10**8)",
    "x = '{:>999999999999}'.format(1)",
    "x = f'{1:>999999999999}'",
    "x = '%999999999999d' % 1",
    "x = bytes(10**11)",
    "x = bytearray(10**11)",
    "x = ('a' * 10**6).replace('a', 'b' * 10**6)",
    "x = 'x'.center(10**11)",
    "x = ''.join(['a' * 10**6] * 10**4)",
    "x = sum([[1] * 1000] * 100000, [])",
    "d = {}\nwhile True:\n    d[len(d)] = 'x' * 100",
    "import re\nre.match('(a+)+$', 'a' * 64 + 'b')",
]
DEADLINES = [
    # A deadline ends the plan as a timeout whatever it does in `except`/`finally`.
    "try:\n    await asyncio.sleep(100)\nfinally:\n    return 'swallowed'",
    "try:\n    await tools.never()\nfinally:\n    return 'swallowed'",
    "try:\n    try:\n        await asyncio.sleep(100)\n    finally:\n        return 'inner'\n"
    "finally:\n    return 'outer'",
    "async def f():\n    try:\n        await asyncio.sleep(100)\n    finally:\n        return 1\n"
    "return await f()",
]
CANCELLATION = [
    # The plan's own CancelledError is its error: it never escapes `run()` or kills a worker.
    "raise asyncio.CancelledError()",
    "async def f():\n    raise asyncio.CancelledError()\nawait asyncio.gather(f())",
]
TICK_FREE = [
    # Loops in C (builtins fed by builtins, library code in Python) count their items.
    "max(map(abs, range(10**7)))",
    "x = sorted(zip(range(10**6), range(10**6)))",
    "import functools\nfunctools.reduce(max, range(10**7))",
    "import random\nx = random.choices([1, 2], k=10**7)",
    "import statistics\nx = statistics.quantiles(range(10), n=10**6)",
    "import random\nx = list(range(10**6))\nrandom.shuffle(x)",
]
AMPLIFICATION = [
    # One operation that builds far more than the plan holds (Limits.max_sequence_length).
    "s = 'a' * 10**6\nx = str([s] * 100)",
    "s = 'a' * 10**6\nx = repr({'k': [s] * 100})",
    "s = 'a' * 10**6\nx = f'{[s] * 100}'",
    "s = 'a' * 10**6\nprint([s] * 100)",
    "s = 'a' * 10**6\nx = '%s' % ([s] * 100,)",
    "s = 'a' * 10**6\nx = '{}'.format([s] * 100)",
    "import json\nx = json.dumps([0] * 10**5, indent=200)",
    "import json\nx = json.dumps([0] * 10**5, separators=(' ' * 200, ':'))",
    "x = ('a' * 10**5).translate({97: 'b' * 1000})",
    "import re\nx = re.sub('', 'x' * 1000, 'a' * 10**5)",
    "import re\nx = re.compile('a').sub('b' * 1000, 'a' * 10**5)",
    "import re\nx = re.subn('(a)', '\\\\1' * 500, 'a' * 10**5)",
    "import collections\nx = collections.deque([1] * 100) * 200000",
    "import collections\nx = collections.deque([1] * 100)\nx *= 200000",
    "x = (1).to_bytes(10**8, 'big')",
    "x = int.from_bytes(b'\\xff' * 10**6, 'big')",
    "import random\nx = random.getrandbits(10**8)",
    "import math\nx = math.lcm(*[(1 << 99990) + i for i in range(1, 4)])",
    "import math\nf = math.factorial(20000)\nx = pow(f, f, f - 1)",
]
COMPILE = [
    # Plans whose compilation is the attack: refused up front, with a line.
    "x = " + " + ".join(["1"] * 300),
    "x = " + "[" * 120 + "]" * 120 + "\n" + "y = " + " - ".join(["x"] * 200),
    "\n".join(f"x{i} = {i}" for i in range(20_000)),
]
CATEGORIES: dict[str, list[str]] = {
    "introspection": INTROSPECTION,
    "format-walk": FORMAT_WALKS,
    "builtins-imports": BUILTINS_AND_IMPORTS,
    "tricks": TRICKS,
    "tool-objects": TOOL_OBJECTS,
    "contained": CONTAINED,
    "exhaustion": EXHAUSTION,
    "deadlines": DEADLINES,
    "cancellation": CANCELLATION,
    "tick-free": TICK_FREE,
    "amplification": AMPLIFICATION,
    "compile": COMPILE,
}
EXPECTED_KIND = {
    "deadlines": "timeout",
    "cancellation": "runtime",
    "tick-free": "budget",
    "amplification": "budget",
    "compile": "policy",
}
"""Families whose failure must be of one kind (a worker killed instead is not good enough)."""
CASES = [(category, code) for category, codes in CATEGORIES.items() for code in codes]
