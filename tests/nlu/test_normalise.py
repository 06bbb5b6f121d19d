"""The text normaliser: what shoppers type, as the NLU sees it, with entity spans that still fit."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.normalise import TextNormaliser
from bot.nlu.normaliser import normalise_message
from bot.settings import ROOT

NORMALISER = TextNormaliser.from_directory(ROOT / "data" / "normalise")


@pytest.mark.parametrize(("typed", "seen"), [
    ("有一支筆壞了", "有一支笔坏了"),                 # traditional characters
    ("訂單號Ｏ１００１沒收到", "订单号O1001没收到"),    # full-width letters and digits
    ("杯子碎了😭😭", "杯子碎了"),                      # emoji
    ("退款👍🏻", "退款"),                               # emoji with a skin-tone modifier
    ("(╯°□°）╯︵ ┻━┻ 退款！", "退款!"),               # a kaomoji, brackets and all
    ("木有收到货", "没有收到货"),                      # internet spelling from data/normalise
    ("肿么还没到账", "怎么还没到账"),
    ("退宽", "退款"),                                  # a common typo
    ("积木有几块是坏的", "积木有几块是坏的"),          # 木有 inside 积木 is not the spelling 木有
    ("坏了！！！！！", "坏了!"),                       # repeated punctuation
    ("啊啊啊啊啊气死了", "啊啊气死了"),                # repeated characters
    ("  客服   在吗  ", "客服 在吗"),                  # spaces
    ("O1001", "O1001"),                                # order ids keep their case
    ("o1001 退款1000元", "o1001 退款1000元"),          # and numbers stay whole
])
def test_one_spelling_reaches_the_model(typed: str, seen: str) -> None:
    assert NORMALISER.text(typed) == seen


def test_spans_move_onto_the_normalised_text() -> None:
    result = NORMALISER("😭我的保溫杯壞了")
    start, end = result.span(3, 6)  # 保溫杯 in the original
    assert result.text[start:end] == "保温杯"
    assert result.span(0, 1) is None  # the emoji is gone


def test_a_length_changing_replacement_keeps_spans() -> None:
    normaliser = TextNormaliser({"3q": "谢谢"})
    result = normaliser("3q 笔")
    start, end = result.span(3, 4)
    assert result.text == "谢谢 笔" and result.text[start:end] == "笔"


def test_training_example_entities_follow_the_text() -> None:
    message = Message(data={"text": "那個保溫杯😡壞了", "intent": "report_damaged",
                            "entities": [{"entity": "item", "start": 2, "end": 5, "value": "保溫杯"}]})
    normalise_message(NORMALISER, message)
    assert message.get("text") == "那个保温杯坏了"
    [entity] = message.get("entities")
    assert (entity["start"], entity["end"], entity["value"]) == (2, 5, "保温杯")


def test_a_synonym_value_is_kept() -> None:
    message = Message(data={"text": "水筆壞了", "entities": [{"entity": "item", "start": 0, "end": 2, "value": "笔"}]})
    normalise_message(NORMALISER, message)
    assert message.get("entities")[0]["value"] == "笔"


def test_a_bad_table_line_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "bad.txt").write_text("木有\n", encoding="utf-8")
    with pytest.raises(ValueError, match="bad.txt:1"):
        TextNormaliser.from_directory(tmp_path)
