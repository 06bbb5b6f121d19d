"""The trainers' NLU inbox through the gateway: capture, grouping, agent marks, labelling, dismissal.

RasaDouble answers like the trusted channel, including its `nlu` parse (see rasa_double.UNDERSTANDING);
the real-model capture is in tests/e2e/test_trainer_loop.py. Labelling writes into a copy of the
project's data, never into the repository's own files.
"""

from __future__ import annotations

import difflib
from datetime import timedelta
from pathlib import Path

from sqlalchemy import update

from bot.db import make_engine
from bot.tokens import mint
from bot.trainer.inbox_models import InboxHit
from bot.transcript.models import now_utc
from tests.gateway.conftest import Rig, auth


def trainer() -> dict[str, str]:
    return auth(mint("trainer", "t1"))


def say(rig: Rig, cid: str, text: str, shopper: str = "s1") -> list[dict]:
    resp = rig.post(f"/api/conversations/{cid}/messages", rig.shopper(shopper), json={"text": text})
    assert resp.status_code == 200, resp.text
    return resp.json()["messages"]


def inbox(rig: Rig, **params: object) -> dict:
    resp = rig.get("/api/trainer/inbox", trainer(), params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_a_fallback_lands_in_the_inbox_with_context_and_the_models_guesses(trainer_rig: Rig) -> None:
    cid = trainer_rig.open("s1", "O1001")
    say(trainer_rig, cid, "有一支笔坏了")  # understood (0.96): stays out
    sent = say(trainer_rig, cid, "那个东西咋整啊")  # nlu_fallback

    items = inbox(trainer_rig)["items"]
    assert [i["text"] for i in items] == ["那个东西咋整啊"]
    item = items[0]
    assert item["hits"] == 1 and item["reasons"] == {"fallback": 1} and item["status"] == "open"
    # the trainer sees the real candidates, not the fallback pseudo-intent
    assert [r["name"] for r in item["model"]["ranking"]] == ["out_of_scope", "ask_refund_status"]
    context = item["contexts"][0]
    assert context["conversation_id"] == cid and context["seq"] == sent[0]["seq"]
    lines = [(m["sender"], m["text"], m["this"]) for m in context["messages"]]
    assert ("shopper", "有一支笔坏了", False) in lines
    assert ("shopper", "那个东西咋整啊", True) in lines
    assert ("bot", "收到：那个东西咋整啊", False) in lines  # the bot's answer comes after


def test_low_confidence_is_filed_and_the_same_text_is_grouped_most_frequent_first(trainer_rig: Rig) -> None:
    a, b, c = trainer_rig.open("s1"), trainer_rig.open("s2"), trainer_rig.open("s3")
    say(trainer_rig, a, "嗯嗯")  # affirm at 0.55: below the 0.70 inbox threshold
    say(trainer_rig, a, "发票怎么开")
    say(trainer_rig, b, "发票怎么开", shopper="s2")
    say(trainer_rig, c, " 发票怎么开 ", shopper="s3")  # the same text after normalisation

    data = inbox(trainer_rig)
    assert [(i["text"], i["hits_in_period"]) for i in data["items"]] == [("发票怎么开", 3), ("嗯嗯", 1)]
    assert data["items"][1]["reasons"] == {"low_confidence": 1}
    assert data["counts"]["open"] == 2


def test_an_agent_marks_a_message_the_bot_got_wrong(trainer_rig: Rig) -> None:
    cid = trainer_rig.open("s1", "O1001")
    sent = say(trainer_rig, cid, "笔坏了，但我其实想问发票")  # the model is confident (report_damaged)
    seq = sent[0]["seq"]
    assert inbox(trainer_rig)["items"] == []

    path = f"/api/agent/conversations/{cid}/messages/{seq}/misunderstood"
    assert trainer_rig.post(path, trainer_rig.shopper("s1")).status_code == 401
    first = trainer_rig.post(path, trainer_rig.agent("a1"))
    again = trainer_rig.post(path, trainer_rig.agent("a2"))
    assert first.status_code == again.status_code == 200, first.text
    assert again.json()["hits"] == 1  # the same message counts once

    items = inbox(trainer_rig)["items"]
    assert len(items) == 1 and items[0]["reasons"] == {"agent": 1}
    assert items[0]["model"]["ranking"][0]["name"] == "report_damaged"
    bot_seq = seq + 1
    bot_path = f"/api/agent/conversations/{cid}/messages/{bot_seq}/misunderstood"
    refused = trainer_rig.post(bot_path, trainer_rig.agent("a1"))
    assert refused.status_code == 422 and refused.json()["code"] == "not_a_shopper_text"


def test_only_trainers_read_the_inbox(trainer_rig: Rig) -> None:
    assert trainer_rig.get("/api/trainer/inbox", trainer_rig.shopper("s1")).status_code == 401
    assert trainer_rig.get("/api/trainer/inbox", trainer_rig.agent("a1")).status_code == 401
    assert trainer_rig.get("/api/trainer/inbox", {}).status_code == 401


def test_labelling_writes_one_example_and_is_idempotent(trainer_rig: Rig, project: Path) -> None:
    cid = trainer_rig.open("s1", "O1001")
    say(trainer_rig, cid, "收到的保温杯盖子裂开了咋办")
    item = inbox(trainer_rig)["items"][0]
    nlu_file = project / "data" / "nlu" / "report_damaged.yml"
    before = nlu_file.read_text(encoding="utf-8")

    meta = trainer_rig.get("/api/trainer/intents", trainer()).json()
    assert "report_damaged" in meta["intents"] and "faq/refund_time" in meta["intents"]
    assert meta["entities"] == ["item"]  # quantities and order ids come from patterns, not marks

    body = {"intent": "report_damaged", "entities": [{"start": 3, "end": 6, "entity": "item"}]}
    resp = trainer_rig.post(f"/api/trainer/inbox/{item['id']}/label", trainer(), json=body)
    assert resp.status_code == 200, resp.text
    labelled = resp.json()
    assert labelled["status"] == "labelled" and labelled["label"]["intent"] == "report_damaged"
    assert labelled["label"]["file"].endswith("report_damaged.yml")

    after = nlu_file.read_text(encoding="utf-8")
    changes = [d for d in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
               if d[:1] in "+-" and not d.startswith(("+++", "---"))]
    assert len(changes) == 1 and changes[0].startswith("+")
    assert "收到的[保温杯](item)盖子裂开了咋办" in changes[0]

    # a second click does not write twice; a different intent is refused
    assert trainer_rig.post(f"/api/trainer/inbox/{item['id']}/label", trainer(), json=body).status_code == 200
    assert nlu_file.read_text(encoding="utf-8") == after
    other = trainer_rig.post(f"/api/trainer/inbox/{item['id']}/label", trainer(), json={"intent": "complain"})
    assert other.status_code == 409 and other.json()["code"] == "already_labelled"
    assert inbox(trainer_rig)["items"] == []
    assert [i["id"] for i in inbox(trainer_rig, status="labelled")["items"]] == [item["id"]]


def test_a_bad_label_changes_nothing(trainer_rig: Rig, project: Path) -> None:
    cid = trainer_rig.open("s1")
    say(trainer_rig, cid, "物流一直不动")
    item = inbox(trainer_rig)["items"][0]
    snapshot = {p: p.read_bytes() for p in (project / "data" / "nlu").glob("*.yml")}
    for body, code in [
        ({"intent": "Not An Intent!"}, "bad_intent"),
        ({"intent": "report_not_delivered", "entities": [{"start": 4, "end": 99, "entity": "item"}]}, "bad_span"),
    ]:
        resp = trainer_rig.post(f"/api/trainer/inbox/{item['id']}/label", trainer(), json=body)
        assert resp.status_code == 422 and resp.json()["code"] == code, resp.text
        assert resp.json()["message_zh"]
    assert {p: p.read_bytes() for p in (project / "data" / "nlu").glob("*.yml")} == snapshot
    assert inbox(trainer_rig)["items"][0]["status"] == "open"


def test_dismiss_hides_an_item_and_reopen_brings_it_back(trainer_rig: Rig) -> None:
    cid = trainer_rig.open("s1")
    say(trainer_rig, cid, "哈哈哈哈哈")
    item_id = inbox(trainer_rig)["items"][0]["id"]
    assert trainer_rig.post(f"/api/trainer/inbox/{item_id}/dismiss", trainer()).json()["status"] == "dismissed"
    assert inbox(trainer_rig)["items"] == []
    assert [i["id"] for i in inbox(trainer_rig, status="dismissed")["items"]] == [item_id]
    say(trainer_rig, cid, "哈哈哈哈哈")  # seen again: counted, but stays dismissed
    assert inbox(trainer_rig, status="dismissed")["items"][0]["hits"] == 2
    assert trainer_rig.post(f"/api/trainer/inbox/{item_id}/reopen", trainer()).json()["status"] == "open"
    assert [i["id"] for i in inbox(trainer_rig)["items"]] == [item_id]


def test_the_week_view_leaves_out_older_messages(trainer_rig: Rig) -> None:
    cid = trainer_rig.open("s1")
    say(trainer_rig, cid, "上个月的问题")
    engine = make_engine(trainer_rig.db_url)
    with engine.begin() as conn:
        conn.execute(update(InboxHit).values(created_at=now_utc() - timedelta(days=10)))
    engine.dispose()
    say(trainer_rig, cid, "这周的问题")
    assert [i["text"] for i in inbox(trainer_rig, days=7)["items"]] == ["这周的问题"]
    assert sorted(i["text"] for i in inbox(trainer_rig, days=0)["items"]) == ["上个月的问题", "这周的问题"]
