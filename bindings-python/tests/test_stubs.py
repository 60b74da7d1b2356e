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
    for cls_name in ("Producer", "Message", "_AdminClient", "Consumer", "TopologyBuilderNative", "KafkaStreamsNative", "DeadLetterQueue"):
        cls = getattr(_native, cls_name)
        for name, _ in inspect.getmembers(cls, callable):
            if not name.startswith("__"):
                assert (cls_name, name) in stubbed, "%s.%s has no stub" % (cls_name, name)


PY_STUBBED = [
    "polykafka.serialization",
    "polykafka.schema_registry",
    "polykafka.schema_registry.schema_registry_client",
    "polykafka.schema_registry.avro",
    "polykafka.schema_registry.json_schema",
    "polykafka.schema_registry.protobuf",
    "polykafka.schema_registry.error",
    "polykafka.error",
    "polykafka.serializing_producer",
    "polykafka.deserializing_consumer",
]


def test_python_module_stubs_match_the_modules():
    """Each stubbed pure-Python module: every public class and function has a stub, and the
    stub's parameters are the real ones (functions, and methods defined in the class)."""
    import importlib

    checked = 0
    for name in PY_STUBBED:
        mod = importlib.import_module(name)
        path = pathlib.Path(mod.__file__).with_suffix(".pyi")
        assert path.exists(), "%s has no stub" % name
        tree = ast.parse(path.read_text())
        stub_funcs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
        stub_classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
        imported = {a.asname or a.name for n in tree.body if isinstance(n, ast.ImportFrom) for a in n.names}
        public = getattr(mod, "__all__", None) or [n for n in vars(mod) if not n.startswith("_")]
        for attr in public:
            obj = getattr(mod, attr)
            if getattr(obj, "__module__", name) != name:
                assert attr in imported or attr in stub_classes or attr in stub_funcs, "%s.%s is not in the stub" % (name, attr)
                continue
            if inspect.isclass(obj):
                assert attr in stub_classes, "%s.%s has no stub" % (name, attr)
                if issubclass(obj, BaseException) or hasattr(obj, "__members__"):
                    pass
                for fn in [n for n in stub_classes[attr].body if isinstance(n, ast.FunctionDef)]:
                    if fn.name not in vars(obj):
                        continue
                    member = vars(obj)[fn.name]
                    if isinstance(member, property):
                        continue
                    assert params(fn) == runtime_params(member), "%s.%s.%s: stub %s, module %s" % (
                        name, attr, fn.name, params(fn), runtime_params(member))
                    checked += 1
                for meth, member in vars(obj).items():
                    if inspect.isfunction(member) and not meth.startswith("_"):
                        assert any(isinstance(n, ast.FunctionDef) and n.name == meth for n in stub_classes[attr].body), \
                            "%s.%s.%s has no stub" % (name, attr, meth)
            elif inspect.isfunction(obj):
                assert attr in stub_funcs, "%s.%s has no stub" % (name, attr)
                assert params(stub_funcs[attr]) == runtime_params(obj), "%s.%s" % (name, attr)
                checked += 1
    assert checked > 40, checked
