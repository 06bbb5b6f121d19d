"""The web pages: shopper chat at / and the agent console at /agent (static files, no build)."""

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


@router.get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
