"""``/ogc``: OGC API – Features Part 1 Core (GeoJSON), Part 2 (CRS by reference) and Part 3
(CQL2 filters) over the twin (a thin adapter); the tiles are in :mod:`twin.api.ogc_tiles`.

What is published and how it is queried lives in :mod:`twin.publish.ogc`; this module parses the
request, turns :class:`twin.publish.ogc.InvalidParameter` into 400 and builds the links, always
from the request so they stay right behind a proxy or under the ``/api`` mount.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.engine import Engine

from twin.api import ogc_html
from twin.api.auth import READERS
from twin.api.deps import as_bad_request, get_read_engine
from twin.domain.access import Principal
from twin.errors import NotFound
from twin.publish import ogc

router = APIRouter(prefix="/ogc", tags=["ogc"])

JSON = "application/json"
GEOJSON = "application/geo+json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.1"  # what FastAPI serves

FormatQuery = Query(None, description="Response format: json, or html (pages to read in a "
                                      "browser, also chosen by `Accept: text/html`)")
CrsQuery = Query(None, description="The CRS of the geometries (a URI from the collection's "
                                   "`crs` list; default CRS84)")
Reader = Depends(READERS["ogc"])


def _html(request: Request, f: str | None) -> bool:
    """Whether to answer as a page: ``f=html``, or no ``f`` and a browser's Accept."""
    if f is not None:
        return f.lower() == "html"
    accept = request.headers.get("accept", "")
    return accept.split(",")[0].strip().startswith("text/html")


def _pages(request: Request) -> tuple[str, str, str]:
    """(language, the landing page's URL, this page's URL) for an HTML answer."""
    return (ogc_html.language(dict(request.query_params)), str(request.url_for("ogc_landing")),
            str(request.url))


def json_response(doc: Any, media_type: str = JSON) -> Response:
    return Response(json.dumps(doc, ensure_ascii=False), media_type=media_type)


def link(href: Any, rel: str, type_: str = JSON, title: str | None = None) -> dict[str, str]:
    link = {"href": str(href), "rel": rel, "type": type_}
    if title:
        link["title"] = title
    return link


def visible_collection(collection_id: str, principal: Principal) -> ogc.Collection:
    """The collection, if the principal sees any of it (else the same 404 as for none)."""
    c = ogc.get_collection(collection_id)
    if c is None or c not in ogc.visible_collections(principal):
        raise NotFound(f"no collection {collection_id[:60]!r}")
    return c


def _extents(request: Request, engine: Engine, collections: list[ogc.Collection]):
    cache = getattr(request.app.state, "ogc_extents", None)
    if cache is None:
        cache = request.app.state.ogc_extents = ogc.ExtentCache()
    with engine.connect() as conn:
        return cache.get(conn, collections)


def _collection_links(request: Request, c: ogc.Collection) -> list[dict[str, str]]:
    here = request.url_for("ogc_collection", collection_id=c.id)
    links = [
        link(here, "self", title=c.title),
        link(request.url_for("ogc_items", collection_id=c.id), "items", GEOJSON,
             title=f"{c.title} features"),
        link(request.url_for("ogc_queryables", collection_id=c.id),
             "http://www.opengis.net/def/rel/ogc/1.0/queryables", "application/schema+json"),
    ]
    if c.tiles is not None:
        links.append(link(request.url_for("ogc_tilesets", collection_id=c.id),
                          "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector",
                          title=f"{c.title} vector tiles"))
    return links


@router.get("", name="ogc_landing", summary="OGC API landing page (Features and Tiles)")
@router.get("/", include_in_schema=False)
def landing(request: Request, f: str | None = FormatQuery) -> Response:
    """The landing page: links to the API definition, conformance and the collections."""
    with as_bad_request(ogc.InvalidParameter):
        ogc.check_format(f)
    doc = {
        "title": "乡村数字孪生 OGC API – Features, Tiles",
        "description": "Village Twin: units, buildings, land, facilities, stations, "
                       "observations, events, organizations, households and resident counts.",
        "links": [
            link(request.url_for("ogc_landing"), "self", title="this document"),
            link(request.url_for("openapi"), "service-desc", OPENAPI,
                  title="the API definition (OpenAPI)"),
            link(request.url_for("ogc_conformance"), "conformance"),
            link(request.url_for("ogc_collections"), "data", title="the collections"),
            link(request.url_for("ogc_tile_matrix_sets"),
                 "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes",
                 title="the tile matrix sets"),
            link(request.url_for("ogc_map_tilesets"),
                 "http://www.opengis.net/def/rel/ogc/1.0/tilesets-map",
                 title="the imagery as map tiles"),
            link(request.url_for("sta_root"), "related",
                 title="OGC SensorThings API 1.1: the stations and their readings"),
        ],
    }
    if _html(request, f):
        lang, home, _ = _pages(request)
        return ogc_html.landing(doc, lang, home)
    return json_response(doc)


@router.get("/conformance", name="ogc_conformance", summary="Conformance classes")
def conformance(request: Request, f: str | None = FormatQuery) -> Response:
    """The conformance classes this API implements."""
    with as_bad_request(ogc.InvalidParameter):
        ogc.check_format(f)
    doc = {"conformsTo": list(ogc.CONFORMANCE)}
    if _html(request, f):
        return ogc_html.conformance(doc, *_pages(request))
    return json_response(doc)


@router.get("/collections", name="ogc_collections", summary="The feature collections")
def collections(request: Request, f: str | None = FormatQuery,
                engine: Engine = Depends(get_read_engine),
                principal: Principal = Reader) -> Response:
    """Every collection the principal may read, with its extent and links."""
    with as_bad_request(ogc.InvalidParameter):
        ogc.check_format(f)
    all_ = ogc.visible_collections(principal)
    extents = _extents(request, engine, all_)
    doc = {
        "links": [link(request.url_for("ogc_collections"), "self")],
        "collections": [ogc.collection_document(c, extents[c.id], _collection_links(request, c))
                        for c in all_],
    }
    if _html(request, f):
        return ogc_html.collections(doc, *_pages(request))
    return json_response(doc)


@router.get("/collections/{collection_id}", name="ogc_collection",
            summary="One feature collection")
def collection(collection_id: str, request: Request, f: str | None = FormatQuery,
               engine: Engine = Depends(get_read_engine),
               principal: Principal = Reader) -> Response:
    """The metadata of one collection."""
    c = visible_collection(collection_id, principal)
    with as_bad_request(ogc.InvalidParameter):
        ogc.check_format(f)
    extent = _extents(request, engine, [c])[c.id]
    doc = ogc.collection_document(c, extent, _collection_links(request, c))
    if _html(request, f):
        return ogc_html.collection(doc, *_pages(request))
    return json_response(doc)


@router.get("/collections/{collection_id}/queryables", name="ogc_queryables",
            summary="The properties a collection can be filtered on")
def queryables(collection_id: str, request: Request, f: str | None = FormatQuery,
               engine: Engine = Depends(get_read_engine),
               principal: Principal = Reader) -> Response:
    """A JSON Schema of what a CQL2 ``filter`` may name (and its types)."""
    c = visible_collection(collection_id, principal)
    with as_bad_request(ogc.InvalidParameter):
        ogc.check_format(f)
        if f is not None and f.lower() == "html":
            raise ogc.InvalidParameter("queryables are served as JSON Schema: use f=json")
    with engine.connect() as conn:
        doc = ogc.queryables_document(conn, c)
    doc = {"$id": str(request.url_for("ogc_queryables", collection_id=c.id)), **doc}
    return json_response(doc, "application/schema+json")


@router.get("/collections/{collection_id}/items", name="ogc_items",
            summary="Features of a collection (GeoJSON), paged")
def items(
    collection_id: str,
    request: Request,
    bbox: str | None = Query(None, description="minLon,minLat,maxLon,maxLat (CRS84), or the "
                                               "corners in `bbox-crs`"),
    bbox_crs: str | None = Query(None, alias="bbox-crs", description="The CRS of `bbox`"),
    crs: str | None = CrsQuery,
    filter: str | None = Query(None, description="A CQL2 filter over the collection's "  # noqa: A002
                                                 "queryables"),
    filter_lang: str | None = Query(None, alias="filter-lang",
                                    description="cql2-text (default) or cql2-json"),
    filter_crs: str | None = Query(None, alias="filter-crs",
                                   description="The CRS of the filter's geometries"),
    datetime: str | None = Query(  # the OGC name; the module imports datetime as dt
        None, description="RFC 3339 instant or interval (`..` = open end); events and "
                          "observations only"),
    limit: int = Query(ogc.DEFAULT_LIMIT, ge=1, le=ogc.MAX_LIMIT),
    offset: int = Query(0, ge=0),
    f: str | None = FormatQuery,
    engine: Engine = Depends(get_read_engine),
    principal: Principal = Reader,
) -> Response:
    """A page of the features the principal may see; other query parameters filter on the
    collection's queryables."""
    c = visible_collection(collection_id, principal)
    params = {name: request.query_params.getlist(name) for name in request.query_params}
    with as_bad_request(ogc.InvalidParameter):
        q = ogc.parse_items_query(c, params)
        with engine.connect() as conn:
            page = ogc.fetch_page(conn, q, principal)
    url = request.url
    links = [
        link(url, "self", GEOJSON, "this page"),
        link(request.url_for("ogc_collection", collection_id=c.id), "collection"),
    ]
    if q.offset + page.number_returned < page.number_matched:
        links.append(link(url.include_query_params(offset=q.offset + q.limit, limit=q.limit),
                           "next", GEOJSON, "next page"))
    if q.offset > 0:
        links.append(link(url.include_query_params(offset=max(q.offset - q.limit, 0),
                                                    limit=q.limit), "prev", GEOJSON,
                           "previous page"))
    meta = {
        "numberMatched": page.number_matched,
        "numberReturned": page.number_returned,
        "timeStamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00",
                                                                                   "Z"),
        "links": links,
    }
    if _html(request, params.get("f", [None])[0]):
        doc = {**meta, "features": json.loads(page.features_json)}
        response = ogc_html.items(doc, c.title, *_pages(request))
    else:
        response = Response(ogc.feature_collection_json(meta, page.features_json),
                            media_type=GEOJSON)
    response.headers["Content-Crs"] = f"<{q.crs.uri}>"
    return response


@router.get("/collections/{collection_id}/items/{feature_id}", name="ogc_item",
            summary="One feature (GeoJSON)")
def item(collection_id: str, feature_id: str, request: Request, f: str | None = FormatQuery,
         crs: str | None = CrsQuery, engine: Engine = Depends(get_read_engine),
         principal: Principal = Reader) -> Response:
    """One feature by its id; 404 when there is none (or none the principal may see)."""
    c = visible_collection(collection_id, principal)
    with as_bad_request(ogc.InvalidParameter):
        ogc.check_format(f)
        out = ogc.parse_crs(crs) if crs is not None else ogc.STORAGE
        with engine.connect() as conn:
            feature = ogc.fetch_feature(conn, c, feature_id, principal, out)
    if feature is None:
        raise NotFound(f"no feature {feature_id[:60]!r} in {c.id}")
    doc = json.loads(feature)
    doc["links"] = [
        link(request.url_for("ogc_item", collection_id=c.id, feature_id=feature_id), "self",
              GEOJSON),
        link(request.url_for("ogc_collection", collection_id=c.id), "collection"),
    ]
    if _html(request, f):
        response = ogc_html.item(doc, c.title, *_pages(request))
    else:
        response = json_response(doc, GEOJSON)
    response.headers["Content-Crs"] = f"<{out.uri}>"
    return response
