"""Signed bearer tokens for shoppers, staff (agents, supervisors, trainers, operations) and our own services.

Staff tokens live at most STAFF_MAX_TTL (a working day), refused at mint and at verify when longer, and carry a
`jti` so one token can be revoked; the gateway checks its Redis deny-list on every staff request
(bot/gateway/revocation.py, `python -m bot.cli revoke`).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field

import jwt

from bot.settings import Settings, get_settings

ROLES = ("shopper", "agent", "supervisor", "trainer", "ops", "service")
# ops: reads the /ops page and the metrics, nothing else (no chat, no money)
STAFF_ROLES = ("agent", "supervisor", "trainer", "ops")
STAFF_MAX_TTL = 10 * 3600  # a working day: no staff token lives longer
DEFAULT_TTL = 30 * 24 * 3600  # shoppers and services, unless told otherwise
_ALGORITHM = "HS256"


def clock() -> float:
    """Now, in seconds since the epoch; tests replace `bot.tokens.clock` to move time without sleeping."""
    return time.time()


class TokenError(Exception):
    """The token is missing, malformed, expired, too long-lived or signed with another secret."""


@dataclass(frozen=True)
class Principal:
    role: str
    subject: str
    # Which token said so (for revocation); not part of who it is.
    jti: str = field(default="", compare=False)
    issued_at: int = field(default=0, compare=False)
    expires_at: int = field(default=0, compare=False)

    @property
    def staff(self) -> bool:
        return self.role in STAFF_ROLES


def default_ttl(role: str) -> int:
    return STAFF_MAX_TTL if role in STAFF_ROLES else DEFAULT_TTL


def mint(role: str, subject: str, ttl_seconds: int | None = None, *, settings: Settings | None = None) -> str:
    """Sign a token saying `subject` acts as `role` until the TTL runs out (default: `default_ttl(role)`).

    A staff token asked to live longer than STAFF_MAX_TTL is refused (ValueError). Signed with the secret of
    `settings` (this process's by default; a test stack passes its own).
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {ROLES}")
    ttl = default_ttl(role) if ttl_seconds is None else int(ttl_seconds)
    if ttl <= 0:
        raise ValueError("ttl_seconds must be positive")
    if role in STAFF_ROLES and ttl > STAFF_MAX_TTL:
        raise ValueError(f"a {role} token lives at most {STAFF_MAX_TTL} s, not {ttl} s")
    now = int(clock())
    claims = {"role": role, "sub": subject, "iat": now, "exp": now + ttl, "jti": secrets.token_hex(16)}
    return jwt.encode(claims, (settings or get_settings()).derived_secret("tokens"), algorithm=_ALGORITHM)


def decode(token: str) -> dict[str, object]:
    """The claims of one of our tokens, signature checked but not its lifetime (for `bot.cli revoke`)."""
    try:
        return dict(jwt.decode(token, get_settings().derived_secret("tokens"), algorithms=[_ALGORITHM],
                               options={"verify_exp": False, "verify_iat": False, "verify_nbf": False}))
    except jwt.PyJWTError as exc:
        raise TokenError(f"invalid token: {exc}") from exc


def verify(token: str, *roles: str) -> Principal:
    """Return who the token speaks for; raise TokenError unless it is valid and of one of `roles`.

    Expiry is checked against `clock()`. A staff token must also carry `iat` and `jti` and live at most
    STAFF_MAX_TTL (`exp - iat`); whether it was revoked is the gateway's check (it needs Redis).
    """
    claims = decode(token)
    role, subject = claims.get("role"), claims.get("sub")
    if role not in ROLES or not isinstance(subject, str) or not subject:
        raise TokenError("token lacks a valid role or subject")
    if roles and role not in roles:
        raise TokenError(f"role {role!r} not allowed here")
    exp, iat, jti = claims.get("exp"), claims.get("iat", 0), claims.get("jti", "")
    if not isinstance(exp, int) or isinstance(exp, bool) or exp <= clock():
        raise TokenError("token expired or without an expiry")
    if not isinstance(iat, int) or not isinstance(jti, str):
        raise TokenError("malformed iat or jti")
    if role in STAFF_ROLES:
        if not iat or not jti:
            raise TokenError("a staff token needs iat and jti")
        if exp - iat > STAFF_MAX_TTL:
            raise TokenError(f"a staff token may live at most {STAFF_MAX_TTL} s")
    return Principal(role=role, subject=subject, jti=jti, issued_at=iat, expires_at=exp)
