"""Open311 GeoReport v2 at ``/api/open311/v2/``, in JSON and in XML (the spec's primary
format: every endpoint answers ``.xml`` as well), so civic-reporting clients that already
speak it can file and follow events: ``services`` (the event categories), ``requests``
(GET with the spec's filters, POST to report), ``requests/{id}``.

A request is an event; its ``service_request_id`` is the event code. ``status`` is the
spec's open/closed; the loop's own status and owning level are in ``extended_attributes``.
Names, phone numbers and e-mail addresses a client may send are not stored: the twin keeps
no personal data it does not need. Errors come as the spec's ``[{"code", "description"}]``.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from twin.api.auth import principal_of
from twin.api.deps import get_engine
from twin.domain.access import PUBLIC, Principal, may, uses
from twin.domain.accounts import COOKIE
from twin.domain.workflow import WorkflowError, report
from twin.publish import open311 as read_model
from twin.publish.open311 import RequestQuery

router = APIRouter(prefix="/open311/v2", tags=["open311"])

JURISDICTION = "330483"  # 桐乡市 (GB/T 2260)
DEFAULT_DAYS = 90


FORMATS = ("json", "xml")
# the element of one item in the XML of each answer (the spec's names)
XML_ITEMS = {"services": "service", "service_requests": "request", "errors": "error"}


def _xml(root: str, items: list[dict[str, Any]]) -> bytes:
    """A list of flat (or one level nested) dicts as the spec's XML document."""
    from xml.etree import ElementTree as ET

    top = ET.Element(root)
    for item in items:
        node = ET.SubElement(top, XML_ITEMS[root])
        for key, value in item.items():
            child = ET.SubElement(node, key)
            if isinstance(value, dict):
                for k, v in value.items():
                    ET.SubElement(child, k).text = "" if v is None else str(v)
            elif isinstance(value, bool):
                child.text = "true" if value else "false"
            elif value is not None:
                child.text = str(value)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(top, encoding="utf-8")


def _answer(fmt: str, root: str, items: list[dict[str, Any]], status: int = 200) -> Response:
    """The answer in the format the path asked for (``.json`` or ``.xml``)."""
    if fmt == "xml":
        return Response(_xml(root, items), status_code=status,
                        media_type="text/xml; charset=utf-8")
    return JSONResponse(items, status_code=status)


def _error(status: int, description: str, fmt: str = "json") -> Response:
    return _answer(fmt if fmt in FORMATS else "json", "errors",
                   [{"code": status, "description": description}], status)


def _format(fmt: str) -> Response | None:
    return None if fmt in FORMATS else _error(400, f"unknown format {fmt[:10]!r}: json or xml")


def _key_ok(request: Request, given: Any) -> bool:
    """An ``api_key`` equal to the configured ``TWIN_OPEN311_API_KEY`` (a partner app)."""
    configured = request.app.state.settings.open311_api_key
    return bool(configured and given) and secrets.compare_digest(str(given), configured)


# a partner app holding the API key (TWIN_OPEN311_API_KEY): reads every request with its
# (scrubbed) description, like an administrator, and reports under its own name
PARTNER = Principal("admin", (), "open311:partner")


def _caller(request: Request, action: str, api_key: Any,
            fmt: str = "json") -> Principal | Response:
    """Who calls, if allowed: reads need a role that uses Open311 (twin.domain.access), the API
    key, or the public read switched on (anyone, as the public); reports a role that
    reports, or the key. A report authenticated by the session cookie must come from this
    site's own pages (its Origin), or it is refused as a cross-site request."""
    if _key_ok(request, api_key):
        return PARTNER
    principal = principal_of(request)
    if action == "read" and uses(principal, "open311"):
        return principal
    if action == "read" and not principal.signed_in \
            and request.app.state.settings.open311_public_read:
        return PUBLIC
    if action == "report" and may(principal, "report"):
        if request.cookies.get(COOKIE) and not request.headers.get("authorization") \
                and not _same_origin(request):
            return _error(403, "a report signed in by cookie must come from this site's pages",
                          fmt)
        return principal
    if not principal.signed_in:
        return _error(401, "sign in, or give the api_key of this endpoint", fmt)
    return _error(403, f"this role may not {action} service requests", fmt)


def _same_origin(request: Request) -> bool:
    """Whether the request's Origin (or, without one, its Referer) is this site."""
    source = request.headers.get("origin") or request.headers.get("referer") or ""
    return bool(source) and urlsplit(source).netloc == request.headers.get("host")


def _check(request: Request, fmt: str) -> Response | None:
    """The format and the jurisdiction asked for, or the error that refuses them."""
    if (bad := _format(fmt)) is not None:
        return bad
    given = request.query_params.get("jurisdiction_id")
    if given not in (None, "", JURISDICTION):
        return _error(404, f"unknown jurisdiction_id {given[:20]!r}: this endpoint serves "
                           f"{JURISDICTION}", fmt)
    return None


@router.get("/services.{fmt}", name="open311_services")
def services(request: Request, fmt: str, engine: Engine = Depends(get_engine)) -> Any:
    """The event categories as Open311 services."""
    if (bad := _check(request, fmt)) is not None:
        return bad
    lang = request.query_params.get("locale", "zh")
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT code, name_zh, name_en FROM event_categories ORDER BY code")).all()
    return _answer(fmt, "services", [
        {"service_code": r.code,
         "service_name": r.name_en if lang.startswith("en") else r.name_zh,
         "description": f"{r.name_zh} / {r.name_en}", "metadata": False,
         "type": "realtime", "keywords": r.code, "group": "grid governance"} for r in rows])


def _parse_time(value: str | None, name: str) -> dt.datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{name} must be a W3C date-time such as 2026-10-01T08:00:00+08:00") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


@router.get("/requests.{fmt}", name="open311_requests")
def requests_list(request: Request, fmt: str, engine: Engine = Depends(get_engine)) -> Any:
    """Service requests by id (comma-separated; overrides the rest), or by service_code,
    start_date/end_date (default: the last 90 days) and status (open/closed); newest first,
    at most 1,000."""
    if (bad := _check(request, fmt)) is not None:
        return bad
    caller = _caller(request, "read", request.query_params.get("api_key"), fmt)
    if isinstance(caller, Response):
        return caller
    q = request.query_params
    if q.get("service_request_id"):
        query = RequestQuery(codes=[c.strip() for c in q["service_request_id"].split(",")
                                    if c.strip()])
    else:
        try:
            end = _parse_time(q.get("end_date"), "end_date") or dt.datetime.now(dt.UTC)
            start = _parse_time(q.get("start_date"), "start_date") or (
                end - dt.timedelta(days=DEFAULT_DAYS))
        except ValueError as exc:
            return _error(400, str(exc), fmt)
        if start > end:
            return _error(400, "start_date must come before end_date", fmt)
        wanted = sorted({s.strip() for s in q["status"].split(",")}) if q.get("status") else []
        if not set(wanted) <= {"open", "closed"}:
            return _error(400, "status is open or closed (comma-separated)", fmt)
        query = RequestQuery(start=start, end=end, statuses=wanted, services=[
            c.strip() for c in q["service_code"].split(",")] if q.get("service_code") else [])
    with engine.connect() as conn:
        return _answer(fmt, "service_requests", read_model.find(conn, caller, query))


@router.get("/requests/{request_id}.{fmt}", name="open311_request")
def request_one(request: Request, request_id: str, fmt: str,
                engine: Engine = Depends(get_engine)) -> Any:
    """One service request, as a list of one (the spec's shape)."""
    if (bad := _check(request, fmt)) is not None:
        return bad
    caller = _caller(request, "read", request.query_params.get("api_key"), fmt)
    if isinstance(caller, Response):
        return caller
    with engine.connect() as conn:
        found = read_model.one(conn, caller, request_id)
    if found is None:  # none, or not one the caller may see: the same answer
        return _error(404, f"no service request {request_id[:40]!r}", fmt)
    return _answer(fmt, "service_requests", [found])


@router.post("/requests.{fmt}", name="open311_create")
async def request_create(request: Request, fmt: str,
                         engine: Engine = Depends(get_engine)) -> Any:
    """Report an event at a point (form-encoded, as the spec says): ``service_code``,
    ``lat``, ``long`` and ``description`` (required here: an event needs words). It is
    owned by the micro-grid holding the point. An ``Idempotency-Key`` header (or
    ``device_id`` + ``attribute[client_key]``) makes a retried submission return the first."""
    if (bad := _check(request, fmt)) is not None:
        return bad
    form = await request.form()
    caller = await run_in_threadpool(_caller, request, "report", form.get("api_key"), fmt)
    if isinstance(caller, Response):
        return caller
    code = (form.get("service_code") or "").strip()
    description = (form.get("description") or "").strip()
    if not code:
        return _error(400, "service_code is required", fmt)
    try:
        lat, lon = float(form.get("lat", "")), float(form.get("long", ""))
    except ValueError:
        return _error(400, "lat and long are required (decimal degrees, WGS84)", fmt)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return _error(400, "lat and long are outside the range of decimal degrees", fmt)
    if not description:
        return _error(400, "description is required: say what is wrong", fmt)
    if len(description) > 4000:
        return _error(400, "description holds at most 4,000 characters", fmt)
    key = request.headers.get("idempotency-key") or (
        f"{form.get('device_id')}:{form.get('attribute[client_key]')}"
        if form.get("device_id") and form.get("attribute[client_key]") else None)
    try:
        event = await run_in_threadpool(
            report, engine, category=code, title=description[:60], description=description,
            lon=lon, lat=lat, source="open311", actor=caller.name,
            client_key=f"open311:{key}"[:200] if key else None)
    except WorkflowError as exc:
        return _error(400, str(exc), fmt)
    return _answer(fmt, "service_requests", [
        {"service_request_id": event.code, "service_notice": "已受理，由所在微网格办理",
         "account_id": None}])
