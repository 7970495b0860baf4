"""Errors as RFC 9457 problem details (``application/problem+json``), in one place.

Every error body has ``type``, ``title``, ``status`` and ``detail``; validation errors add
``errors`` (one ``{"field", "message"}`` per problem). Domain errors map by class.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from leadfunnel.domain.access import Forbidden
from leadfunnel.domain.errors import (
    Conflict,
    DomainError,
    IdempotencyConflict,
    IllegalTransition,
    NotFound,
    StorageError,
    ValidationError,
)
from leadfunnel.services.auth import LoginThrottled, NotAuthenticated
from leadfunnel.services.leads import StaleVersion
from leadfunnel.services.pool import AlreadyTaken

__all__ = [
    "PROBLEM",
    "PROBLEM_RESPONSES",
    "ApiProblem",
    "install_problem_handlers",
    "problem",
    "status_for",
]

PROBLEM = "application/problem+json"
log = logging.getLogger(__name__)

#: Status per domain error class; the first match in order wins.
_STATUS: tuple[tuple[type[DomainError], int], ...] = (
    (NotFound, 404),
    (NotAuthenticated, 401),
    (Forbidden, 403),
    (LoginThrottled, 429),
    (StaleVersion, 412),
    (IdempotencyConflict, 422),
    (IllegalTransition, 409),
    (AlreadyTaken, 409),
    (Conflict, 409),
    (ValidationError, 422),
    (StorageError, 503),
)
_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    412: "Precondition failed",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Unprocessable request",
    428: "Precondition required",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}


class ApiProblem(Exception):
    """An HTTP-level refusal raised by the API layer itself (auth headers, preconditions)."""

    def __init__(self, status: int, detail: str, *, code: str = "error",
                 headers: dict[str, str] | None = None) -> None:  # fmt: skip
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code
        self.headers = headers or {}


def problem(
    status: int,
    detail: str,
    *,
    code: str = "error",
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = {
        "type": f"https://leadfunnel.dev/problems/{code.replace('_', '-')}",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def status_for(exc: DomainError) -> int:
    """The HTTP status a domain error answers with (the API's and the pages' alike)."""
    return next((status for cls, status in _STATUS if isinstance(exc, cls)), 400)


def _domain(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    status = status_for(exc)
    extra: dict[str, Any] = {}
    headers: dict[str, str] = {}
    if isinstance(exc, ValidationError):
        extra["errors"] = [{"field": exc.field, "message": exc.reason}]
    if isinstance(exc, LoginThrottled):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, NotAuthenticated):
        headers["WWW-Authenticate"] = 'Bearer realm="leadfunnel"'
    return problem(status, exc.message, code=exc.code, headers=headers, **extra)


def _api(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiProblem)
    return problem(exc.status, exc.detail, code=exc.code, headers=exc.headers)


def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = []
    for err in exc.errors():
        location = [str(part) for part in err.get("loc", ()) if part not in ("body",)]
        errors.append({"field": ".".join(location) or "body", "message": str(err.get("msg", ""))})
    first = errors[0] if errors else {"field": "body", "message": "is not valid"}
    return problem(422, f"{first['field']}: {first['message']}", code="validation_error",
                   errors=errors)  # fmt: skip


def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return problem(exc.status_code, str(exc.detail), code="http_error",
                   headers=dict(exc.headers or {}))  # fmt: skip


def _internal(request: Request, exc: Exception) -> JSONResponse:
    # The trace goes to the log; the caller learns only that it was not their fault.
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(500, "the server failed to answer this request; it has been logged",
                   code="internal_error")  # fmt: skip


#: The problem document every error answers with, for the OpenAPI description.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {
        "description": "A problem: the request was not accepted (RFC 9457)",
        "content": {PROBLEM: {"schema": {
            "type": "object",
            "required": ["type", "title", "status", "detail"],
            "properties": {
                "type": {"type": "string"}, "title": {"type": "string"},
                "status": {"type": "integer"}, "detail": {"type": "string"},
                "code": {"type": "string"},
                "errors": {"type": "array", "items": {"type": "object", "properties": {
                    "field": {"type": "string"}, "message": {"type": "string"}}}},
            },
        }}},
    },
}  # fmt: skip


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain)
    app.add_exception_handler(ApiProblem, _api)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _internal)
