"""Reading a route's code with `ast`: the functions it calls, the refusals they raise, the roles it accepts.

Names are resolved through the function's module globals, its closure and its own local imports; only our own
functions (modules under bot.) are followed, MAX_DEPTH calls deep.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import textwrap
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, cast

from fastapi.routing import APIRoute

MAX_DEPTH = 8  # how deep the code path of a route is read for refusals and response shapes


@dataclass
class Code:
    """One function's AST with the names it can see (its module's globals and its own local imports)."""

    fn: Callable[..., Any]
    node: ast.FunctionDef | ast.AsyncFunctionDef
    names: dict[str, Any]

    @property
    def qualname(self) -> str:
        return f"{self.fn.__module__}.{self.fn.__qualname__}"


_CODE_CACHE: dict[Any, Code | None] = {}


def clear_cache() -> None:
    _CODE_CACHE.clear()


def ours(obj: Any) -> bool:
    return (inspect.isfunction(obj) or inspect.ismethod(obj)) and (obj.__module__ or "").startswith("bot.")


def code_of(fn: Any) -> Code | None:
    fn = inspect.unwrap(getattr(fn, "__func__", fn))
    if fn in _CODE_CACHE:
        return _CODE_CACHE[fn]
    code = None
    if ours(fn):
        try:
            source = textwrap.dedent(inspect.getsource(fn))
            node = ast.parse(source).body[0]
        except (OSError, TypeError, SyntaxError, IndexError):
            node = None
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names = dict(fn.__globals__)
            if fn.__closure__:
                names.update(zip(fn.__code__.co_freevars, (c.cell_contents for c in fn.__closure__), strict=True))
            names.update(_local_imports(node))
            code = Code(fn, node, names)
    _CODE_CACHE[fn] = code
    return code


def _local_imports(node: ast.AST) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for stmt in ast.walk(node):
        if isinstance(stmt, ast.ImportFrom) and stmt.module and stmt.level == 0:
            try:
                module = importlib.import_module(stmt.module)
            except ImportError:
                continue
            for alias in stmt.names:
                if hasattr(module, alias.name):
                    found[alias.asname or alias.name] = getattr(module, alias.name)
    return found


def resolve(expr: ast.expr, names: dict[str, Any]) -> Any:
    """The object a name or dotted name stands for, through modules and classes only; None if unknown."""
    if isinstance(expr, ast.Name):
        return names.get(expr.id)
    if isinstance(expr, ast.Attribute):
        owner = resolve(expr.value, names)
        if isinstance(owner, types.ModuleType) or inspect.isclass(owner):
            return getattr(owner, expr.attr, None)
    return None


def own_nodes(node: ast.AST, names: dict[str, Any] | None = None) -> Iterator[ast.AST]:
    """Every node of a function body, nested functions and lambdas included (they run on its path).

    Given the function's names, the body of a `try` whose handler catches the refusal and does not raise again
    is left out: what it raises never reaches the client (`except GatewayError: return []`).
    """
    todo = [node]
    while todo:
        n = todo.pop(0)
        yield n
        if names is not None and isinstance(n, ast.Try) and any(_swallows(h, names) for h in n.handlers):
            todo.extend(x for x in ast.iter_child_nodes(n) if x not in n.body)
        else:
            todo.extend(ast.iter_child_nodes(n))


def _swallows(handler: ast.ExceptHandler, names: dict[str, Any]) -> bool:
    caught = resolve(handler.type, names) if handler.type is not None else None
    if not inspect.isclass(caught) or caught.__name__ not in ("GatewayError", "ServiceError"):
        return False
    return not any(isinstance(x, ast.Raise) for x in ast.walk(handler))


def returns_of(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.expr]:
    """The function's own return values (not those of functions defined inside it)."""
    out: list[ast.expr] = []

    def visit(n: ast.AST) -> None:
        for child in ast.iter_child_nodes(n):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
                continue
            if isinstance(child, ast.Return) and child.value is not None:
                out.append(child.value)
            visit(child)

    visit(node)
    return out


def const_str(expr: ast.expr | None, env: dict[str, str]) -> str | None:
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return expr.value
    if isinstance(expr, ast.Name):
        return env.get(expr.id)
    return None


def bind_constants(code: Code, call: ast.Call, env: dict[str, str]) -> dict[str, str]:
    """The string constants a call passes, by the callee's parameter names (for codes passed down)."""
    args = code.node.args
    params = [a.arg for a in args.posonlyargs + args.args]
    if params and params[0] in ("self", "cls"):
        params = params[1:]
    bound: dict[str, str] = {}
    for name, arg in zip(params, call.args, strict=False):
        value = const_str(arg, env)
        if value is not None:
            bound[name] = value
    for kw in call.keywords:
        value = const_str(kw.value, env)
        if kw.arg and value is not None:
            bound[kw.arg] = value
    return bound


def callees(code: Code, swallowing: bool = False) -> Iterator[tuple[Any, ast.Call | None]]:
    """Our functions this one calls or hands to someone who calls them (`gw.db.run(fn, ...)`); with `swallowing`,
    not those called where the function catches and drops their refusals."""
    seen: set[int] = set()
    for n in own_nodes(code.node, code.names if swallowing else None):
        if isinstance(n, ast.Call):
            target = resolve(n.func, code.names)
            if ours(target) and id(n) not in seen:
                seen.add(id(n))
                yield target, n
            for arg in n.args:
                passed = resolve(arg, code.names)
                if ours(passed):
                    yield passed, None


def doc_of(fn: Any) -> str:
    doc = inspect.getdoc(fn) or ""
    return " ".join(doc.split("\n\n")[0].split())


# ---------------------------------------------------------------------------------------------------------------
# Refusals on a route's code path


@dataclass(frozen=True, order=True)
class Refusal:
    status: int
    code: str = ""


def _error_classes() -> dict[str, Any]:
    from bot.gateway.errors import GatewayError
    from bot.refunds.errors import ServiceError

    return {"gateway": GatewayError, "service": ServiceError}


def photo_rejections() -> tuple[Any, dict[str, tuple[int, str, str]]]:
    from bot.evidence import service as evidence

    rejected = getattr(evidence, "PhotoRejected", None)
    table = getattr(evidence, "REJECTIONS", None) or getattr(importlib.import_module("bot.evidence.messages"),
                                                              "REJECTIONS", {})
    return rejected, table


def refusals_of(fn: Any, env: dict[str, str] | None = None, depth: int = 0,
                stack: tuple[Any, ...] = ()) -> set[Refusal]:
    """The HTTP refusals `fn` (and what it calls, MAX_DEPTH deep) can raise, with their codes when constant."""
    code = code_of(fn)
    if code is None or depth > MAX_DEPTH or code.fn in stack:
        return set()
    env = env or {}
    errors = _error_classes()
    photo_rejected, rejections = photo_rejections()
    found: set[Refusal] = set()
    for n in own_nodes(code.node, code.names):
        if not isinstance(n, ast.Call):
            continue
        target = resolve(n.func, code.names)
        if inspect.isclass(target) and issubclass(target, errors["gateway"]):
            status = n.args[0] if n.args else None
            if isinstance(status, ast.Constant) and isinstance(status.value, int):
                found.add(Refusal(status.value, const_str(n.args[1] if len(n.args) > 1 else None, env) or ""))
        elif inspect.isclass(target) and issubclass(target, errors["service"]) and target is not errors["service"]:
            found.add(Refusal(int(cast(Any, target).status), const_str(n.args[0] if n.args else None, env) or ""))
        elif inspect.isclass(target) and target.__name__ == "InboxError" and n.args:
            status = n.args[0]
            if isinstance(status, ast.Constant) and isinstance(status.value, int):
                found.add(Refusal(status.value))  # the routes may rename its code (see the error table)
        elif ours(target) and photo_rejected is not None and _returns_instance(target, photo_rejected):
            reason = const_str(n.args[0] if n.args else None, env)
            if reason in rejections:
                found.add(Refusal(rejections[reason][0], reason))
    for callee, call in callees(code, swallowing=True):
        callee_code = code_of(callee)
        if callee_code is None:
            continue
        bound = bind_constants(callee_code, call, env) if call is not None else {}
        found |= refusals_of(callee, bound, depth + 1, (*stack, code.fn))
    return found


def _returns_instance(fn: Any, cls: type) -> bool:
    code = code_of(fn)
    if code is None:
        return False
    for value in returns_of(code.node):
        if isinstance(value, ast.Call) and resolve(value.func, code.names) is cls:
            return True
    return False


def dependency_calls(route: APIRoute) -> list[Any]:
    out: list[Any] = []

    def walk(dependant: Any) -> None:
        for sub in dependant.dependencies:
            if sub.call is not None:
                out.append(sub.call)
            walk(sub)

    walk(route.dependant)
    return out


def roles_of(route: APIRoute) -> list[str]:
    """The token roles a route accepts: the string arguments its dependencies pass to verify/_principal."""
    from bot.tokens import ROLES

    for dep in dependency_calls(route):
        code = code_of(dep)
        if code is None:
            continue
        for n in own_nodes(code.node):
            if isinstance(n, ast.Call):
                roles = [a.value for a in n.args if isinstance(a, ast.Constant) and a.value in ROLES]
                if roles:
                    return roles
    return []
