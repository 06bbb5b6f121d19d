"""Command line: mint and revoke tokens, print how to reach a running system, chat from the terminal.

    python -m bot.cli token shopper s1        # roles: shopper, agent, supervisor, trainer, ops, service
    python -m bot.cli token agent a1 --hours 8   # staff tokens live at most 10 hours (the default)
    python -m bot.cli token ops ops1          # reads the /ops page and /metrics
    python -m bot.cli revoke <token-or-jti>   # that staff token is refused from the next request on
    python -m bot.cli revoke --subject a1     # every staff token of a1 issued up to now is refused
    python -m bot.cli chat --shopper s1 --order O1001
    python -m bot.cli banner
"""

from __future__ import annotations

import argparse
import sys
import uuid
from pathlib import Path

from bot.rasa_protocol import BotUnavailable, ChannelRefused, RasaServer
from bot.settings import get_settings
from bot.tokens import ROLES, STAFF_MAX_TTL, STAFF_ROLES, TokenError, decode, mint


def cmd_token(args: argparse.Namespace) -> None:
    ttl = args.hours * 3600 if args.hours else args.days * 24 * 3600 if args.days else None
    if args.role in STAFF_ROLES and ttl is not None and ttl > STAFF_MAX_TTL:
        sys.exit(f"a {args.role} token lives at most {STAFF_MAX_TTL // 3600} hours")
    print(mint(args.role, args.subject, ttl_seconds=ttl))


def cmd_revoke(args: argparse.Namespace) -> None:
    """Put a staff token (or every older token of a subject) on the gateway's Redis deny-list."""
    import redis

    from bot.gateway.config import GatewayConfig
    from bot.gateway.keys import Keys
    from bot.gateway.revocation import revoke_subject, revoke_token

    keys = Keys(GatewayConfig.from_env().key_prefix)
    client = redis.Redis.from_url(get_settings().redis_url, decode_responses=True)
    if args.subject:
        cutoff = revoke_subject(client, keys, args.subject)
        print(f"revoked every staff token of {args.subject} issued up to {cutoff} (epoch seconds)")
        return
    if not args.token:
        sys.exit("give a token or a jti, or --subject NAME")
    jti, expires_at = args.token, None
    if args.token.count(".") == 2:  # a whole token: read its jti and expiry (signature checked)
        try:
            claims = decode(args.token)
        except TokenError as exc:
            sys.exit(f"not one of our tokens: {exc}")
        if claims.get("role") not in STAFF_ROLES or not claims.get("jti"):
            sys.exit(f"only staff tokens ({', '.join(STAFF_ROLES)}) can be revoked")
        jti, expires_at = str(claims["jti"]), int(claims["exp"])  # type: ignore[call-overload]
    kept = revoke_token(client, keys, jti, expires_at)
    print(f"revoked token {jti} for {kept} s" if kept else f"token {jti} has expired already: nothing to do")


def cmd_banner(_: argparse.Namespace) -> None:
    s = get_settings()
    print(f"""
  Shopper web chat   {s.gateway_url}/            token: python -m bot.cli token shopper s1 (seeded: s1 s2 s3)
  Agent console      {s.gateway_url}/agent       token: python -m bot.cli token agent agent1
  Trainer inbox      {s.gateway_url}/trainer     token: python -m bot.cli token trainer t1
  Operations         {s.gateway_url}/ops         token: python -m bot.cli token ops ops1
  Terminal chat      .venv/bin/python -m bot.cli chat --shopper s1 --order O1001
  Refund service     {s.refunds_url}/docs
  Redis              {s.redis_url}{' (embedded)' if s.redis_embedded else ''}
  Database           {s.database_url}
""")


class ChannelChat:
    """A terminal conversation straight into Rasa's trusted channel (what the gateway does)."""

    def __init__(self, shopper: str) -> None:
        self.shopper, self.conversation = shopper, f"cli_{uuid.uuid4().hex[:12]}"
        self.rasa = RasaServer.from_settings()
        self.buttons: list[dict[str, str]] = []

    def send(self, event: str, **fields: str) -> None:
        try:
            answer = self.rasa.send(self.shopper, self.conversation, event, 60, **fields)
        except BotUnavailable as exc:
            print(f"  ! 暂时连不上机器人，请稍后再试 ({exc}; is bin/up running?)")
            return
        except ChannelRefused as exc:
            print(f"  ! refused: {exc.code}")
            return
        self.buttons = []
        for reply in answer.replies:
            if reply.text:
                print(f"客服: {reply.text}")
            for button in reply.buttons:
                self.buttons.append(button)
                print(f"  [{len(self.buttons)}] {button['title']}")
        if answer.handoff:
            print(f"  (the bot asks for an agent, reason {answer.handoff.reason}: agents work in the web console)")

    def upload(self, kind: str, path: str) -> None:
        from bot.db import session_scope
        from bot.evidence.store import PhotoRejected, store_photo

        try:
            with session_scope() as session:
                photo = store_photo(session, data=Path(path).read_bytes(), kind=kind,
                                    shopper_id=self.shopper, conversation_id=self.conversation)
                photo_id = photo.id
        except (OSError, PhotoRejected) as exc:
            print(f"  ! {exc}")
            return
        self.send("photo", photo_id=photo_id, photo_kind=kind)


def cmd_chat(args: argparse.Namespace) -> None:
    chat = ChannelChat(args.shopper)
    print("输入文字聊天；输入按钮编号点击按钮；:photo package|label|items 文件路径 上传照片；Ctrl-D 退出。")
    chat.send("start", **({"order_id": args.order} if args.order else {}))
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        if line.startswith(":photo "):
            parts = line.split(maxsplit=2)
            if len(parts) == 3:
                chat.upload(parts[1], parts[2])
            continue
        if line.isdigit() and 0 < int(line) <= len(chat.buttons):
            chat.send("button", payload=chat.buttons[int(line) - 1]["payload"])
            continue
        chat.send("text", text=line)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bot.cli", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    token = sub.add_parser("token", help="mint a bearer token")
    token.add_argument("role", choices=ROLES)
    token.add_argument("subject", help="shopper id, agent, trainer or ops name, or service name")
    lifetime = token.add_mutually_exclusive_group()
    lifetime.add_argument("--hours", type=int, default=None, help="staff: at most 10 (the default)")
    lifetime.add_argument("--days", type=int, default=None, help="shopper and service tokens (default 30)")
    token.set_defaults(func=cmd_token)
    revoke = sub.add_parser("revoke", help="revoke a staff token, or all of one subject's tokens")
    revoke.add_argument("token", nargs="?", help="the token itself, or its jti")
    revoke.add_argument("--subject", help="revoke every staff token of this subject issued up to now")
    revoke.set_defaults(func=cmd_revoke)
    chat = sub.add_parser("chat", help="chat with the bot from the terminal")
    chat.add_argument("--shopper", default="s1")
    chat.add_argument("--order", default=None)
    chat.set_defaults(func=cmd_chat)
    sub.add_parser("banner", help="where everything runs").set_defaults(func=cmd_banner)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
