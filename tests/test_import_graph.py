"""The package's import graph, read from the source: no circle anywhere (imports inside
functions count too: they run sooner or later; imports only for type checkers do not),
and the command line sits on top: nothing below imports `cli/`, and `cli/` reaches the
TUI only through its factory."""

from __future__ import annotations

import ast
from pathlib import Path

from workbench.project.cycles import cyclic_components

PACKAGE = Path(__file__).resolve().parent.parent / "workbench"


def _modules() -> dict[str, Path]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            found.update(id(n) for n in ast.walk(node))
    return found


def import_graph() -> dict[str, set[str]]:
    """module → the package's modules it imports at run time."""
    modules = _modules()

    def known(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = _type_checking_nodes(tree)
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            else:
                continue
            for target in targets:
                module = known(target) if target.startswith("workbench") else None
                if module is not None and module != name:
                    graph[name].add(module)
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module: the finder `validate`
    uses for flow cycles (a module never imports itself here, so no one-module cycles)."""
    return [sorted(c) for c in cyclic_components(sorted(graph), lambda n: sorted(graph[n]))]


def test_the_finder_finds_a_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(graph) == [["a", "b", "c"]]


def test_no_import_circle_in_the_package():
    assert circles(import_graph()) == []


def test_nothing_below_the_command_line_imports_it():
    graph = import_graph()
    offenders = {
        name: sorted(t for t in targets if t.startswith("workbench.cli"))
        for name, targets in graph.items()
        if not name.startswith("workbench.cli") and name != "workbench.__main__"
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_the_command_line_reaches_the_tui_only_through_its_factory():
    graph = import_graph()
    reached = {
        target
        for name, targets in graph.items()
        if name.startswith("workbench.cli")
        for target in targets
        if target.startswith("workbench.tui")
    }
    assert reached == {"workbench.tui.app"}


def test_verbs_do_not_import_the_dispatcher():
    graph = import_graph()
    assert [
        name
        for name, targets in graph.items()
        if name.startswith("workbench.cli.") and "workbench.cli.main" in targets
    ] == []
