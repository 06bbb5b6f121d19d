"""The /ops tests use the refund service's fixtures (seeded database, real server) and the gateway rig."""

from tests.gateway.conftest import env, redis_client, refunds_url, rig  # noqa: F401  (fixtures)
from tests.refunds.conftest import seeded, server, session, sessions  # noqa: F401  (fixtures)
