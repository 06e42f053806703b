"""The house's import structure: no circle between files, and the rules of .importlinter.

Every import counts, wherever it sits: at the top of a module, inside a function, or under
``if TYPE_CHECKING:`` (grimp reads them all). A circle through a lazy import is still a circle.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("config", "contracts", "executors", "jobtemplates", "notifications", "runners", "workspaces")


def import_circles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The groups of modules that import each other round (strongly connected components of two or more
    modules), each sorted, largest first. Tarjan's algorithm, iterative (no recursion limit to meet)."""
    index_of: dict[str, int] = {}
    lowest: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []
    for start in sorted(graph.modules):
        if start in index_of:
            continue
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index_of[start] = lowest[start] = len(index_of)
        stack.append(start)
        on_stack.add(start)
        while work:
            module, imported = work[-1]
            for target in imported:
                if target not in index_of:
                    index_of[target] = lowest[target] = len(index_of)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph.find_modules_directly_imported_by(target)))))
                    break
                if target in on_stack:
                    lowest[module] = min(lowest[module], index_of[target])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    lowest[parent] = min(lowest[parent], lowest[module])
                if lowest[module] == index_of[module]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == module:
                            break
                    if len(component) > 1:
                        circles.append(sorted(component))
    return sorted(circles, key=lambda circle: (-len(circle), circle))


def _circle_report(graph: grimp.ImportGraph, circles: list[list[str]]) -> str:
    lines = []
    for circle in circles:
        members = set(circle)
        lines.append(" ↔ ".join(circle))
        for module in circle:
            for target in sorted(graph.find_modules_directly_imported_by(module) & members):
                lines.append(f"    {module} -> {target}")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def house_graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES, cache_dir=None)


def test_no_file_imports_itself_back(house_graph):
    circles = import_circles(house_graph)
    assert not circles, "import circles between files:\n" + _circle_report(house_graph, circles)


def test_the_circle_finder_finds_circles():
    graph = grimp.ImportGraph()
    for importer, imported in [("a.one", "a.two"), ("a.two", "a.three"), ("a.three", "a.one"), ("a.three", "a.four")]:
        graph.add_import(importer=importer, imported=imported)
    graph.add_import(importer="a.five", imported="a.five.inner")
    graph.add_import(importer="a.five.inner", imported="a.five")
    assert import_circles(graph) == [["a.one", "a.three", "a.two"], ["a.five", "a.five.inner"]]


def test_lazy_and_type_checking_imports_count(house_graph):
    # A function-level import (config.http_limits.server imports _daphne only inside a running daphne)
    # is an edge like any other, so a circle through one would be found.
    assert "config.http_limits._daphne" in house_graph.find_modules_directly_imported_by("config.http_limits.server")


def lint_imports(config: Path) -> subprocess.CompletedProcess:
    """import-linter on ``config``, in a fresh interpreter (the test process has imported what it may
    not be able to find afresh), from the checkout's root."""
    script = (
        "import sys; from importlinter.cli import lint_imports; "
        f"sys.exit(lint_imports(config_filename={str(config)!r}, no_cache=True))"
    )
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_import_contracts_hold():
    result = lint_imports(ROOT / ".importlinter")
    assert result.returncode == 0, result.stdout + result.stderr  # each broken contract with its import chains


def test_a_broken_contract_fails(tmp_path):
    # The same machinery on a rule the code breaks (jobtemplates imports contracts, not the reverse).
    config = tmp_path / "upside-down.ini"
    config.write_text(
        "[importlinter]\nroot_packages =\n    contracts\n    jobtemplates\n\n"
        "[importlinter:contract:upside-down]\nname = upside down\ntype = layers\n"
        "layers =\n    contracts\n    jobtemplates\n"
    )
    result = lint_imports(config)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "upside down BROKEN" in result.stdout
