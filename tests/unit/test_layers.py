"""Layers only look down: every import in trajpipe/ (also inside functions and under TYPE_CHECKING)
goes to the importer's own layer or a lower one, as docs/architecture.md lists them."""

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "trajpipe"

# Imports that look up in files other sessions own, each with its owner and the fix; strict: an entry
# fails once its import is gone, so that it is removed with it.
KNOWN_UPWARD: dict[str, str] = {}


def layers() -> list[list[str]]:
    """The numbered list of docs/architecture.md's "Layers" section: module prefixes per layer, lowest first."""
    text = (REPO / "docs" / "architecture.md").read_text()
    section = text.split("## Layers", 1)[1].split("\n## ", 1)[0]
    found = [re.findall(r"`(trajpipe(?:\.[\w.]+)?)`", line.split(":")[0])
             for line in section.splitlines() if re.match(r"\d+\. ", line)]
    assert found, "docs/architecture.md has no numbered list of layers"
    return found


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str, table: list[list[str]]) -> int | None:
    """The layer of the longest prefix of ``module`` in ``table``."""
    best = None
    for index, prefixes in enumerate(table):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > len(best[1]):
                    best = (index, prefix)
    return None if best is None else best[0]


def imported_modules(module: str, path: Path) -> set[str]:
    """The trajpipe modules (or packages) that ``module`` imports anywhere in its file."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.split(".")[0] == "trajpipe")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            if base.split(".")[0] != "trajpipe":
                continue
            for alias in node.names:
                out.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
    return out


def test_every_module_has_a_layer():
    table = layers()
    assert [m for m in MODULES if layer_of(m, table) is None] == []


@pytest.mark.parametrize("module", [
    pytest.param(m, marks=pytest.mark.xfail(reason=KNOWN_UPWARD[m], strict=True)) if m in KNOWN_UPWARD else m
    for m in MODULES])
def test_imports_only_look_down(module):
    table = layers()
    own = layer_of(module, table)
    upward = sorted(f"{target} (layer {layer_of(target, table) + 1})" for target in imported_modules(module, MODULES[module])
                    if layer_of(target, table) is not None and layer_of(target, table) > own)
    assert upward == [], f"{module} (layer {own + 1}) imports from a higher layer"


def test_no_import_cycles():
    """Within a layer too, imports form no cycle (a module's import of its own package's face does not count)."""
    edges = {m: {t for t in imported_modules(m, p) if t in MODULES and t != m and not m.startswith(t + ".")}
             for m, p in MODULES.items()}
    done, on_path = set(), []

    def visit(module):
        if module in on_path:
            raise AssertionError("import cycle: " + " -> ".join(on_path[on_path.index(module):] + [module]))
        if module in done:
            return
        on_path.append(module)
        for target in sorted(edges[module]):
            visit(target)
        on_path.pop()
        done.add(module)

    for module in sorted(edges):
        visit(module)


def test_core_needs_numpy_only():
    """trajpipe.core is what every stage shares: numpy and the standard library, no OpenCV or torch."""
    import sys

    third_party = set()
    for module, path in MODULES.items():
        if module == "trajpipe.core" or module.startswith("trajpipe.core."):
            for node in ast.walk(ast.parse(path.read_text())):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module] if isinstance(node, ast.ImportFrom) and not node.level else []
                third_party.update(n.split(".")[0] for n in names)
    assert third_party - set(sys.stdlib_module_names) - {"__future__", "trajpipe"} == {"numpy"}
