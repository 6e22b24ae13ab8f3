"""The shape of the code, as a reviewer asks for it: lines per module, the import layers of
`lucs_harness` (a module's layer is one above the highest of the modules it imports; a cycle is
named), the longest functions, and the largest classes. Run it on any checkout to compare two:

    python scripts/code_figures.py [ROOT] [--top N]

It reads the source with `ast` and imports nothing: an old checkout need not be installed.
"""

from __future__ import annotations

import argparse
import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = "lucs_harness"


def modules(root: Path) -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its `__init__`)."""
    found = {}
    for path in sorted((root / PACKAGE).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imported(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules the module imports at run time (not under `if TYPE_CHECKING`)."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        found |= {target for target in targets if target in known and target != name}
    return found


def _runtime_nodes(tree: ast.Module) -> Iterator[ast.AST]:
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = []
        yield node


def layers(graph: dict[str, set[str]]) -> tuple[dict[str, int], list[str]]:
    """Each module's layer (0: imports none of the package), and the modules on an import cycle."""
    layer: dict[str, int] = {}
    on_cycle: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> int:
        if name in layer:
            return layer[name]
        if name in path:
            on_cycle.append(name)
            return 0
        below = [visit(other, (*path, name)) for other in graph[name]]
        layer[name] = 1 + max(below) if below else 0
        return layer[name]

    for name in graph:
        visit(name, ())
    return layer, sorted(set(on_cycle))


def functions(root: Path, files: list[Path]) -> list[tuple[int, str]]:
    """(lines, qualified name) of every function and method."""
    found = []
    for path in files:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno is not None:
                found.append((node.end_lineno - node.lineno + 1, f"{path.relative_to(root)}:{node.lineno} {node.name}"))
    return sorted(found, reverse=True)


def classes(root: Path, files: list[Path]) -> list[tuple[int, int, str]]:
    """(lines, methods, name) of every class."""
    found = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and node.end_lineno is not None:
                methods = sum(isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) for item in node.body)
                found.append((node.end_lineno - node.lineno + 1, methods, f"{path.relative_to(root)} {node.name}"))
    return sorted(found, reverse=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", nargs="?", default=".", type=Path)
    parser.add_argument("--top", type=int, default=8)
    args = parser.parse_args()
    root: Path = args.root.resolve()
    found = modules(root)
    graph = {name: imported(name, path, set(found)) for name, path in found.items()}
    layer, cycle = layers(graph)
    sizes = sorted(((len(path.read_text().splitlines()), name) for name, path in found.items()), reverse=True)
    code = [*found.values(), *sorted((root / "steps").glob("*.py"))]
    print(
        f"{PACKAGE}: {len(found)} modules, {sum(s for s, _ in sizes)} lines, steps/: "
        f"{sum(len(p.read_text().splitlines()) for p in (root / 'steps').glob('*.py'))} lines"
    )
    print(f"import layers: {max(layer.values()) + 1}; on a cycle: {', '.join(cycle) or 'none'}")
    print(
        f"modules over 300 lines: {sum(s > 300 for s, _ in sizes)}; largest: "
        + ", ".join(f"{name} {lines}" for lines, name in sizes[: args.top])
    )
    longest = functions(root, code)
    print(
        f"functions over 50 lines: {sum(n > 50 for n, _ in longest)}; longest: "
        + ", ".join(f"{where} {n}" for n, where in longest[: args.top])
    )
    print(
        "largest classes: "
        + ", ".join(f"{where} {n} lines/{m} methods" for n, m, where in classes(root, code)[: args.top])
    )


if __name__ == "__main__":
    main()
