"""The ETSI GS QKD 014 V1.1.1 REST API as an ASGI application (Starlette) over a :class:`Kme`.

Routes (§5): ``GET /api/v1/keys/{slave_SAE_ID}/status``,
``GET|POST /api/v1/keys/{slave_SAE_ID}/enc_keys`` and
``GET|POST /api/v1/keys/{master_SAE_ID}/dec_keys``. Every error, including malformed
requests and unknown routes, answers with the Error data format
``{"message": ..., "details": [...]}`` and status 400, 401 or 503 (404/405 for
routes outside the API). The caller's SAE ID comes from the verified TLS client
certificate only (:func:`~satqkd.keys.etsi014.identity.caller_sae_id`).

Design for speed (``benchmarks/kms.py``):

* Plain Starlette routes, request bodies validated with the pydantic models of
  :mod:`.models` in one call; key containers (the hot responses) written straight
  to JSON bytes (:func:`.models.key_container_json`, the same bytes as the models),
  the other responses by pydantic's compiled encoder.
  (With trivial endpoints behind the same mutual-TLS server, FastAPI routes cost
  0.44 ms of server CPU per enc_keys + dec_keys pair, plain Starlette routes 0.18 ms,
  measured on the project's 2-core VM: FastAPI's layer alone would be most of the
  budget of a 1,000 pairs/s goal.)
* The endpoints are coroutines and never block on the disk. Every KME call goes to a
  :class:`~satqkd.keys.group_commit.GroupCommitter`, which runs the calls of all
  concurrent requests in one transaction per store and answers each request only
  once that transaction is committed: one fsync per batch, not per request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from satqkd.keys.etsi014.identity import caller_sae_id
from satqkd.keys.etsi014.kme import EtsiError, Kme
from satqkd.keys.etsi014.models import Error, KeyIds, KeyRequest, key_container_json
from satqkd.keys.group_commit import CommitFailedError, GroupCommitter

API_PREFIX = "/api/v1/keys"
JSON = "application/json"
#: Largest request body read (a Key IDs request of 128 keys is about 7 KiB).
MAX_BODY_BYTES = 64 * 1024
#: ``GET enc_keys`` without a query asks for one key of the default size.
_DEFAULT_REQUEST = KeyRequest()


def _error(status_code: int, message: str, details: list[dict[str, Any]] | None) -> Response:
    body = Error(message=message, details=details or None).model_dump_json(
        by_alias=True, exclude_none=True
    )
    return Response(body.encode(), status_code, media_type=JSON)


def _wire(model: BaseModel) -> Response:
    """A 200 response with the model's JSON as the specification spells it."""
    return Response(
        model.model_dump_json(by_alias=True, exclude_none=True).encode(), media_type=JSON
    )


def _bad_request(exc: ValidationError, where: str) -> EtsiError:
    error = EtsiError(400, "bad request format")
    error.details = [
        {".".join(str(p) for p in (where, *err["loc"])): err["msg"]} for err in exc.errors()
    ]
    return error


def _parse_query(model: type[BaseModel], request: Request, names: tuple[str, ...]) -> Any:
    query = request.query_params
    try:
        return model.model_validate({n: query[n] for n in names if n in query})
    except ValidationError as exc:
        raise _bad_request(exc, "query") from None


async def _parse_body(model: type[BaseModel], request: Request, *, optional: bool) -> Any:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise EtsiError(400, "request body too large", max_bytes=MAX_BODY_BYTES)
    if optional and body.strip() in (b"", b"null"):
        return None
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise _bad_request(exc, "body") from None


def create_app(
    kme: Kme,
    committer: GroupCommitter | None = None,
    identify: Callable[[Request], str] = caller_sae_id,
) -> Starlette:
    """The ASGI application serving ``kme`` (run it with :mod:`.server` for mutual TLS).

    ``committer`` defaults to :meth:`Kme.group_committer`; it is closed when the
    application shuts down (ASGI lifespan) and is kept in ``app.state.committer``.
    ``identify`` gives the calling SAE's ID from a request: the TLS client
    certificate's CN, unless a test substitutes it.
    """
    commits = committer or kme.group_committer()

    async def run(fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return await commits.call(fn, *args)
        except CommitFailedError as exc:
            raise EtsiError(503, "the key store could not commit", reason=str(exc)) from exc

    async def status(request: Request) -> Response:
        slave = request.path_params["slave_SAE_ID"]
        return _wire(await run(kme.status, identify(request), slave))

    async def enc_keys(request: Request) -> Response:
        caller = identify(request)
        if request.method == "GET":
            if request.scope["query_string"]:
                key_request = _parse_query(KeyRequest, request, ("number", "size"))
            else:
                key_request = _DEFAULT_REQUEST
        else:
            key_request = await _parse_body(KeyRequest, request, optional=True) or KeyRequest()
        slave = request.path_params["slave_SAE_ID"]
        keys = await run(kme.enc_key_material, caller, slave, key_request)
        return Response(key_container_json(keys), media_type=JSON)

    async def dec_keys(request: Request) -> Response:
        caller = identify(request)
        if request.method == "GET":
            if "key_ID" not in request.query_params:
                raise EtsiError(400, "bad request format", **{"query.key_ID": "Field required"})
            key_ids = [request.query_params["key_ID"]]
        else:
            body: KeyIds = await _parse_body(KeyIds, request, optional=False)
            key_ids = [k.key_id for k in body.key_ids]
        master = request.path_params["master_SAE_ID"]
        keys = await run(kme.dec_key_material, caller, master, key_ids)
        return Response(key_container_json(keys), media_type=JSON)

    def route(path: str, endpoint: Callable[[Request], Any], methods: list[str]) -> Route:
        r = Route(API_PREFIX + path, endpoint, methods=methods)
        r.methods = set(methods)  # no implicit HEAD: a HEAD of enc_keys would waste keys
        return r

    async def etsi_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, EtsiError)
        return _error(exc.status_code, exc.message, exc.details)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return _error(exc.status_code, str(exc.detail), None)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        commits.close()

    app = Starlette(
        routes=[
            route("/{slave_SAE_ID}/status", status, ["GET"]),
            route("/{slave_SAE_ID}/enc_keys", enc_keys, ["GET", "POST"]),
            route("/{master_SAE_ID}/dec_keys", dec_keys, ["GET", "POST"]),
        ],
        exception_handlers={EtsiError: etsi_error, HTTPException: http_error},
        lifespan=lifespan,
    )
    app.state.kme = kme
    app.state.committer = commits
    return app
