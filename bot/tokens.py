"""Signed bearer tokens for shoppers, agents, trainers and our own services."""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt

from bot.settings import Settings, get_settings

ROLES = ("shopper", "agent", "trainer", "service")
_ALGORITHM = "HS256"


class TokenError(Exception):
    """The token is missing, malformed, expired or signed with another secret."""


@dataclass(frozen=True)
class Principal:
    role: str
    subject: str


def mint(role: str, subject: str, ttl_seconds: int = 30 * 24 * 3600, *, settings: Settings | None = None) -> str:
    """Sign a token saying `subject` acts as `role` until the TTL runs out.

    Signed with the secret of `settings` (this process's by default; a test stack passes its own).
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {ROLES}")
    now = int(time.time())
    claims = {"role": role, "sub": subject, "iat": now, "exp": now + ttl_seconds}
    return jwt.encode(claims, (settings or get_settings()).derived_secret("tokens"), algorithm=_ALGORITHM)


def verify(token: str, *roles: str) -> Principal:
    """Return who the token speaks for; raise TokenError unless it is valid and of one of `roles`."""
    try:
        claims = jwt.decode(token, get_settings().derived_secret("tokens"), algorithms=[_ALGORITHM])
    except jwt.PyJWTError as exc:
        raise TokenError(f"invalid token: {exc}") from exc
    role, subject = claims.get("role"), claims.get("sub")
    if role not in ROLES or not isinstance(subject, str) or not subject:
        raise TokenError("token lacks a valid role or subject")
    if roles and role not in roles:
        raise TokenError(f"role {role!r} not allowed here")
    return Principal(role=role, subject=subject)
