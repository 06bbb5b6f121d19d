"""docs/api.md is generated from the code by bin/api-docs (bot/apidocs): regenerate it and compare, so the
committed file cannot drift from the routes. Builds the apps without starting them (no Redis, SQL or Rasa)."""

from __future__ import annotations

import difflib
import subprocess
import sys
from pathlib import Path

import pytest

from bot import apidocs
from bot.settings import ROOT


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> str:
    """What bin/api-docs writes, from a fresh interpreter: the routes' source as it is on disk, untouched by
    whatever earlier tests patched in this process."""
    out = tmp_path_factory.mktemp("api-docs") / "api.md"
    subprocess.run([sys.executable, "-m", "bot.apidocs", "--out", str(out)], cwd=ROOT, check=True,
                   capture_output=True, timeout=120)
    return Path(out).read_text()


def test_docs_api_md_is_what_bin_api_docs_writes(generated: str) -> None:
    committed = apidocs.OUT.read_text() if apidocs.OUT.exists() else ""
    if committed != generated:
        diff = "\n".join(list(difflib.unified_diff(committed.splitlines(), generated.splitlines(),
                                                   "docs/api.md", "generated", lineterm=""))[:80])
        pytest.fail(f"docs/api.md is out of date: run bin/api-docs\n{diff}")


def row(generated: str, endpoint: str) -> str:
    [line] = [x for x in generated.splitlines() if x.startswith(f"| `{endpoint}` |")]
    return line


def test_every_route_in_the_schemas_has_a_row(generated: str) -> None:
    for app in (apidocs.gateway_app(), apidocs.refunds_app()):
        for path, methods in app.openapi()["paths"].items():
            for method in methods:
                row(generated, f"{method.upper()} {path}")


def test_rows_say_who_may_call_and_what_can_go_wrong(generated: str) -> None:
    # read from the code: the role the dependency verifies, the refusals on the route's path
    opening = row(generated, "POST /api/conversations")
    assert "| shopper |" in opening and "429 rate_limited" in opening and "404 order_not_found" in opening
    claim = row(generated, "POST /api/agent/conversations/{cid}/claim")
    assert "| agent, supervisor |" in claim and "409 not_waiting" in claim
    refund = row(generated, "POST /refunds")
    assert "| service |" in refund and "header `Idempotency-Key`" in refund
    assert "409 illegal_transition quantity_exceeded" in refund and "idempotency_key_reused" in refund
    assert "| none |" in row(generated, "POST /api/demo/token")


def test_a_refusal_the_code_catches_is_not_listed(generated: str) -> None:
    # orders.shopper_refunds answers [] when the refund service fails, so the route itself never refuses
    assert row(generated, "GET /api/refunds").endswith("| 401 unauthorized |")


def test_gateway_bodies_are_read_from_the_functions_that_build_them(generated: str) -> None:
    assert "201 {conversation_id, order_id, messages: [[Message](#gateway-message)]}" in row(
        generated, "POST /api/conversations")
    message = generated.split('<a id="gateway-message"></a>Message', 1)[1].split("####", 1)[0]
    assert "{seq, sender, text, buttons, created_at, image?" in message  # image only on photo messages
