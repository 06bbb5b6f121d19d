"""The pure half of the trusted channel: sanitising, intent messages, offered buttons, validation."""

from __future__ import annotations

import pytest
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
from rasa.shared.nlu.training_data.message import Message

from bot.channel.inbound import (
    MAX_TEXT_CHARS,
    ChannelError,
    build_photo_message,
    build_start_message,
    offered_button,
    parse_inbound,
    sanitise_text,
)

PHOTO_ID = "0123456789abcdef0123456789abcdef"


def rasa_intent(text: str) -> dict | None:
    """What Rasa's own "/intent{...}" handling makes of a text (as a UserMessage would strip it)."""
    return YAMLStoryReader.unpack_regex_message(Message({"text": text.strip()})).get("intent")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("/restart", "restart"),
        ("／choose_refund", "choose_refund"),
        (" /restart", "restart"),
        ("\u3000/choose_refund", "choose_refund"),
        ("\u200b/choose_refund", "choose_refund"),
        ("\ufeff\u200d\u2060/restart", "restart"),
        ("\u00a0\u202e/restart", "restart"),
        ("∕restart", "restart"),
        ("⁄restart", "restart"),
        ('//  /\u3000／/choose_refund{"amount": 999}', 'choose_refund{"amount": 999}'),
        ("\u200b \u200b/\u3000\u200b/restart", "restart"),
        ("\u0301/restart", "restart"),
    ],
)
def test_leading_slashes_and_invisible_characters_are_removed(typed, expected):
    assert rasa_intent(typed) is not None or not typed.strip().startswith("/")
    clean = sanitise_text(typed)
    assert clean == expected
    assert rasa_intent(clean) is None


@pytest.mark.parametrize(
    "text",
    [
        "有一支笔坏了",
        "我要退款，谢谢！",
        "订单 O1001 少发了两个",
        "3/4 的商品坏了",
        "abc /restart",
        "退款到哪了？",
    ],
)
def test_ordinary_text_is_unchanged(text):
    assert sanitise_text(text) == text


def test_surrounding_blanks_are_trimmed_but_inner_text_kept():
    assert sanitise_text("  有一支笔坏了 / 两个  \n") == "有一支笔坏了 / 两个"


def test_no_single_character_prefix_lets_a_slash_through():
    """Every code point in front of "/restart": what is left never starts with "/" (also after NFKC)."""
    import unicodedata

    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        clean = sanitise_text(chr(cp) + "/restart")
        assert not clean.strip().startswith("/"), hex(cp)
        assert not unicodedata.normalize("NFKC", clean).strip().startswith("/"), hex(cp)


def test_photo_message_is_an_intent_rasa_unpacks():
    text = build_photo_message("label", PHOTO_ID)
    assert text == '/upload_photo{"photo_label": "0123456789abcdef0123456789abcdef"}'
    message = YAMLStoryReader.unpack_regex_message(Message({"text": text}))
    assert message.get("intent")["name"] == "upload_photo"
    assert [(e["entity"], e["value"]) for e in message.get("entities")] == [("photo_label", PHOTO_ID)]


@pytest.mark.parametrize(
    ("kind", "photo_id", "code"),
    [
        ("selfie", PHOTO_ID, "bad_photo_kind"),
        ('package"}', PHOTO_ID, "bad_photo_kind"),
        ("package", PHOTO_ID.upper(), "bad_photo_id"),
        ("package", PHOTO_ID[:-1], "bad_photo_id"),
        ("package", PHOTO_ID[:-2] + '"}', "bad_photo_id"),
        ("package", PHOTO_ID + "\n", "bad_photo_id"),
    ],
)
def test_photo_message_refuses_bad_kind_or_id(kind, photo_id, code):
    with pytest.raises(ChannelError) as info:
        build_photo_message(kind, photo_id)
    assert (info.value.status, info.value.code) == (422, code)


def test_start_message():
    assert build_start_message(None) == "/greet"
    assert build_start_message("O1001") == '/greet{"order_id": "O1001"}'
    with pytest.raises(ChannelError):
        build_start_message('O1"}, "x": "')


def _events(*payloads: str) -> list:
    return [
        ActionExecuted("action_listen"),
        UserUttered("有一支笔坏了"),
        BotUttered("请选择", data={"buttons": [{"title": p, "payload": p} for p in payloads]}),
        BotUttered("好的"),
    ]


def test_a_button_counts_only_if_a_bot_turn_offered_it():
    events = _events("/choose_refund", "/choose_coupon")
    assert offered_button(events, "/choose_refund") == {"title": "/choose_refund", "payload": "/choose_refund"}
    assert offered_button([e.as_dict() for e in events], "/choose_coupon") is not None
    assert offered_button(events, "/restart") is None
    assert offered_button(events, "/choose_refund ") is None
    assert offered_button([], "/choose_refund") is None


def test_the_latest_offer_gives_the_title():
    events = [
        BotUttered("请选择", data={"buttons": [{"title": "退款 ¥3.50", "payload": "/choose_refund"}]}),
        BotUttered("请选择", data={"buttons": [{"title": "退款 ¥7.00", "payload": "/choose_refund"}]}),
    ]
    assert offered_button(events, "/choose_refund") == {"title": "退款 ¥7.00", "payload": "/choose_refund"}


def test_user_text_that_looks_like_a_button_is_not_an_offer():
    events = [UserUttered("/choose_refund", parse_data={"buttons": [{"payload": "/choose_refund"}]})]
    assert offered_button(events, "/choose_refund") is None


def _body(**fields):
    return {"shopper_id": "s1", "conversation_id": "c_ab12", **fields}


def test_parse_text_event():
    inbound = parse_inbound(_body(event="text", text=" ／restart"))
    assert inbound.text == "restart"
    assert inbound.sender_id == "s1:c_ab12"
    assert inbound.metadata == {"shopper_id": "s1", "conversation_id": "c_ab12", "event": "text"}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ([], "bad_body"),
        (_body(event="shout", text="x"), "bad_event"),
        (_body(text="x"), "bad_event"),
        (_body(event="text"), "missing_field"),
        (_body(event="text", text="x", payload="/restart"), "unexpected_field"),
        (_body(event="text", text="x", sender="admin"), "unexpected_field"),
        ({"conversation_id": "c1", "event": "start"}, "missing_field"),
        (_body(event="text", text=5), "bad_text"),
        (_body(event="text", text="\ud800"), "bad_text"),
        (_body(event="text", text=" \u3000/ ／ "), "empty_text"),
        (_body(event="text", text="好" * (MAX_TEXT_CHARS + 1)), "text_too_long"),
        ({**_body(event="start"), "shopper_id": "s1:evil"}, "bad_shopper_id"),
        ({**_body(event="start"), "shopper_id": "s" * 65}, "bad_shopper_id"),
        ({**_body(event="start"), "conversation_id": "c1\n"}, "bad_conversation_id"),
        ({**_body(event="start"), "conversation_id": "会话"}, "bad_conversation_id"),
        (_body(event="button", payload=""), "button_not_offered"),
        (_body(event="photo", photo_id=PHOTO_ID), "missing_field"),
        (_body(event="photo", photo_id="../x", photo_kind="package"), "bad_photo_id"),
        (_body(event="start", order_id=1001), "bad_order_id"),
    ],
)
def test_parse_refuses(body, code):
    with pytest.raises(ChannelError) as info:
        parse_inbound(body)
    assert (info.value.status, info.value.code) == (422, code)


def test_text_of_exactly_the_limit_is_accepted():
    assert len(parse_inbound(_body(event="text", text="好" * MAX_TEXT_CHARS)).text) == MAX_TEXT_CHARS


def test_parse_photo_button_and_start():
    assert parse_inbound(_body(event="photo", photo_id=PHOTO_ID, photo_kind="items")).text == (
        f'/upload_photo{{"photo_items": "{PHOTO_ID}"}}'
    )
    assert parse_inbound(_body(event="button", payload="/choose_refund")).text == "/choose_refund"
    assert parse_inbound(_body(event="start")).text == "/greet"
    assert parse_inbound(_body(event="start", order_id="O1001")).metadata["event"] == "start"
