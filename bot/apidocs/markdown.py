"""One service's part of docs/api.md: a table of endpoints per router or tag, then its objects."""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from bot.apidocs.code import (
    Code,
    Refusal,
    code_of,
    dependency_calls,
    doc_of,
    ours,
    own_nodes,
    refusals_of,
    resolve,
    returns_of,
    roles_of,
)
from bot.apidocs.shapes import Shapes, expand, show


def schema_type(schema: dict[str, Any], service: str) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{service}-{name.lower()})"
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return schema_type(schema["allOf"][0], service)
    if "anyOf" in schema:
        return " or ".join(schema_type(s, service) for s in schema["anyOf"])
    if "enum" in schema:
        return " | ".join(f"`{v}`" for v in schema["enum"])
    kind = schema.get("type", "")
    if kind == "array":
        return f"[{schema_type(schema.get('items', {}), service)}]"
    if kind == "string" and schema.get("format") == "date-time":
        return "datetime"
    if kind == "string" and schema.get("format") == "binary":
        return "file"
    if kind == "object" and "additionalProperties" in schema:
        return f"{{string: {schema_type(schema['additionalProperties'], service)}}}"
    return {"integer": "int", "number": "number", "boolean": "bool", "string": "string"}.get(kind, kind or "any")


def constraints(schema: dict[str, Any]) -> str:
    parts = []
    for key, label in (("pattern", "pattern"), ("minLength", "min length"), ("maxLength", "max length"),
                       ("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤"), ("minItems", "min items"),
                       ("maxItems", "max items")):
        if key in schema:
            value = schema[key]
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            parts.append(f"{label} `{value}`" if key == "pattern" else f"{label} {value}")
    if "default" in schema and schema["default"] not in (None, [], ""):
        parts.append(f"default `{schema['default']}`")
    return ", ".join(parts)


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# ---------------------------------------------------------------------------------------------------------------
# One service's page


@dataclass
class Endpoint:
    route: APIRoute
    method: str
    op: dict[str, Any]


@dataclass
class Service:
    key: str  # anchor prefix: gateway | refunds
    title: str
    app: FastAPI
    intro: str
    group_of: Callable[[APIRoute], str]
    groups: dict[str, tuple[str, str]]  # group key -> (heading, text under it)
    shapes: Shapes = field(default_factory=Shapes)

    def endpoints(self) -> list[Endpoint]:
        spec = self.app.openapi()
        out = []
        for route in self.app.routes:
            if isinstance(route, APIRoute) and route.include_in_schema:
                for method in sorted(route.methods, key=["GET", "POST", "PUT", "PATCH", "DELETE"].index):
                    out.append(Endpoint(route, method, spec["paths"][route.path_format][method.lower()]))
        return out


def group_of_gateway(route: APIRoute) -> str:
    return route.endpoint.__module__.rsplit(".", 1)[-1]


def group_of_refunds(route: APIRoute) -> str:
    return str((route.tags or ["other"])[0])


def render_service(service: Service) -> list[str]:
    spec = service.app.openapi()
    lines = [f"## {service.title}", "", service.intro.strip(), ""]
    by_group: dict[str, list[Endpoint]] = {}
    for ep in service.endpoints():
        by_group.setdefault(service.group_of(ep.route), []).append(ep)
    for group, endpoints in by_group.items():
        heading, text = service.groups.get(group, (group.title(), ""))
        lines += [f"### {heading}", ""]
        if text:
            lines += [text.strip(), ""]
        lines += ["| endpoint | auth | what it does | request | response | errors |", "|---|---|---|---|---|---|"]
        for ep in endpoints:
            lines.append(_row(service, ep, spec))
        lines.append("")
    lines += _objects(service, spec)
    lines += _hidden_routes(service)
    return lines


def _row(service: Service, ep: Endpoint, spec: dict[str, Any]) -> str:
    route, op = ep.route, ep.op
    roles = roles_of(route)
    auth = ", ".join(roles) if roles else "none"
    what = doc_of(route.endpoint) or _doc_of_result(route.endpoint) or ""
    request = _request(service, op)
    response = _response(service, ep, spec)
    found: set[Refusal] = set()
    for fn in [route.endpoint, *dependency_calls(route)]:
        found |= refusals_of(fn)
    if "422" in op.get("responses", {}):
        found.add(Refusal(422, "(validation)"))
    errors = _errors_text(found)
    endpoint = f"`{ep.method} {route.path}`"
    return "| " + " | ".join(cell(x) for x in (endpoint, auth, what, request, response, errors)) + " |"


def _errors_text(found: set[Refusal]) -> str:
    by_status: dict[int, list[str]] = {}
    for r in sorted(found):
        by_status.setdefault(r.status, [])
        if r.code and r.code not in by_status[r.status]:
            by_status[r.status].append(r.code)
    parts = []
    for status, codes in by_status.items():
        parts.append(f"{status} " + " ".join(codes) if codes else str(status))
    return "; ".join(parts)


def _doc_of_result(endpoint: Any) -> str:
    """For a route that only delegates (one return): the docstring of the function whose result it returns,
    passing over helpers of the routes' own module."""
    code = code_of(endpoint)
    values = returns_of(code.node) if code else []
    if code is None or len(values) != 1:
        return ""
    for n in ast.walk(values[0]):
        if not isinstance(n, ast.Call):
            continue
        target = resolve(n.func, code.names)
        if isinstance(n.func, ast.Attribute) and n.func.attr == "run" and n.args:  # gw.db.run(fn, ...)
            target = resolve(n.args[0], code.names)
        if ours(target) and target.__module__ != endpoint.__module__ and doc_of(target):
            return doc_of(target)
    return ""


def _request(service: Service, op: dict[str, Any]) -> str:
    parts = []
    for p in op.get("parameters", []):
        if p["in"] == "path" or p["name"].lower() == "authorization":
            continue
        schema = p.get("schema", {})
        extra = constraints(schema)
        # the Idempotency-Key dependency refuses a request without one (422 idempotency_key_required)
        optional = "" if p.get("required") or p["name"].lower() == "idempotency-key" else "?"
        where = "header" if p["in"] == "header" else "query"
        parts.append(f"{where} `{p['name']}{optional}`: {schema_type(schema, service.key)}"
                     + (f" ({extra})" if extra else ""))
    body = op.get("requestBody")
    if body:
        content = body.get("content", {})
        media, payload = next(iter(content.items()))
        schema = payload.get("schema", {})
        ref = schema.get("$ref", "")
        name = ref.rsplit("/", 1)[-1]
        if name.startswith("Body_"):  # multipart form fields, declared inline on the route
            fields = service.app.openapi()["components"]["schemas"][name]
            required = set(fields.get("required", []))
            inner = ", ".join(f"{k}{'' if k in required else '?'}: {schema_type(v, service.key)}"
                              for k, v in fields.get("properties", {}).items())
            parts.append(f"{media} {{{inner}}}")
        else:
            optional = "" if body.get("required") else " (optional)"
            parts.append(f"body {schema_type(schema, service.key)}{optional}")
    return "<br>".join(parts) or "–"


def _response(service: Service, ep: Endpoint, spec: dict[str, Any]) -> str:
    route, op = ep.route, ep.op
    status = str(route.status_code or 200)
    code = code_of(route.endpoint)
    stream = _stream_kind(code) if code else ""
    if stream:
        return f"{status} `text/event-stream`: {stream}"
    file_type = _file_type(code) if code else ""
    if file_type:
        return f"{status} {file_type}"
    schema = op.get("responses", {}).get(status, {}).get("content", {}).get("application/json", {}).get("schema", {})
    replayed = " (200 when the Idempotency-Key was seen before)" if _takes_idempotency_key(op) else ""
    if "$ref" in schema or (schema.get("type") == "array" and "$ref" in schema.get("items", {})):
        return f"{status} {schema_type(schema, service.key)}{replayed}"
    shape = service.shapes.of_function(route.endpoint)
    text = show(shape)
    if text == "object" and schema:
        text = schema_type(schema, service.key)
    return f"{status} {text}{replayed}"


def _takes_idempotency_key(op: dict[str, Any]) -> bool:
    return any(p["name"].lower() == "idempotency-key" for p in op.get("parameters", []))


def _stream_kind(code: Code) -> str:
    for n in own_nodes(code.node):
        if isinstance(n, ast.Call):
            target = resolve(n.func, code.names)
            if ours(target) and target.__name__.endswith("_stream"):
                return doc_of(target)
    return ""


def _file_type(code: Code) -> str:
    for n in own_nodes(code.node):
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "FileResponse":
            media = next((kw.value for kw in n.keywords if kw.arg == "media_type"), None)
            if isinstance(media, ast.Constant) and isinstance(media.value, str):
                return f"a file, `{media.value}`"
            return "a file (the stored photo, `image/jpeg`)" if "photo" in code.fn.__name__ else "a file"
    return ""


def _objects(service: Service, spec: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    schemas = spec.get("components", {}).get("schemas", {})
    models = {name: s for name, s in schemas.items()
              if not name.startswith("Body_") and name not in ("HTTPValidationError", "ValidationError")}
    for name, model in sorted(service.shapes.models.items()):  # refund-service models the gateway passes on
        if service.key == "refunds" and name not in models:
            models[name] = model.schema(ref_template="#/components/schemas/{model}")
    if not models and not service.shapes.named:
        return lines
    lines += [f"### {service.title}: objects", ""]
    for name, obj in sorted(service.shapes.named.items()):
        lines += [f"#### <a id=\"{service.key}-{name.lower()}\"></a>{name}", ""]
        lines += [f"Built by the gateway's code; keys marked ? are present only sometimes: {expand(obj)}", ""]
    for name in sorted(models):
        schema = models[name]
        lines += [f"#### <a id=\"{service.key}-{name.lower()}\"></a>{name}", ""]
        if schema.get("description"):
            lines += [" ".join(schema["description"].split()), ""]
        required = set(schema.get("required", []))
        lines += ["| field | type | required | constraints |", "|---|---|---|---|"]
        for prop, sub in schema.get("properties", {}).items():
            row = (f"`{prop}`", schema_type(sub, service.key), "yes" if prop in required else "no", constraints(sub))
            lines.append("| " + " | ".join(cell(x) for x in row) + " |")
        lines.append("")
    return lines


def _hidden_routes(service: Service) -> list[str]:
    rows = []
    for route in service.app.routes:
        path = getattr(route, "path", "")
        if isinstance(route, APIRoute) and not route.include_in_schema:
            methods = "/".join(sorted(route.methods))
            rows.append(f"- `{methods} {path}`: {doc_of(route.endpoint) or route.endpoint.__name__.replace('_', ' ')}")
        elif not isinstance(route, APIRoute) and path and path not in ("/openapi.json", "/docs", "/redoc",
                                                                        "/docs/oauth2-redirect"):
            rows.append(f"- `{path}`: static files")
    if not rows:
        return []
    return ["### Outside the schema (pages and probes, no token)", "", *rows, ""]
