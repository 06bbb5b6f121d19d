"""tests/e2e/stack.py's tokens come from bot.tokens.mint, signed with the stack's own secret (no process started)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from unittest import mock

import pytest

from bot import tokens
from bot.settings import get_settings
from tests.e2e.stack import Stack


def test_a_stack_token_is_minted_with_the_stacks_secret(tmp_path: Path) -> None:
    stack = Stack(workdir=tmp_path, database_url="sqlite://")
    token = stack.token("agent", "a1")
    assert tokens.get_settings is get_settings  # the stack's secret was lent to bot.tokens for the call only
    with pytest.raises(tokens.TokenError):
        tokens.verify(token)  # not valid under this process's own secret ...
    as_the_stack = replace(get_settings(), secret=stack.secret)
    with mock.patch.object(tokens, "get_settings", lambda: as_the_stack):
        assert tokens.verify(token, "agent") == tokens.Principal("agent", "a1")  # ... but under the stack's
        assert tokens.verify(stack.service_token(), "service") == tokens.Principal("service", "tests")
