"""What a gateway route returns, read from the functions that build its plain-dict answer.

A dict literal gives its keys; a name, what was assigned to it (and `name["key"] = ...` adds keys, optional under
an `if`); a call to one of our functions, what that function returns; `gw.refunds.<method>`, the refund-service
client's return annotation (a pydantic model). A builder named `*_dict` or `*_item` names its object (Message,
Conversation, ...), documented once.
"""

from __future__ import annotations

import ast
import inspect
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from bot.apidocs.code import MAX_DEPTH, Code, code_of, ours, resolve, returns_of


@dataclass(frozen=True)
class Obj:
    fields: tuple[tuple[str, Any, bool], ...]  # (key, shape, optional)
    name: str = ""


@dataclass(frozen=True)
class ListOf:
    item: Any


@dataclass(frozen=True)
class Model:
    cls: Any
    service: str = "refunds"

    @property
    def name(self) -> str:
        return str(self.cls.__name__)


@dataclass(frozen=True)
class Scalar:
    kind: str


UNKNOWN = None
NAMED_BUILDERS = {"item_dict": "InboxItem"}  # builders whose name alone would say too little


@dataclass
class Shapes:
    """Infers what a route returns by reading the functions that build it; names the objects it meets."""

    named: dict[str, Obj] = field(default_factory=dict)
    models: dict[str, Any] = field(default_factory=dict)

    def of_function(self, fn: Any, args: dict[str, tuple[ast.expr, Code]] | None = None, depth: int = 0) -> Any:
        code = code_of(fn)
        if code is None or depth > MAX_DEPTH:
            return self._annotated(fn)
        for value in returns_of(code.node):
            shape = self.of_expr(value, code, args or {}, depth)
            if shape is not UNKNOWN:
                return self._name(code, shape)
        return UNKNOWN

    def _annotated(self, fn: Any) -> Any:
        """A function we cannot read (the refund-service client): its return annotation, if a model."""
        try:
            hint = typing.get_type_hints(fn).get("return")
        except Exception:
            return UNKNOWN
        return self._hint(hint)

    def _hint(self, hint: Any) -> Any:
        if typing.get_origin(hint) is None and inspect.isclass(hint) and issubclass(hint, BaseModel):
            self.models[hint.__name__] = hint
            return Model(hint)
        if typing.get_origin(hint) is list and typing.get_args(hint):
            inner = self._hint(typing.get_args(hint)[0])
            return ListOf(inner) if inner is not UNKNOWN else UNKNOWN
        return UNKNOWN

    def _name(self, code: Code, shape: Any) -> Any:
        name = code.fn.__name__
        if not isinstance(shape, Obj) or shape.name or not (name.endswith("_dict") or name.endswith("_item")):
            return shape
        title = NAMED_BUILDERS.get(name) or "".join(p.title() for p in name.removesuffix("_dict").split("_"))
        named = Obj(shape.fields, title)
        self.named[title] = named
        return named

    def of_expr(self, e: ast.expr, code: Code, args: dict[str, tuple[ast.expr, Code]], depth: int) -> Any:
        if isinstance(e, ast.Await):
            return self.of_expr(e.value, code, args, depth)
        if isinstance(e, ast.Dict):
            return self._dict(e, code, args, depth, extra=())
        if isinstance(e, ast.Name):
            if e.id in args:
                expr, caller = args[e.id]
                return self.of_expr(expr, caller, {}, depth + 1)
            assigned = [v for v in _assignments(code.node, e.id)
                        if not any(isinstance(n, ast.Name) and n.id == e.id for n in ast.walk(v))]
            if assigned:
                base = self.of_expr(assigned[0], code, args, depth)
                keys = _subscript_keys(code.node, e.id)
                if isinstance(base, Obj) and keys:  # a named object with more keys is another object
                    extra = tuple((k, self.of_expr(v, code, args, depth), opt) for k, v, opt in keys)
                    return Obj(_merge(base.fields, extra))
                return base
            return UNKNOWN
        if isinstance(e, ast.ListComp):
            item = self.of_expr(e.elt, code, args, depth)
            return ListOf(item) if item is not UNKNOWN else Scalar("list")
        if isinstance(e, ast.BinOp) and isinstance(e.op, ast.Add):
            return self.of_expr(e.left, code, args, depth) or self.of_expr(e.right, code, args, depth)
        if isinstance(e, ast.IfExp):
            return self.of_expr(e.body, code, args, depth) or self.of_expr(e.orelse, code, args, depth)
        if isinstance(e, ast.BoolOp):
            for value in e.values:
                shape = self.of_expr(value, code, args, depth)
                if shape is not UNKNOWN:
                    return shape
            return UNKNOWN
        if isinstance(e, ast.Constant):
            return {bool: Scalar("bool"), int: Scalar("int"), float: Scalar("number"), str: Scalar("string")}.get(
                type(e.value), UNKNOWN)
        if isinstance(e, ast.JoinedStr):
            return Scalar("string")
        if isinstance(e, ast.Call):
            return self._call(e, code, args, depth)
        return UNKNOWN

    def _dict(self, e: ast.Dict, code: Code, args: dict[str, tuple[ast.expr, Code]], depth: int,
              extra: tuple[tuple[str, Any, bool], ...]) -> Any:
        fields: list[tuple[str, Any, bool]] = []
        for key, value in zip(e.keys, e.values, strict=True):
            if key is None:  # **spread
                spread = self.of_expr(value, code, args, depth)
                if isinstance(spread, Obj):
                    fields.extend(spread.fields)
            elif isinstance(key, ast.Constant) and isinstance(key.value, str):
                fields.append((key.value, self.of_expr(value, code, args, depth + 1), False))
        return Obj(_merge(tuple(fields), extra))

    def _call(self, e: ast.Call, code: Code, args: dict[str, tuple[ast.expr, Code]], depth: int) -> Any:
        func = e.func
        if isinstance(func, ast.Name) and func.id in ("list", "dict", "sorted", "jsonable_encoder") and e.args:
            return self.of_expr(e.args[0], code, args, depth)
        if isinstance(func, ast.Attribute) and func.attr == "run" and e.args:  # gw.db.run(fn, ...)
            first = e.args[0]
            if isinstance(first, ast.Lambda):
                return self.of_expr(first.body, code, args, depth + 1)
            target = resolve(first, code.names)
            if ours(target):
                return self.of_function(target, depth=depth + 1)
            return UNKNOWN
        if isinstance(func, ast.Attribute) and _receiver_is_refunds_client(func):
            from bot.refunds.client import RefundsClient

            method = getattr(RefundsClient, func.attr, None)
            return self._annotated(method) if method else UNKNOWN
        target = resolve(func, code.names)
        if inspect.isclass(target) and issubclass(target, BaseModel):
            self.models[target.__name__] = target
            return Model(target)
        if ours(target):
            callee = code_of(target)
            if callee is None:
                return self._annotated(target)
            return self.of_function(target, _bind_exprs(callee, e, code), depth + 1)
        return UNKNOWN


def _receiver_is_refunds_client(func: ast.Attribute) -> bool:
    """`gw.refunds.<method>`: the gateway's refund-service client (typed `Any` on the Gateway dataclass)."""
    return isinstance(func.value, ast.Attribute) and func.value.attr == "refunds"


def _bind_exprs(callee: Code, call: ast.Call, caller: Code) -> dict[str, tuple[ast.expr, Code]]:
    params = [a.arg for a in callee.node.args.posonlyargs + callee.node.args.args]
    bound = {name: (arg, caller) for name, arg in zip(params, call.args, strict=False)}
    bound.update({kw.arg: (kw.value, caller) for kw in call.keywords if kw.arg})
    return bound


def _assignments(node: ast.AST, name: str) -> list[ast.expr]:
    out: list[ast.expr] = []
    for n in ast.walk(node):
        value: ast.expr | None
        if isinstance(n, ast.Assign):
            targets, value = n.targets, n.value
        elif isinstance(n, ast.AnnAssign):
            targets, value = [n.target], n.value
        else:
            continue
        if any(isinstance(t, ast.Name) and t.id == name for t in targets) and value is not None:
            out.append(value)
    return out


def _subscript_keys(node: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> list[tuple[str, ast.expr, bool]]:
    """`name["key"] = value` statements; a key set only under an `if` is optional."""
    out: list[tuple[str, ast.expr, bool]] = []

    def visit(body: Iterable[ast.stmt], conditional: bool) -> None:
        for stmt in body:
            if isinstance(stmt, ast.Assign):
                for t in stmt.targets:
                    if (isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name) and t.value.id == name
                            and isinstance(t.slice, ast.Constant) and isinstance(t.slice.value, str)):
                        out.append((t.slice.value, stmt.value, conditional))
            for attr in ("body", "orelse", "finalbody"):
                inner = getattr(stmt, attr, None)
                if isinstance(inner, list) and not isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
                    visit(inner, conditional or isinstance(stmt, ast.If | ast.For | ast.While | ast.Try))

    visit(node.body, False)
    return out


def _merge(fields: tuple[tuple[str, Any, bool], ...], extra: Iterable[tuple[str, Any, bool]]) -> tuple:
    out = dict((k, (s, o)) for k, s, o in fields)
    for k, s, o in extra:
        if k in out:
            out[k] = (out[k][0] if s is UNKNOWN else s, out[k][1] and o)
        else:
            out[k] = (s, o)
    return tuple((k, s, o) for k, (s, o) in out.items())


def show(shape: Any, top: bool = True) -> str:
    if shape is UNKNOWN:
        return "object" if top else ""
    if isinstance(shape, Scalar):
        return shape.kind
    if isinstance(shape, Model):
        return f"[{shape.name}](#{shape.service}-{shape.name.lower()})"
    if isinstance(shape, ListOf):
        inner = show(shape.item, top=False)
        return f"[{inner}]" if inner else "list"
    if isinstance(shape, Obj):
        return f"[{shape.name}](#gateway-{shape.name.lower()})" if shape.name else expand(shape)
    return ""


def expand(shape: Obj) -> str:
    """An object's keys, with the shape of each value where known: `{a, b?: [Message]}`."""
    parts = []
    for key, value, optional in shape.fields:
        inner = show(value, top=False)
        parts.append(f"{key}{'?' if optional else ''}" + (f": {inner}" if inner else ""))
    return "{" + ", ".join(parts) + "}"
