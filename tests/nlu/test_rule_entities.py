"""RuleEntityExtractor on real messages: real spaCy + jieba, rules from data/entities."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.numerals import NumeralTable
from bot.nlu.rule_entities import RuleEntityExtractor

ROOT = Path(__file__).resolve().parents[2]
CONFIG = {
    "patterns_path": str(ROOT / "data" / "entities"),
    "dictionary_path": str(ROOT / "data" / "dictionary"),
}


@pytest.fixture(scope="module")
def extractor(tmp_path_factory: pytest.TempPathFactory) -> RuleEntityExtractor:
    """Train (persist the rule files) and load the component as Rasa's graph would."""
    storage = LocalModelStorage(tmp_path_factory.mktemp("model"))
    resource = Resource("rule_entities")
    context = ExecutionContext(GraphSchema({}), "test")
    trained = RuleEntityExtractor.create(CONFIG, storage, resource, context)
    trained.train(TrainingData())
    return RuleEntityExtractor.load(CONFIG, storage, resource, context)


def entities(extractor: RuleEntityExtractor, text: str) -> list[dict[str, Any]]:
    message = Message({"text": text})
    extractor.process([message])
    return message.get("entities", [])


def values(extractor: RuleEntityExtractor, text: str, name: str) -> list[Any]:
    return [e["value"] for e in entities(extractor, text) if e["entity"] == name]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("有一支笔坏了", [1]),
        ("只收到两个", [2]),
        ("少发了3件衣服", [3]),
        ("买了十二个杯子", [12]),
        ("俩保温杯都碎了", [2]),
        ("漏发了一双袜子", [1]),
        ("买了二十五包薯片", [25]),
        ("两", [2]),
        ("３", [3]),
    ],
)
def test_quantity_is_an_int(extractor: RuleEntityExtractor, text: str, expected: list[int]) -> None:
    assert values(extractor, text, "quantity") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("订单号O1001", ["O1001"]), ("o1002的笔坏了", ["o1002"]), ("订单：O2003，笔坏了", ["O2003"])],
)
def test_order_id_keeps_its_case(extractor: RuleEntityExtractor, text: str, expected: list[str]) -> None:
    # the refund service matches an id typed in another case against the shopper's own orders
    assert values(extractor, text, "order_id") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("退了¥12.5", [1250]),
        ("退款￥ 8", [800]),
        ("只退了12块5", [1250]),
        ("才给我12元", [1200]),
        ("一共三十九块九", [3990]),
        ("付了12.5元", [1250]),
    ],
)
def test_amount_is_in_cents(extractor: RuleEntityExtractor, text: str, expected: list[int]) -> None:
    assert values(extractor, text, "amount") == expected


def test_mixed_message_offsets_and_metadata(extractor: RuleEntityExtractor) -> None:
    text = "订单O2002少发了3瓶，一共付了39元"
    found = entities(extractor, text)
    assert [(e["entity"], text[e["start"]:e["end"]], e["value"]) for e in found] == [
        ("order_id", "O2002", "O2002"),
        ("quantity", "3瓶", 3),
        ("amount", "39元", 3900),
    ]
    assert all(e["extractor"] == "RuleEntityExtractor" for e in found)
    assert all(e["confidence_entity"] == 1.0 for e in found)


@pytest.mark.parametrize("text", ["一样的", "你好", "物流一直不动", "O12"])
def test_no_false_entities(extractor: RuleEntityExtractor, text: str) -> None:
    assert entities(extractor, text) == []


def test_dictionary_is_loaded_into_jieba(extractor: RuleEntityExtractor) -> None:
    import jieba

    assert "/".join(jieba.cut("有一支笔坏了")) == "有/一支/笔/坏了"


def test_numeral_table_reads_chinese_numbers() -> None:
    table = NumeralTable(digits={"一": 1, "二": 2, "两": 2, "零": 0, "五": 5}, units={"十": 10, "百": 100})
    numerals = ["十", "十二", "二十", "一百零五", "两百", "42"]
    assert [table.to_int(s) for s in numerals] == [10, 12, 20, 105, 200, 42]
    assert table.to_int("abc") is None
