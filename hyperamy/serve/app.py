"""The HTTP API (FastAPI): the Python API's calls, with the CLI's JSON shapes and messages.

One open index and one loaded encoder per process, shared by every request. Searches run at
once in the server's thread pool and move to new commits between searches (HyperAmy.refresh);
writes go one at a time through the index's writer lock, so a search never waits for a write.
"""
from __future__ import annotations

import dataclasses
import hmac
import threading
from pathlib import Path
from typing import Any, Literal

from fastapi import Body, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from hyperamy.errors import (CancelledError, DataFormatError, HyperamyError, IndexBusyError, IndexStateError, InputError,
                             NotFoundError)
from hyperamy.serve.middleware import AccessLog, BodyLimit, SecurityHeaders, error

STATIC = Path(__file__).parent / "static"


@dataclasses.dataclass(frozen=True)
class Limits:
    """Bounds on what one request may ask for."""

    max_body_bytes: int = 16 * 1024 * 1024
    max_batch: int = 1000  # documents per POST /documents, texts per POST /predict
    max_k: int = 1000
    max_query_chars: int = 2000


class Documents(BaseModel):
    model_config = ConfigDict(extra="forbid")
    documents: list[dict[str, Any]] = Field(description="Records: `id`, `text`, any other fields are metadata.")


class Texts(BaseModel):
    model_config = ConfigDict(extra="forbid")
    texts: list[str]
    spans: list[str | None] | None = Field(None, description="Per text: the part to feel, or null.")


class ServiceError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def create_app(engine, token: str | None = None, limits: Limits = Limits(), access_log: bool = False) -> FastAPI:
    """The service over an open HyperAmy (whose encoder it loads once, at start); `access_log`
    writes a line per request to stderr."""
    from fastapi_offline import FastAPIOffline

    # /docs and /redoc from files shipped in fastapi-offline, not a CDN: they work offline
    app = FastAPIOffline(title="hyperamy", summary="Retrieval that understands how text feels as well as what it says.",
                         default_response_class=PlainJSON)  # strict JSON from every route
    app.state.engine = engine
    writing = threading.Lock()  # one write at a time from this process (the index lock covers others)

    app.add_middleware(BodyLimit, limit=limits.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    if access_log:
        app.add_middleware(AccessLog)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):  # unknown routes, wrong methods: one shape
        return error(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        first = exc.errors()[0]
        if first.get("type") == "json_invalid":
            return error(400, f"the request body is not valid JSON: {first.get('ctx', {}).get('error', '')}".rstrip(": "))
        where = ".".join(str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path"))
        return error(422, f"{where or 'request'}: {first.get('msg', 'invalid')}")

    @app.exception_handler(HyperamyError)
    async def hyperamy_error(request: Request, exc: HyperamyError):
        status = 400 if isinstance(exc, (InputError, DataFormatError)) else 503 if isinstance(exc, IndexBusyError) \
            else 409 if isinstance(exc, IndexStateError) else 499 if isinstance(exc, CancelledError) else 500
        return error(status, str(exc))

    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError):
        return error(exc.status, exc.message)

    def authorized(request: Request) -> None:
        if token is None:
            return
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            raise ServiceError(401, "this server takes writes only with its token: send 'Authorization: Bearer TOKEN'")

    @app.get("/", include_in_schema=False)
    def page():
        return FileResponse(STATIC / "index.html")

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok", "documents": len(engine)}

    @app.get("/info")
    def info() -> dict:
        return engine.info()

    @app.get("/search")
    async def search(request: Request, q: str = Query(..., min_length=1, max_length=limits.max_query_chars),
               k: int = Query(10, ge=1, le=limits.max_k),
               mode: Literal["hybrid", "semantic", "lexical", "emotion"] = "hybrid",
               where: str | None = None, emotion: list[str] = Query(default_factory=list),
               span: str | None = None, semantic_share: float | None = None, emotion_weight: float | None = None,
               candidates: int | None = Query(None, ge=1, le=10000), about: str | None = None,
               recency: str | None = None, fusion: Literal["fitted", "evidence"] | None = None) -> dict:
        settings = {name: value for name, value in (("semantic_share", semantic_share),
                                                    ("emotion_weight", emotion_weight),
                                                    ("candidates", candidates), ("fusion", fusion)) if value is not None}
        hits = await _until_disconnect(request, lambda: engine.search(
            q, k=k, mode=mode, where=where, emotion=emotion, span=span, about=about, recency=recency, **settings))
        return PlainJSON({"query": q, "mode": mode, "warning": hits[0].warning if hits else None,
                          "hits": [hit.to_dict() for hit in hits]})

    @app.get("/entities")
    def entities(limit: int = Query(30, ge=1, le=10000), min_mentions: int = Query(1, ge=1)) -> dict:
        return PlainJSON({"entities": engine.entities(limit=limit, min_mentions=min_mentions)})

    @app.get("/entities/{name}")
    def entity(name: str, top: int = Query(3, ge=1, le=27), passages: int = Query(3, ge=1, le=50)) -> dict:
        try:
            return PlainJSON(engine.entity(name, top=top, passages=passages))
        except NotFoundError as exc:  # no such entity here: the resource asked for is not there
            raise ServiceError(404, str(exc)) from None

    @app.get("/arc")
    def arc(by: str | None = None, labels: Literal["ekman", "group", "six", "goemotions", "vad"] = "ekman",
            points: int = Query(100, ge=2, le=2000), window: int | None = Query(None, ge=1),
            entity: str | None = None, where: str | None = None) -> dict:
        """How feeling moves through the index (as `hyperamy arc --json`)."""
        return PlainJSON(engine.arc(by=by, labels=labels, points=points, window=window, entity=entity,
                                    where=where).to_dict())

    @app.get("/arc.png", response_class=Response, responses={200: {"content": {"image/png": {}}}})
    def arc_picture(by: str | None = None, labels: Literal["ekman", "group", "six", "goemotions", "vad"] = "ekman",
                    points: int = Query(100, ge=2, le=2000), entity: str | None = None,
                    style: Literal["lines", "areas"] = "lines") -> Response:
        """The arc drawn (as `hyperamy arc --plot`): chapters or dates along x when `by` names them."""
        import io

        from hyperamy.arcs.plot import plot_arc

        picture = io.BytesIO()
        plot_arc(engine.arc(by=by, labels=labels, points=points, entity=entity), picture, style=style)
        return Response(picture.getvalue(), media_type="image/png")

    @app.post("/documents")
    def upsert(request: Request, body: Documents) -> dict:
        authorized(request)
        if len(body.documents) > limits.max_batch:
            raise ServiceError(413, f"{len(body.documents)} documents in one request; at most {limits.max_batch}")
        if not body.documents:
            raise ServiceError(400, "no documents in the request")
        with writing:
            report = engine.add(body.documents)
        return {**dataclasses.asdict(report), "documents": len(engine)}

    @app.delete("/documents/{doc_id:path}")  # :path: an id may hold any character, "/" too
    def delete(request: Request, doc_id: str) -> dict:
        authorized(request)
        with writing:
            removed = engine.remove([doc_id])
        if not removed:
            raise ServiceError(404, f"no document {doc_id!r}")
        return {"removed": removed, "documents": len(engine)}

    @app.get("/documents/{doc_id:path}")
    def get(doc_id: str) -> dict:
        found = engine.get(doc_id)
        if found is None:
            raise ServiceError(404, f"no document {doc_id!r}")
        return found

    @app.get("/documents")
    async def listing(request: Request, where: str | None = None, limit: int = Query(50, ge=1, le=limits.max_k),
                      offset: int = Query(0, ge=0)) -> dict:
        def work():
            return {"total": engine.count(where), "offset": offset,
                    "documents": engine.list(where=where, limit=limit, offset=offset)}

        return await _until_disconnect(request, work)

    @app.post("/predict")
    def predict(body: Texts = Body(...)) -> dict:
        if not body.texts or len(body.texts) > limits.max_batch:
            raise ServiceError(400, f"give 1 to {limits.max_batch} texts")
        if body.spans is not None and len(body.spans) != len(body.texts):
            raise ServiceError(400, f"got {len(body.spans)} spans for {len(body.texts)} texts")
        encoder = engine.encoder.emotion  # float32, as `hyperamy predict` reads (documents may be bfloat16)
        batch = encoder.encode(body.texts, spans=body.spans)
        thresholds, intensities = encoder.thresholds, batch.intensity
        return {"predictions": [{
            "text": text, "span": body.spans[i] if body.spans else None, "kappa": float(batch.kappa[i]),
            "top": [{"label": name, "prob": round(p, 6)} for name, p in batch.top(i, 5)],
            "predicted": [name for name, p, t in zip(batch.labels, batch.probs[i], thresholds) if p >= t],
            "strength": None if batch.strength is None else round(float(batch.strength[i]), 6),
            **batch.affect_of(i),
            "intensity": None if intensities is None else {name: round(float(v), 6) for name, v in zip(batch.labels, intensities[i])
                                                    if name != "neutral"},
        } for i, text in enumerate(body.texts)]}

    return app


class PlainJSON(JSONResponse):
    """JSON written straight from plain values (FastAPI's generic encoder walks every field: a
    search answer took it milliseconds); strict JSON as in the CLI (jsontext.py)."""

    def render(self, content) -> bytes:
        from hyperamy.jsontext import dumps

        return dumps(content).encode("utf-8")


async def _until_disconnect(request: Request, work):
    """Run blocking `work` in the thread pool; a `--where` inside it stops if the client goes away."""
    import asyncio

    from starlette.concurrency import run_in_threadpool

    from hyperamy.store import cancelled_by

    gone = threading.Event()

    def run():
        with cancelled_by(gone):
            return work()

    task = asyncio.ensure_future(run_in_threadpool(run))
    try:
        while not task.done():
            await asyncio.wait({task}, timeout=0.25)
            if not task.done() and await request.is_disconnected():
                gone.set()
        return task.result()
    finally:
        gone.set()  # a request cancelled by the server itself stops its filter too
