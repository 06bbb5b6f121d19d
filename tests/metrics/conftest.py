"""The refund service's fixtures (a seeded database, photo rows, a real uvicorn server), shared with tests/refunds."""

from tests.refunds.conftest import add_photo, evidence, seeded, server, sessions  # noqa: F401
