"""The package's layering (DESIGN.md): ``shapes`` is the ground floor and imports no op, and no
two modules import each other, directly or through others."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "cnnbook"
OPS = {"cnnbook.conv", "cnnbook.transposed", "cnnbook.pooling", "cnnbook.interpolate"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Every cnnbook module and the cnnbook modules it imports (at any level of its body)."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # "from cnnbook import data" imports the module cnnbook.data; "from
                # cnnbook.conv import conv2d" imports cnnbook.conv.
                submodules = [f"{node.module}.{a.name}" for a in node.names]
                targets = [t for t in submodules if t in modules] or [node.module]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            imported |= {t for t in targets if t in modules and t != name}
        graph[name] = imported
    return graph


def test_shapes_imports_no_op() -> None:
    graph = import_graph()
    reachable, todo = set(), ["cnnbook.shapes"]
    while todo:
        for target in graph[todo.pop()] - reachable:
            reachable.add(target)
            todo.append(target)
    assert not reachable & OPS, f"cnnbook.shapes reaches {sorted(reachable & OPS)}"


def test_the_import_graph_has_no_cycle() -> None:
    graph = import_graph()
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph[module]):
            assert state.get(target) != "open", "import cycle: " + " -> ".join(path + [target])
            if target not in state:
                visit(target, path + [target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert len(graph) > 20  # the walk saw the whole package
