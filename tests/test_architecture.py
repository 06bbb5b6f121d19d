"""The shape of the code: no import cycle between the parts of bot/, and no module over 400 lines without a reason.

Imports are read with `ast` (nothing is imported), including those inside functions: a deferred import is still a
dependency. A part is a package directly under bot/ (bot.gateway, bot.trainer, ...) or a module there (bot.db).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 400
REASON = "over 400 lines because"
# The parts that must stay layered; every part of bot/ is checked, these must exist.
PACKAGES = ("bot.gateway", "bot.trainer", "bot.refunds", "bot.evidence", "bot.channel", "bot.nlu", "bot.transcript")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> set[str]:
    """Absolute names of the modules `path` imports (relative imports resolved)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            # `from bot.gateway import chat` imports the module bot.gateway.chat
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def part_of(module: str) -> str | None:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "bot" and len(parts) > 1 else None


def part_graph() -> dict[str, dict[str, list[str]]]:
    """part -> {imported part: [the modules whose imports make the edge]}."""
    parts = {module_name(p) for p in (ROOT / "bot").glob("*.py")} | {
        module_name(p.parent) for p in (ROOT / "bot").glob("*/__init__.py")}
    graph: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in sorted((ROOT / "bot").rglob("*.py")):
        source = part_of(module_name(path))
        for module in imported(path):
            target = part_of(module)
            if source and target in parts and target != source:
                graph[source][target].append(f"{module_name(path)} -> {module}")
    return graph


def cycles(graph: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    """The strongly connected components with more than one part (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in graph.get(node, {}):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_parts_of_bot_import_each_other_in_one_direction_only() -> None:
    graph = part_graph()
    for package in PACKAGES:
        assert (ROOT / package.replace(".", "/") / "__init__.py").is_file(), f"{package} is gone: update PACKAGES"
    problems = []
    for component in cycles(graph):
        edges = [f"  {edge}" for a in component for b in component if b in graph[a] for edge in graph[a][b]]
        problems.append(f"import cycle between {', '.join(component)}:\n" + "\n".join(edges))
    assert not problems, "\n".join(problems)


def test_the_trainer_does_not_know_the_gateway() -> None:
    """The gateway calls the trainer (inbox, labelling, retrain), never the other way."""
    assert "bot.gateway" not in part_graph()["bot.trainer"]


def test_no_module_is_over_400_lines_without_saying_why() -> None:
    too_long = []
    for path in sorted([*(ROOT / "bot").rglob("*.py"), *(ROOT / "actions").rglob("*.py")]):
        text = path.read_text(encoding="utf-8")
        lines = len(text.splitlines())
        if lines > MAX_LINES and REASON not in (ast.get_docstring(ast.parse(text)) or ""):
            too_long.append(f"{path.relative_to(ROOT)}: {lines} lines")
    assert not too_long, f"split these, or write in their docstring why they are {REASON} ...: {too_long}"


def test_the_checks_see_imports_and_cycles() -> None:
    """The reader and the cycle finder themselves, on the project and on a made-up graph."""
    assert "bot.trainer.inbox" in imported(ROOT / "bot" / "gateway" / "chat.py")
    assert cycles({"a": {"b": []}, "b": {"c": []}, "c": {"a": []}, "d": {"a": []}}) == [["a", "b", "c"]]
