"""Hostile plans against the object model (issue #17, part 1), by family.

Each plan succeeds on an executor that hands plans real objects: it drives a coroutine by
hand, reaches the event loop or a future, mutates a process-wide registry, sets an attribute,
or prints a host object's repr. Under the default-deny model each must end as an error, and
nothing host-side may show in what it returns. `FACADE` plans use members the old `asyncio`
facade did not have (they could not run there), and check that what they return is opaque.
"""

from __future__ import annotations

_AGEN_SLEEPING = "async def g():\n    await asyncio.sleep(0.05)\n    yield 1\n"
_AGEN = "async def g():\n    yield 1\n"
_GEN = "def g():\n    x = yield 1\n    yield x\nit = g()\nnext(it)\n"
_FUTURE = "fut = asyncio.sleep(0.05).send(None)\n"

HAND_DRIVEN_COROUTINES = [
    "return str(asyncio.sleep(0.05).send(None))",
    "c = asyncio.sleep(1)\ntry:\n    c.throw(ValueError('x'))\n"
    "except ValueError:\n    return 'drove'",
    "c = asyncio.sleep(1)\nc.close()\nreturn 'closed'",
    "async def f():\n    await asyncio.sleep(0.01)\nreturn str(f().send(None))",
    "return str(asyncio.gather(asyncio.sleep(0.05)).send(None))",
    "return str(asyncio.wait_for(asyncio.sleep(0.05), 1).send(None))",
    _GEN + "return it.send(5)",
    _GEN + "try:\n    it.throw(ValueError('x'))\nexcept ValueError:\n    return 'thrown'",
    _GEN + "it.close()\nreturn 'closed'",
    _AGEN + "try:\n    g().asend(None).send(None)\nexcept StopIteration as e:\n    return e.value",
    _AGEN + "a = g().athrow(ValueError('x'))\nreturn 'athrow'",
    _AGEN + "a = g().aclose()\nreturn 'aclose'",
    _AGEN_SLEEPING + "return str(anext(g()).send(None))",
    _AGEN_SLEEPING + "return str(next(anext(g())))",
    _AGEN_SLEEPING + "return str(anext(g(), None).send(None))",
]
LOOP_AND_CALLBACK_REACH = [
    "loop = asyncio.sleep(0.05).send(None).get_loop()\nreturn str(loop)",
    _FUTURE + "return fut.get_loop().is_running()",
    _FUTURE + "return fut.get_loop().time() > 0",
    _FUTURE + "fut.get_loop().call_soon(print, 'scheduled')\nreturn 'ok'",
    _FUTURE + "fut.add_done_callback(print)\nreturn 'callback'",
    _FUTURE + "return fut.done()",
    _FUTURE + "return str(fut.get_loop().create_future())",
    _AGEN_SLEEPING + "return str(anext(g()).send(None).get_loop())",
    _AGEN_SLEEPING + "return str(next(anext(g())).get_loop())",
    "return str(asyncio.gather(asyncio.sleep(0.05)).send(None).get_loop())",
]
GLOBAL_REGISTRIES = [
    "import typing\ntyping.Mapping.register(ToolError)\nreturn 1",
    "import typing\ntyping.Sequence.register(ToolError)\nreturn 1",
    "import typing\nreturn str(typing.Iterable.register)",
    "import typing\nX = typing.TypedDict('X', {'a': int})\nreturn str(X)",
    "import typing\nreturn typing.TypedDict('X', {'a': int})(a=1)",
    "import typing\nreturn str(typing.Dict.copy_with)",
]
ATTRIBUTE_WRITES = [
    "import collections\nc = collections.Counter()\nc.x = 1\nreturn c.x",
    "import collections\nc = collections.OrderedDict()\nc.read = print\nreturn 'set'",
    "import collections\nd = collections.defaultdict(list)\nd.default_factory = dict\nreturn 'set'",
    "import collections\nc = collections.Counter()\nc.x = 1\ndel c.x\nreturn 'deleted'",
    "import collections\nc = collections.Counter()\nfor c.x in [1, 2]:\n    pass\nreturn c.x",
]
REPR_LEAKS = [
    "return repr(print)",
    "import json\nreturn repr(json.dumps)",
    "import random\nreturn repr(random.random)",
    "return str(range)",
    "import math\nreturn repr(math.prod)",
    "import itertools\nreturn repr(itertools.count)",
    "return f'{getattr}'",
    "return '{}'.format([print])",
    "return str({'f': sorted, 'g': print})",
    "return repr(asyncio.gather)",
    "return repr(asyncio.timeout(1))",
    "return [repr('a'.replace), repr(' '.join), str('{}'.format), repr(str.format)]",
    "return '%s' % (print,)",
]
REPR_MARKERS = ("0x", "codemode_core", "PlanRuntime", "<locals>", "bound method", "/", "object at")
"""None of these may appear in what a plan returns: addresses, our internals, host paths."""

FACADE = [
    "q = asyncio.Queue()\nreturn str(q.get().send(None))",
    "e = asyncio.Event()\nreturn str(e.wait().send(None))",
    "s = asyncio.Semaphore(1)\nreturn str(s.acquire().send(None))",
    "q = asyncio.Queue()\nreturn str(getattr(q, 'get')().send(None))",
    "e = asyncio.Event()\nreturn str(asyncio.wait_for(e.wait(), 1).send(None).get_loop())",
]

FAMILIES: dict[str, list[str]] = {
    "hand-driven-coroutines": HAND_DRIVEN_COROUTINES,
    "loop-and-callback-reach": LOOP_AND_CALLBACK_REACH,
    "global-registries": GLOBAL_REGISTRIES,
    "attribute-writes": ATTRIBUTE_WRITES,
    "repr-leaks": REPR_LEAKS,
    "facade": FACADE,
}
CASES = [(family, code) for family, codes in FAMILIES.items() for code in codes]
