"""The project's own NLU components on small data: the linear intent classifier (with the faq answer) and the
product-word item extractor, as Rasa runs them (real model storage, real messages)."""

from __future__ import annotations

from pathlib import Path

from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.linear_intents import LinearIntentClassifier, masked
from bot.nlu.product_words import ProductWordExtractor, read_product_words

EXAMPLES = {
    "report_damaged": ["杯子碎了", "笔坏了", "耳机坏了没声音", "收到就是坏的", "屏幕裂了", "盖子摔坏了"],
    "greet": ["你好", "在吗", "有人吗", "哈喽", "亲在不在", "早上好"],
    "faq/refund_time": ["退款多久到账", "钱几天能退回来", "退款要几天", "多长时间到账"],
    "faq/refund_destination": ["钱退到哪里", "退到微信还是支付宝", "原路退回吗", "退到哪个账户"],
}
RESPONSES = {"utter_faq/refund_time": [{"text": "1-3个工作日"}], "utter_faq/refund_destination": [{"text": "原路退回"}]}


def storage(path: Path) -> tuple[LocalModelStorage, ExecutionContext]:
    path.mkdir(parents=True, exist_ok=True)
    return LocalModelStorage(path), ExecutionContext(GraphSchema({}), "test")


def training_data() -> TrainingData:
    messages = []
    for label, texts in EXAMPLES.items():
        intent, _, key = label.partition("/")
        for text in texts:
            data = {"text": text, "intent": intent}
            if key:
                data["intent_response_key"] = label
            messages.append(Message(data=data))
    return TrainingData(training_examples=messages, responses=RESPONSES)


def test_intent_and_faq_answer_survive_storing_and_loading(tmp_path: Path) -> None:
    model_storage, context = storage(tmp_path)
    resource = Resource("intents")
    trained = LinearIntentClassifier.create({}, model_storage, resource, context)
    trained.train(training_data())
    loaded = LinearIntentClassifier.load({}, model_storage, resource, context)

    [broken, refund_when] = loaded.process([Message(data={"text": "保温杯坏了"}), Message(data={"text": "退款几天到"})])
    assert broken.get("intent")["name"] == "report_damaged"
    assert refund_when.get("intent")["name"] == "faq"  # the retrieval intent, its answers' probability summed
    answer = refund_when.get("response_selector")["faq"]["response"]
    assert answer["intent_response_key"] == "faq/refund_time" and answer["utter_action"] == "utter_faq/refund_time"
    assert answer["responses"] == RESPONSES["utter_faq/refund_time"]
    ranking = refund_when.get("intent_ranking")
    assert abs(sum(r["confidence"] for r in ranking) - 1.0) < 1e-6 and ranking[0]["name"] == "faq"


def test_order_ids_and_numbers_read_alike() -> None:
    assert masked("O1001的13支笔") == masked("o2002的2支笔") == "#的9支笔"


def test_product_words_become_items_unless_already_marked(tmp_path: Path) -> None:
    words = tmp_path / "products.txt"
    words.write_text("雪饼 2000 n\n杯子 2000 n\n支笔 0\n", encoding="utf-8")
    assert read_product_words([words]) == {"雪饼", "杯子"}  # frequency 0 only splits, it is no word

    model_storage, context = storage(tmp_path / "model")
    resource = Resource("products")
    extractor = ProductWordExtractor.create({"dictionary_files": [str(words)]}, model_storage, resource, context)
    extractor.train(TrainingData())
    loaded = ProductWordExtractor.load({}, model_storage, resource, context)
    message = Message(data={"text": "雪饼和杯子都坏了", "entities": [
        {"entity": "item", "start": 3, "end": 5, "value": "杯子", "extractor": "CRFEntityExtractor"}]})
    message.set("text_tokens", [Token("雪饼", 0), Token("和", 2), Token("杯子", 3), Token("都", 5), Token("坏了", 6)])
    [done] = loaded.process([message])
    items = [(e["value"], e.get("extractor")) for e in done.get("entities")]
    assert items == [("杯子", "CRFEntityExtractor"), ("雪饼", "ProductWordExtractor")]
