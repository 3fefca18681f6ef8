"""The design holds: the chat uses memory, memory knows the chat only by its models, no cycles."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("accounts", "api", "chat", "config", "memories")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _project_modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts
    }


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules `path` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {name for name in names if name in modules}
    return found


def import_graph() -> dict[str, set[str]]:
    modules = _project_modules()
    return {name: _imports(path, modules) - {name} for name, path in modules.items()}


def test_memory_imports_nothing_of_the_chat_but_its_models():
    offending = {
        (module, imported)
        for module, imports in import_graph().items()
        if module.startswith("memories")
        for imported in imports
        if imported.startswith("chat") and imported != "chat.models"
    }

    assert offending == set()


def test_no_module_imports_one_that_imports_it_back():
    graph = {
        module: {imported for imported in imports if not _is_package(imported)}
        for module, imports in import_graph().items()
    }
    cycles = []

    def visit(module: str, path: list[str]) -> None:
        for imported in graph.get(module, ()):
            if imported in path:
                cycles.append([*path[path.index(imported) :], imported])
            elif imported not in seen:
                seen.add(imported)
                visit(imported, [*path, imported])

    for start in graph:
        seen = {start}
        visit(start, [start])

    assert cycles == []


def _is_package(name: str) -> bool:
    # `from memories import services` names the package too, which holds no code of its own.
    return (ROOT / name.replace(".", "/") / "__init__.py").exists()
