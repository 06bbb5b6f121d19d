"""How long a shopper waits for an answer while a new model is being loaded.

Starts the real processes (as the end-to-end tests do), puts a shopper in the middle of the photo form,
then loads a copy of the live model twice: once with Rasa's own `PUT /model` and once through the trusted
channel's threaded load (what bin/retrain and the trainer page use). One second into each load the shopper
sends a photo; the script prints how long that answer took and how long the load took.

    .venv/bin/python -m benchmarks.reload_pause
"""

from __future__ import annotations

import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import httpx

from bot.rasa_protocol import MODEL_PATH, SECRET_HEADER
from bot.settings import ROOT, get_settings
from tests.e2e.conftest import Conversation
from tests.e2e.stack import Stack


def put_model(stack: Stack, model: Path) -> None:
    token = replace(get_settings(), secret=stack.secret).rasa_api_token
    resp = httpx.put(f"{stack.url('rasa')}/model", params={"token": token}, json={"model_file": str(model)},
                     timeout=600)
    resp.raise_for_status()


def threaded_load(stack: Stack, model: Path) -> None:
    resp = httpx.post(f"{stack.url('rasa')}{MODEL_PATH}", json={"model_file": str(model)},
                      headers={SECRET_HEADER: stack.channel_secret}, timeout=600)
    resp.raise_for_status()


def measure(stack: Stack, load, model: Path, seed: int) -> tuple[float, float]:  # noqa: ANN001
    chat = Conversation(stack, "s1")
    chat.send("start", order_id="O1001")
    chat.say("有一支笔坏了")
    with ThreadPoolExecutor(1) as pool:
        started = time.monotonic()
        loading = pool.submit(load, stack, model)
        time.sleep(1.0)
        sent = time.monotonic()
        chat.photo("package", seed=seed)
        answered = time.monotonic() - sent
        loading.result()
        return answered, time.monotonic() - started


def main() -> None:
    models = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        raise SystemExit("no model in models/: run bin/setup first")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        copies = [workdir / f"copy-{n}-{models[-1].name}" for n in range(2)]
        for copy in copies:
            shutil.copyfile(models[-1], copy)
        stack = Stack(workdir=workdir, database_url=f"sqlite:///{workdir / 'bench.sqlite3'}")
        stack.start()
        try:
            for (name, load), model, seed in zip(
                (("Rasa PUT /model", put_model), ("trusted channel, threaded", threaded_load)), copies, (21, 22),
                strict=True,
            ):
                answered, loaded = measure(stack, load, model, seed)
                print(f"{name:28s} answer during the load after {answered:5.1f} s; load took {loaded:5.1f} s")
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
