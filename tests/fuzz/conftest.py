"""The fuzz tests run the apps exactly as their own tests do: the gateway's rig (tests/gateway/conftest.py: real
uvicorn gateway, Redis, SQL, the refund service in its own process, RasaDouble for Rasa) and the refund
service's uvicorn server (tests/refunds/conftest.py)."""

from tests.gateway.conftest import env, project, redis_client, refunds_url  # noqa: F401
from tests.refunds.conftest import seeded, server, sessions  # noqa: F401
