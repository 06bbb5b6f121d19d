"""Build the two apps without running them and write docs/api.md: `bin/api-docs [--check] [--out PATH]`."""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import sys
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from bot.apidocs import code
from bot.apidocs.conventions import (
    GATEWAY_GROUPS,
    GATEWAY_INTRO,
    HEADER,
    REFUNDS_GROUPS,
    REFUNDS_INTRO,
    gateway_errors_table,
    queue_events,
    roles_table,
    service_error_codes,
)
from bot.apidocs.markdown import Service, group_of_gateway, group_of_refunds, render_service
from bot.settings import ROOT

OUT = ROOT / "docs" / "api.md"

def offline_settings() -> Any:
    """Settings that touch nothing: no var/ directory, no secret file, an in-memory SQLite URL."""
    from bot.settings import Settings

    values: dict[str, Any] = {}
    for f in dataclasses.fields(Settings):
        kind = str(f.type)
        if "Path" in kind:
            values[f.name] = Path("/nonexistent")
        elif "bool" in kind:
            values[f.name] = False
        elif "int" in kind:
            values[f.name] = 0
        else:
            values[f.name] = "sqlite://" if f.name == "database_url" else "http://127.0.0.1:9"
    return Settings(**values)


def gateway_app() -> FastAPI:
    from bot.gateway.app import create_app
    from bot.gateway.config import GatewayConfig

    return create_app(offline_settings(), GatewayConfig(demo=True))  # demo on: its routes are documented too


def refunds_app() -> FastAPI:
    from bot.refunds.app import create_app

    return create_app("sqlite://")


def render() -> str:
    code.clear_cache()
    gateway = Service("gateway", "Gateway (port 8000)", gateway_app(), GATEWAY_INTRO, group_of_gateway,
                      GATEWAY_GROUPS)
    refunds = Service("refunds", "Refund service (port 8001)", refunds_app(), REFUNDS_INTRO, group_of_refunds,
                      REFUNDS_GROUPS)
    events = ", ".join(f"`{t}`" for t in queue_events()) or "(none)"
    head = HEADER.format(
        roles="\n".join(roles_table()),
        gateway_errors="\n".join(gateway_errors_table()),
        service_errors="\n".join(service_error_codes(refunds.app)),
        queue_events=events,
    )
    lines = [head.rstrip(), ""]
    lines += render_service(gateway)
    # refund-service models that gateway answers pass on (orders, refunds) are documented with the service
    refunds.shapes.models.update(gateway.shapes.models)
    lines += render_service(refunds)
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bin/api-docs", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"where to write (default {OUT.relative_to(ROOT)})")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if the file is out of date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.out.read_text() if args.out.exists() else ""
        if current == text:
            return 0
        diff = difflib.unified_diff(current.splitlines(), text.splitlines(), str(args.out), "generated", lineterm="")
        print("\n".join(list(diff)[:200]))
        print(f"\n{args.out} is out of date: run bin/api-docs", file=sys.stderr)
        return 1
    args.out.write_text(text)
    print(f"wrote {args.out}")
    return 0

