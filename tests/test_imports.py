"""The import graph of the repository's packages: no cycle, layers that flow one way.

Every ``.py`` file under ``nbkm/``, ``experiments/``, ``benchmarks/`` and ``tools/``
is parsed (never imported) with :mod:`ast`. Every ``import`` statement counts,
at module level and inside functions alike: an import deferred into a function
still ties the two modules together, it only hides the cycle until that function
runs. Each import is resolved to the most specific module of these packages it
names:

- ``import a.b.c`` -> ``a.b.c`` (the packages ``a`` and ``a.b`` it also
  initialises are left out: every submodule would otherwise form a cycle with
  the ``__init__`` that imports it);
- ``from a.b import c`` -> ``a.b.c`` when that is a module, else ``a.b``;
- relative imports likewise, from the importing module's package.

Imports of other packages (numpy, sklearn, ...) and dynamic ones
(``importlib.import_module``) are not edges.
"""

import ast
import functools
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("nbkm", "experiments", "benchmarks", "tools")


def _module_name(path, root):
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@functools.cache
def _modules(root=REPO_ROOT):
    """``{module name: path}`` of every ``.py`` file of :data:`PACKAGES` in ``root``."""
    found = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            found[_module_name(path, root)] = path
    return found


def _resolve(name, modules):
    """The longest prefix of the dotted ``name`` that is one of ``modules``."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return None


def _imports(module, path, modules):
    """Yield ``(imported module, line)`` for every import of ``modules`` in a file."""
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = _resolve(alias.name, modules)
                if target is not None:
                    yield target, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                # The package a relative import starts from: the module's own
                # package (itself, for an __init__), then one up per extra dot.
                package = module.split(".")
                if not is_package:
                    package = package[:-1]
                package = package[: len(package) - (node.level - 1)]
                base = ".".join(package + ([node.module] if node.module else []))
            else:
                base = node.module
            for alias in node.names:
                target = _resolve(f"{base}.{alias.name}", modules)
                if target is not None:
                    yield target, node.lineno


@functools.cache
def _graph(root=REPO_ROOT):
    """``{module: {imported module: first line}}`` over :data:`PACKAGES`."""
    modules = _modules(root)
    graph = {}
    for module, path in modules.items():
        edges = graph.setdefault(module, {})
        for target, line in _imports(module, path, modules):
            if target != module:
                edges.setdefault(target, line)
    return graph


def _components(graph):
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(components)


def _cycles(graph):
    """One cycle ``[m0, m1, ..., m0]`` per strongly connected component."""
    return [_a_cycle_in(graph, component) for component in _components(graph)]


def _a_cycle_in(graph, component):
    """The shortest cycle through the component's first module (breadth first)."""
    start = component[0]
    previous = {start: None}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for target in sorted(graph[node]):
            if target == start:
                path = [node]
                while previous[path[-1]] is not None:
                    path.append(previous[path[-1]])
                return [*reversed(path), start]
            if target in component and target not in previous:
                previous[target] = node
                queue.append(target)
    raise AssertionError(f"no cycle through {start}")  # pragma: no cover


def _report(graph, root=REPO_ROOT):
    """Each component: a cycle, then every import between its modules (file:line)."""
    lines = []
    for component in _components(graph):
        lines.append(" -> ".join(_a_cycle_in(graph, component)))
        lines += [
            f"    {source} -> {target} "
            f"({_modules(root)[source].relative_to(root)}:{graph[source][target]})"
            for source in component
            for target in sorted(graph[source])
            if target in component
        ]
    return "\n".join(lines)


def _within(graph, prefixes):
    """The subgraph of the modules named ``prefix`` or ``prefix.*``."""

    def inside(name):
        return any(name == p or name.startswith(p + ".") for p in prefixes)

    return {
        module: {t: line for t, line in edges.items() if inside(t)}
        for module, edges in graph.items()
        if inside(module)
    }


def test_the_graph_sees_every_package_and_its_imports():
    graph = _graph()
    for package in PACKAGES:
        assert any(m.startswith(package + ".") for m in graph), package
    # A module-level, a relative and a function-level import, each resolved.
    assert "nbkm._kmeans" in graph["nbkm"]  # from nbkm._kmeans import KMeans
    assert "benchmarks.workloads" in graph["benchmarks.common"]
    assert "nbkm" in graph["benchmarks.dask_cluster"]  # inside make_runner


def test_relative_and_nested_imports_are_resolved(tmp_path):
    files = {
        "nbkm/__init__.py": "from ._a import f\n",
        "nbkm/_a.py": "def f():\n    from . import _b\n",
        "nbkm/_b.py": "from .sub import _c\nfrom .sub._c import g\n",
        "nbkm/sub/__init__.py": "from .. import _a\n",
        "nbkm/sub/_c.py": "import nbkm.sub\nfrom ..sub import _c\nimport numpy\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    graph = _graph(tmp_path)
    assert graph == {
        "nbkm": {"nbkm._a": 1},
        "nbkm._a": {"nbkm._b": 2},
        "nbkm._b": {"nbkm.sub._c": 1},
        "nbkm.sub": {"nbkm._a": 1},
        "nbkm.sub._c": {"nbkm.sub": 1},
    }
    assert _cycles(graph) == [
        ["nbkm._a", "nbkm._b", "nbkm.sub._c", "nbkm.sub", "nbkm._a"]
    ]
    assert "    nbkm._a -> nbkm._b (nbkm/_a.py:2)" in _report(graph, tmp_path)


def test_cycles_are_found():
    graph = {"a": {"b": 1}, "b": {"c": 2, "a": 5}, "c": {"a": 3, "d": 4}, "d": {}}
    assert _components(graph) == [["a", "b", "c"]]
    assert _cycles(graph) == [["a", "b", "a"]]
    assert _cycles({"a": {"b": 1}, "b": {}, "c": {"c": 1}}) == []


def test_no_import_cycle_in_the_library():
    graph = _within(_graph(), ["nbkm"])
    assert not _components(graph), "import cycles in nbkm:\n" + _report(graph)


@pytest.mark.harness
def test_no_import_cycle():
    """Across nbkm, the experiments harness, the asv suite and the tools."""
    graph = _graph()
    assert not _components(graph), "import cycles:\n" + _report(graph)


def test_the_library_imports_nothing_of_the_harness():
    """nbkm never imports the experiments, the benchmarks or the tools."""
    wrong = {
        (module, target): line
        for module, edges in _within(_graph(), ["nbkm"]).items()
        for target, line in _graph()[module].items()
        if not (target == "nbkm" or target.startswith("nbkm."))
    }
    assert not wrong, wrong


def test_kernels_import_only_kernels():
    """``nbkm/_kernels/`` is the bottom layer: nothing of nbkm outside it."""
    kernels = ["nbkm._kernels"]
    graph = _graph()
    wrong = {
        (module, target): line
        for module in _within(graph, kernels)
        for target, line in graph[module].items()
        if target not in _within(graph, kernels)
    }
    assert not wrong, "nbkm._kernels imports from outside it: " + ", ".join(
        f"{m} -> {t} (line {line})" for (m, t), line in sorted(wrong.items())
    )
