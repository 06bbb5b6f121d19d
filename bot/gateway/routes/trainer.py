"""Trainer API and page data: the NLU inbox, labelling, retrain with hot reload, the evaluation report."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated, Any, TypeVar

import anyio.to_thread
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse

from bot.gateway.deps import GatewayDep, _staff
from bot.gateway.errors import GatewayError
from bot.gateway.schemas import ItemId, LabelIn, RetrainIn
from bot.tokens import Principal
from bot.trainer import inbox, labels, nlu_files, retrain

router = APIRouter(prefix="/api/trainer")
T = TypeVar("T")


async def trainer(request: Request) -> Principal:
    return await _staff(request, "trainer")


TrainerDep = Annotated[Principal, Depends(trainer)]


async def _inbox(call: Awaitable[T]) -> T:
    """Run an inbox operation, turning its refusals into the gateway's bilingual errors."""
    try:
        return await call
    except inbox.InboxError as exc:
        raise GatewayError(exc.status, "item_not_found" if exc.code == "not_found" else exc.code,
                           message_en=str(exc)) from exc


@router.get("/me")
async def me(who: TrainerDep) -> dict[str, str]:
    return {"trainer_id": who.subject}


@router.get("/inbox")
async def list_inbox(
    gw: GatewayDep,
    _: TrainerDep,
    status: Annotated[str, Query(pattern="^(open|labelled|dismissed|all)$")] = "open",
    days: Annotated[int, Query(ge=0, le=3650)] = 7,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Misunderstood texts seen in the last `days` days (0 = all time), most frequent first."""
    period = days or None
    items = await gw.db.run(inbox.list_items, status=status, days=period, limit=limit)
    return {"items": items, "counts": await gw.db.run(inbox.counts, days=period), "days": days}


@router.get("/inbox/{item_id}")
async def get_item(item_id: ItemId, gw: GatewayDep, _: TrainerDep) -> dict[str, Any]:
    return await _inbox(gw.db.run(inbox.get_item, item_id))


@router.post("/inbox/{item_id}/label")
async def label(item_id: ItemId, body: LabelIn, gw: GatewayDep, who: TrainerDep) -> dict[str, Any]:
    entities = [e.dict() for e in body.entities]
    return await _inbox(
        labels.label_item(gw.db, gw.config.project_root, item_id, intent=body.intent.strip(),
                          entities=entities, trainer=who.subject)
    )


@router.post("/inbox/{item_id}/dismiss")
async def dismiss(item_id: ItemId, gw: GatewayDep, who: TrainerDep) -> dict[str, Any]:
    return await _inbox(gw.db.run(inbox.dismiss, item_id, trainer=who.subject))


@router.post("/inbox/{item_id}/reopen")
async def reopen(item_id: ItemId, gw: GatewayDep, _: TrainerDep) -> dict[str, Any]:
    return await _inbox(gw.db.run(inbox.reopen, item_id))


@router.get("/intents")
async def intents(gw: GatewayDep, _: TrainerDep) -> dict[str, list[str]]:
    """What a label may say: the intents (faq/* included) and the entity types marked by hand."""
    root = gw.config.project_root
    return {
        "intents": await anyio.to_thread.run_sync(nlu_files.known_intents, root),
        "entities": await anyio.to_thread.run_sync(nlu_files.marked_entity_types, root),
    }


@router.post("/retrain", status_code=202)
async def start_retrain(body: RetrainIn, _: TrainerDep) -> dict[str, Any]:
    """Train in the background; the new model goes live only if it is not worse on the held-in set."""
    try:
        run_id = await anyio.to_thread.run_sync(lambda: retrain.start_retrain(tolerance=body.tolerance))
    except retrain.RetrainBusy as exc:
        raise GatewayError(409, "retrain_busy", message_en=str(exc)) from exc
    return (await anyio.to_thread.run_sync(retrain.read_status, run_id)) or {"run_id": run_id, "state": "queued"}


@router.get("/retrain")
async def latest_retrain(_: TrainerDep) -> dict[str, Any]:
    """The newest run's status (or none) and the model the bot is serving."""
    latest = await anyio.to_thread.run_sync(retrain.latest_status)
    live = await anyio.to_thread.run_sync(retrain.live_model)
    return {"run": latest, "live_model": live}


@router.get("/retrain/{run_id}")
async def retrain_status(run_id: str, _: TrainerDep) -> dict[str, Any]:
    status = await anyio.to_thread.run_sync(retrain.read_status, run_id)
    if status is None:
        raise GatewayError(404, "run_not_found")
    return status


@router.post("/rollback")
async def rollback(_: TrainerDep) -> dict[str, Any]:
    """Put the previous model back live (the current one is moved aside, not deleted)."""
    try:
        return await anyio.to_thread.run_sync(retrain.rollback)
    except Exception as exc:  # the English reason is what the trainer needs to act on
        raise GatewayError(409, "rollback_failed", message_en=str(exc)) from exc


@router.get("/report")
async def report(gw: GatewayDep, _: TrainerDep) -> FileResponse:
    """The evaluation report written by bin/eval-nlu or the last retrain (HTML, pictures inlined)."""
    path = gw.config.project_root / "results" / "report.html"
    if not path.is_file():
        raise GatewayError(404, "no_report")
    return FileResponse(path, media_type="text/html", headers={"Cache-Control": "no-cache"})
