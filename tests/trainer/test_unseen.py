"""The unseen-set evaluation: the robustness transforms and how a parse is scored."""

from __future__ import annotations

from pypinyin import Style, lazy_pinyin

from bot.trainer.robustness import TRANSFORMS, emoji_appended, full_width, homophone, punctuation_removed, traditional
from bot.trainer.unseen import UNSEEN, Example, load_examples, score


def test_transforms_change_the_spelling_not_the_words() -> None:
    assert traditional("有一支笔坏了，没收到") == "有一支筆壞了，沒收到"
    assert full_width("订单O1001 退款") == "订单Ｏ１００１\u3000退款"
    assert punctuation_removed("坏了！！怎么办？") == "坏了怎么办"
    assert emoji_appended("坏了").startswith("坏了") and len(emoji_appended("坏了")) > 2


def test_a_homophone_typo_changes_one_character_to_one_that_sounds_the_same() -> None:
    text = "我要退款"
    typo = homophone(text)
    changed = [(a, b) for a, b in zip(text, typo, strict=True) if a != b]
    assert len(changed) == 1
    (a, b), = changed
    assert lazy_pinyin(a, style=Style.NORMAL) == lazy_pinyin(b, style=Style.NORMAL)


def test_transforms_are_the_same_every_run() -> None:
    for transform in TRANSFORMS.values():
        assert transform("东西坏了我要退款！", 0) == transform("东西坏了我要退款！", 0)


def parse(intent: str, confidence: float = 0.9, answer: str | None = None) -> dict[str, object]:
    selector = {"faq": {"response": {"intent_response_key": answer}}} if answer else {}
    return {"intent": {"name": intent, "confidence": confidence}, "response_selector": selector}


def test_scoring_counts_a_fallback_as_wrong_but_as_routed_for_out_of_scope() -> None:
    examples = [Example("开发票", "out_of_scope"), Example("能开专票吗", "out_of_scope"),
                Example("退款多久到", "faq/refund_time"), Example("笔坏了", "report_damaged")]
    parses = [parse("nlu_fallback", 0.2), parse("request_refund"), parse("faq", answer="faq/refund_destination"),
              parse("report_damaged")]
    s = score(examples, parses)
    assert s.accuracy == 0.5  # the faq base intent and the report are right
    assert s.out_of_scope_routed == 0.5  # the fallback counts as routed, the refund does not
    assert s.faq_key_accuracy == 0.0  # right intent, wrong answer
    assert {e["text"] for e in s.errors} == {"开发票", "能开专票吗"}


def test_the_unseen_set_is_large_and_covers_every_intent() -> None:
    examples = load_examples(UNSEEN)
    intents = {e.base for e in examples}
    assert len(examples) >= 300
    assert {"out_of_scope", "faq", "report_damaged", "choose_coupon", "request_human"} <= intents
    assert sum(e.base == "out_of_scope" for e in examples) >= 50
