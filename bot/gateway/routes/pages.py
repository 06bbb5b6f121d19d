"""The web pages: shopper chat at /, agent console at /agent, trainer inbox at /trainer (static, no build)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

STATIC = Path(__file__).resolve().parent.parent / "static"
router = APIRouter()


@router.get("/", include_in_schema=False)
async def chat_page() -> FileResponse:
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


@router.get("/agent", include_in_schema=False)
async def agent_page() -> FileResponse:
    return FileResponse(STATIC / "agent.html", headers={"Cache-Control": "no-cache"})


@router.get("/trainer", include_in_schema=False)
async def trainer_page() -> FileResponse:
    return FileResponse(STATIC / "trainer.html", headers={"Cache-Control": "no-cache"})


@router.get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
