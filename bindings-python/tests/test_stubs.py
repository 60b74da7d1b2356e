"""The type stubs name the parameters the native module really has."""

import ast
import inspect
import pathlib

import polykafka
from polykafka import _native

STUB = pathlib.Path(polykafka.__file__).with_name("_native.pyi")


def stub_methods():
    tree = ast.parse(STUB.read_text())
    for cls in [n for n in tree.body if isinstance(n, ast.ClassDef)]:
        for fn in [n for n in cls.body if isinstance(n, ast.FunctionDef)]:
            yield cls.name, fn


def params(fn):
    a = fn.args
    names = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs]
    if a.vararg:
        names.append("*" + a.vararg.arg)
    if a.kwarg:
        names.append("**" + a.kwarg.arg)
    return [n for n in names if n != "self"]


def runtime_params(obj):
    out = []
    for p in inspect.signature(obj).parameters.values():
        if p.name in ("self", "$self", "cls", "$cls"):
            continue
        prefix = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "")
        out.append(prefix + p.name)
    return out


def test_stubs_match_the_native_module():
    checked = 0
    for cls_name, fn in stub_methods():
        cls = getattr(_native, cls_name)
        if cls_name == "ConsumerGroupMetadata":
            continue
        if fn.name == "__init__":
            real = runtime_params(cls)
        elif fn.name.startswith("__") and fn.name not in ("__exit__",):
            assert hasattr(cls, fn.name), (cls_name, fn.name)
            continue
        else:
            real = runtime_params(getattr(cls, fn.name))
        assert params(fn) == real, "%s.%s: stub %s, module %s" % (cls_name, fn.name, params(fn), real)
        checked += 1
    assert checked > 40


def test_every_public_native_method_has_a_stub():
    stubbed = {(c, f.name) for c, f in stub_methods()}
    for cls_name in ("Producer", "Message", "_AdminClient", "Consumer", "TopologyBuilderNative", "KafkaStreamsNative"):
        cls = getattr(_native, cls_name)
        for name, _ in inspect.getmembers(cls, callable):
            if not name.startswith("__"):
                assert (cls_name, name) in stubbed, "%s.%s has no stub" % (cls_name, name)
