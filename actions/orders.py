"""Reading orders for a conversation: ownership checks and matching what the shopper named."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import jieba

from actions.services import refunds
from bot.refunds.client import RefundsError
from bot.settings import ROOT


class OrderProblem(Exception):
    """The order can't be used in this conversation; `message` says why, in Chinese."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


async def owned_order(order_id: str, shopper_id: str) -> Any:
    """The order as the refund service has it, if it exists and belongs to this shopper.

    The refund service owns order identity: given the shopper (from the sender id, never a slot) it finds
    their order whatever the case of the typed id, and answers with the id as the feed gave it.
    """
    from actions import messages

    try:
        order = await refunds().get_order(order_id, shopper_id=shopper_id)
    except RefundsError as exc:
        if exc.status == 404:
            raise OrderProblem(messages.ORDER_NOT_FOUND) from exc
        if exc.status == 403:
            raise OrderProblem(messages.ORDER_NOT_YOURS) from exc
        raise
    if order.shopper_id != shopper_id:
        raise OrderProblem(messages.ORDER_NOT_YOURS)
    return order


def remaining(line: Any) -> int:
    return int(line.quantity) - int(line.remedied_quantity)


def open_lines(order: Any) -> list[Any]:
    return [line for line in order.lines if remaining(line) > 0]


def find_line(order: Any, line_id: str) -> Any | None:
    return next((line for line in order.lines if line.line_id == line_id), None)


@lru_cache(maxsize=1)
def _segmenter() -> jieba.Tokenizer:
    tokenizer = jieba.Tokenizer()
    for path in sorted((ROOT / "data" / "dictionary").glob("*.txt")):
        tokenizer.load_userdict(str(path))
    return tokenizer


def names_item(name: str, item: str) -> bool:
    """Whether a product name is a kind of `item`.

    Chinese compounds put the head last: 中性笔 is a 笔, 笔记本 is not. So a word of the name
    must end with the item word; a colloquial 子/儿 suffix is dropped (杯子 → 保温杯).
    """
    stem = item[:-1] if len(item) > 1 and item[-1] in "子儿" else item
    return any(word.endswith(item) or word.endswith(stem) for word in _segmenter().lcut(name))


def match_line(order: Any, item: str | None) -> Any | None:
    """The one open line the shopper means: the only one that is a kind of the item they named, or, when they
    named none, the only open line. Naming 耳机 never picks the phone case left open beside it."""
    lines = open_lines(order)
    if not item:
        return lines[0] if len(lines) == 1 else None
    hits = [line for line in lines if names_item(line.name, item)]
    return hits[0] if len(hits) == 1 else None
