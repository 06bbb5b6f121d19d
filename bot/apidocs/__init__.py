"""Write docs/api.md from the code: `bin/api-docs` (or `python -m bot.apidocs [--check] [--out PATH]`).

The gateway and the refund service are built with their app factories (no server, no database, Redis or Rasa
connection: clients are made in the lifespan, which never runs here) and each route is described from what the
code itself says:

- method, path, parameters, request bodies and the refund service's response models: `app.openapi()`;
- who may call it: the bearer-token roles its dependencies ask `bot.tokens.verify` for;
- what it does: its docstring, else the docstring of the function it returns the result of;
- the gateway's response bodies (plain dicts, no response models): read from the functions that build them;
- error statuses and codes: the refusals (GatewayError, the refund service's errors, photo rejections, inbox
  errors) raised on the route's own code path and its dependencies', found by reading that code.

The conventions at the top (tokens, errors, idempotency, money, live streams) are written by hand in
conventions.py, with tables filled from the code (roles, error messages). tests/test_api_docs.py regenerates the
file and fails when the committed docs/api.md differs, so a route change comes with `bin/api-docs`.

Modules: build (the apps, render, main), code (reading routes: calls, refusals, roles), shapes (the gateway's
answers), markdown (a service's tables and objects), conventions (the hand-written part).
"""

from bot.apidocs.build import OUT, gateway_app, main, refunds_app, render

__all__ = ["OUT", "gateway_app", "main", "refunds_app", "render"]
