"""The ETSI GS QKD 014 V1.1.1 REST API as a FastAPI application over a :class:`Kme`.

Routes (§5): ``GET /api/v1/keys/{slave_SAE_ID}/status``,
``GET|POST /api/v1/keys/{slave_SAE_ID}/enc_keys`` and
``GET|POST /api/v1/keys/{master_SAE_ID}/dec_keys``. Every error, including malformed
requests and unknown routes, answers with the Error data format
``{"message": ..., "details": [...]}`` and status 400, 401 or 503 (404/405 for
routes outside the API). The caller's SAE ID comes from the dependency
:func:`~satqkd.keys.etsi014.identity.caller_sae_id` (tests may override it).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from satqkd.keys.etsi014.identity import caller_sae_id
from satqkd.keys.etsi014.kme import EtsiError, Kme
from satqkd.keys.etsi014.models import Error, KeyIds, KeyRequest

API_PREFIX = "/api/v1/keys"

Caller = Annotated[str, Depends(caller_sae_id)]


def _error(status_code: int, message: str, details: list[dict[str, Any]] | None) -> JSONResponse:
    return JSONResponse(Error(message=message, details=details or None).wire(), status_code)


def create_app(kme: Kme) -> FastAPI:
    """The FastAPI application serving ``kme`` (run it with :mod:`.server` for mutual TLS)."""
    app = FastAPI(
        title="satqkd KME (ETSI GS QKD 014 V1.1.1)",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.kme = kme

    @app.exception_handler(EtsiError)
    async def _etsi_error(request: Request, exc: EtsiError) -> JSONResponse:
        return _error(exc.status_code, exc.message, exc.details)

    @app.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {".".join(str(p) for p in err.get("loc", ())): err.get("msg", "")}
            for err in exc.errors()
        ]
        return _error(400, "bad request format", details)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail), None)

    @app.get(API_PREFIX + "/{slave_SAE_ID}/status")
    def get_status(slave_SAE_ID: str, caller: Caller) -> JSONResponse:
        return JSONResponse(kme.status(caller, slave_SAE_ID).wire())

    @app.get(API_PREFIX + "/{slave_SAE_ID}/enc_keys")
    def get_enc_keys(
        slave_SAE_ID: str,
        caller: Caller,
        number: Annotated[int | None, Query()] = None,
        size: Annotated[int | None, Query()] = None,
    ) -> JSONResponse:
        request = KeyRequest(number=number, size=size)
        return JSONResponse(kme.enc_keys(caller, slave_SAE_ID, request).wire())

    @app.post(API_PREFIX + "/{slave_SAE_ID}/enc_keys")
    def post_enc_keys(
        slave_SAE_ID: str,
        caller: Caller,
        body: Annotated[KeyRequest | None, Body()] = None,
    ) -> JSONResponse:
        return JSONResponse(kme.enc_keys(caller, slave_SAE_ID, body or KeyRequest()).wire())

    @app.get(API_PREFIX + "/{master_SAE_ID}/dec_keys")
    def get_dec_keys(
        master_SAE_ID: str,
        caller: Caller,
        key_ID: Annotated[str, Query()],
    ) -> JSONResponse:
        return JSONResponse(kme.dec_keys(caller, master_SAE_ID, [key_ID]).wire())

    @app.post(API_PREFIX + "/{master_SAE_ID}/dec_keys")
    def post_dec_keys(master_SAE_ID: str, caller: Caller, body: KeyIds) -> JSONResponse:
        key_ids = [k.key_id for k in body.key_ids]
        return JSONResponse(kme.dec_keys(caller, master_SAE_ID, key_ids).wire())

    return app
