"""The public API's manual is its docstrings, in one style (Google's: ``Args:``, ``Returns:``, shapes and
units in the text): every public name of ``trajpipe.__all__``, ``trajpipe.draw``, ``trajpipe.forecast``
and the modules of ``trajpipe.io`` has one; every public function or method that takes arguments has
an ``Args:`` section, and one that returns something a ``Returns:`` (or ``Yields:``) section."""

import dataclasses
import importlib
import inspect
import pkgutil

import pytest

import trajpipe
import trajpipe.io

# Names (by prefix) in files other sessions own, with their owner, for the lead to document at the merge.
# io/mcap.py is being split (its names move), so its entry is not strict: remove it once they are documented.
KNOWN_UNDOCUMENTED = {
    "trajpipe.io.mcap": "ROS 2 helper (io/mcap.py, being split)",
}
STRICT: set[str] = set()


def public_names():
    """(qualified name, object) of every public name the API offers."""
    for name in trajpipe.__all__:
        yield f"trajpipe.{name}", getattr(trajpipe, name)
    for package in ("trajpipe.draw", "trajpipe.forecast"):
        module = importlib.import_module(package)
        for name in module.__all__:
            yield f"{package}.{name}", getattr(module, name)
    for info in pkgutil.iter_modules(trajpipe.io.__path__):
        module = importlib.import_module(f"trajpipe.io.{info.name}")
        for name, value in vars(module).items():
            if not name.startswith("_") and (inspect.isclass(value) or inspect.isfunction(value)) \
                    and value.__module__ == module.__name__:
                yield f"{module.__name__}.{name}", value


def members(qualname: str, obj):
    """The object and, for a class, the public methods and properties it defines itself."""
    yield qualname, obj
    if inspect.isclass(obj):
        for name, value in vars(obj).items():
            # a dataclass's generated __init__ takes its fields: test_dataclass_fields_are_described
            if name.startswith("_") and (name != "__init__" or dataclasses.is_dataclass(obj)):
                continue
            if isinstance(value, (staticmethod, classmethod)):
                value = value.__func__
            if isinstance(value, property) or (inspect.isfunction(value) and value.__module__.startswith("trajpipe")):
                yield f"{qualname}.{name}", value  # (typing.Protocol's own __init__ is not ours)


def problems(qualname: str, obj) -> list[str]:
    """What the docstring of ``obj`` lacks."""
    if isinstance(obj, property):
        return [] if obj.__doc__ else [f"{qualname}: no docstring"]
    if inspect.isclass(obj):
        return [] if obj.__dict__.get("__doc__") else [f"{qualname}: no docstring"]
    if qualname.endswith(".__init__"):  # Google style: the constructor's arguments are the class's
        owner = obj.__qualname__.rsplit(".", 1)[0]
        doc = (obj.__doc__ or "") + (obj.__globals__[owner].__doc__ or "")
        takes = [p for p in inspect.signature(obj).parameters if p != "self"]
        return [f"{qualname}: no Args section"] if takes and "Args:" not in doc else []
    doc = obj.__doc__ or ""
    if not doc:
        return [f"{qualname}: no docstring"]
    signature = inspect.signature(obj)
    out = []
    if [p for p in signature.parameters if p not in ("self", "cls")] and "Args:" not in doc:
        out.append(f"{qualname}: no Args section")
    returns = signature.return_annotation
    if returns not in (inspect.Signature.empty, None, "None") and "Returns:" not in doc and "Yields:" not in doc:
        out.append(f"{qualname}: no Returns section")
    return out


def cases():
    seen = set()
    for qualname, obj in public_names():
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        prefix = next((p for p in KNOWN_UNDOCUMENTED if qualname.startswith(p)), None)
        marks = [pytest.mark.xfail(reason=f"owned by the {KNOWN_UNDOCUMENTED[prefix]}", strict=prefix in STRICT)] if prefix else []
        yield pytest.param(qualname, obj, id=qualname, marks=marks)


@pytest.mark.parametrize(("qualname", "obj"), list(cases()))
def test_public_name_is_documented(qualname, obj):
    missing = [p for name, member in members(qualname, obj) for p in problems(name, member)]
    assert missing == []


# Config's keys are described by the comment beside each field, as configs/default.yaml shows them.
DESCRIBED_ELSEWHERE = {trajpipe.Config}


def test_dataclass_fields_are_described():
    """Every public dataclass says what each field holds (shapes, units) in an Attributes section."""
    from trajpipe.core.results import ModeSet

    classes = {obj for _, obj in public_names() if inspect.isclass(obj) and dataclasses.is_dataclass(obj)}
    for cls in sorted((classes | {ModeSet}) - DESCRIBED_ELSEWHERE, key=lambda c: c.__name__):
        doc = cls.__doc__ or ""
        assert "Attributes:" in doc, cls.__name__
        missing = [f.name for f in dataclasses.fields(cls) if f"{f.name}:" not in doc and f"{f.name} (" not in doc]
        assert missing == [], f"{cls.__name__}: {missing}"


def test_examples_run():
    """The ``>>>`` examples of the documented modules run as written (those marked +SKIP need a video)."""
    import doctest
    import sys

    modules = sorted({obj.__module__ for _, obj in public_names() if not obj.__module__.startswith("trajpipe.io.mcap")}
                     | {"trajpipe.resources", "trajpipe.core.interp"})
    failed, attempted = [], 0
    for name in modules:
        result = doctest.testmod(sys.modules[name] if name in sys.modules else importlib.import_module(name),
                                 optionflags=doctest.ELLIPSIS, verbose=False, report=False)
        attempted += result.attempted
        if result.failed:
            failed.append(name)
    assert failed == [] and attempted > 0
