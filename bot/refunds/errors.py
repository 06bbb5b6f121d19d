"""Errors the service raises; the app turns them into {"detail": {"code", "message"}} responses."""

from __future__ import annotations


class ServiceError(Exception):
    """A refusal with an HTTP status, a stable machine code and an English message."""

    status = 400

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Unauthorized(ServiceError):
    status = 401


class Forbidden(ServiceError):
    status = 403


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


class Invalid(ServiceError):
    status = 422
