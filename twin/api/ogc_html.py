"""OGC API – Features as HTML pages (``f=html``, or a browser's ``Accept``): the same documents
the JSON answers hold, as tables to read and links to follow, Chinese by default
(``lang=en``). Nothing is loaded from any other host; the pages carry no script."""

from __future__ import annotations

import html
import json
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi.responses import HTMLResponse

from twin.i18n import DEFAULT_LANGUAGE, LANGUAGES, t

CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
STYLE = """body{font-family:"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",system-ui,
sans-serif;margin:0;background:#f4f5f7;color:#1d2129;font-size:15px;line-height:1.5}
main{max-width:72em;margin:0 auto;padding:1em 1.2em}h1{font-size:1.35em;margin:.3em 0 .6em}
nav{font-size:.9em;color:#6b7280;margin-bottom:.4em}a{color:#1664ff;text-decoration:none}
a:hover{text-decoration:underline}section{background:#fff;border-radius:8px;padding:.8em 1em;
margin:.8em 0;overflow-x:auto}table{border-collapse:collapse;width:100%;font-size:.92em}
th,td{border-bottom:1px solid #e5e6eb;padding:.35em .6em;text-align:left;vertical-align:top}
th,td.hint{white-space:nowrap}th{background:#f7f8fa;font-weight:600}.hint{color:#6b7280;font-size:.88em}
code{background:#f2f3f5;padding:.05em .35em;border-radius:4px;font-size:.92em}"""
# the columns an items table shows at most (the rest: on the feature's own page)
MAX_COLUMNS = 12


def language(query: dict[str, str]) -> str:
    lang = query.get("lang", DEFAULT_LANGUAGE)
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def _with(href: str, **params: str) -> str:
    """``href`` with ``f`` and ``lang`` replaced by ``params``."""
    parts = urlsplit(href)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k not in ("f", "lang")]
    return urlunsplit(parts._replace(query=urlencode([*query, *params.items()])))


def as_html(href: str, lang: str) -> str:
    """A link of the API, to follow in the browser: its HTML page, in the same language."""
    return _with(href, f="html", **({} if lang == DEFAULT_LANGUAGE else {"lang": lang}))


def as_json(href: str) -> str:
    return _with(href, f="json")


def _e(value: Any) -> str:
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False)
    return html.escape("" if value is None else str(value))


def _a(href: str, text: str) -> str:
    return f'<a href="{_e(href)}">{_e(text)}</a>'


OGC_REL = "http://www.opengis.net/def/rel/ogc/1.0/"


def _rel(doc: dict, rel: str) -> str | None:
    return next((link["href"] for link in doc.get("links", []) if link["rel"] == rel), None)


def page(title: str, body: str, lang: str, home: str, here: str) -> HTMLResponse:
    nav = (f"<nav>{_a(as_html(home, lang), t('ogc.home', lang))} · "
           f"{_a(as_json(here), t('ogc.as_json', lang))} · "
           f"{_a(as_html(here, 'en' if lang == 'zh' else 'zh'), 'English' if lang == 'zh' else '中文')}"
           "</nav>")
    text = f"""<!doctype html><html lang="{'zh-CN' if lang == 'zh' else 'en'}"><head>
<meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{_e(title)}</title><style>{STYLE}</style></head>
<body><main>{nav}<h1>{_e(title)}</h1>{body}</main></body></html>"""
    return HTMLResponse(text, headers={
        "Content-Security-Policy": CSP, "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin", "X-Content-Type-Options": "nosniff"})


def landing(doc: dict, lang: str, home: str) -> HTMLResponse:
    links = [("data", t("ogc.collections", lang)), ("conformance", t("ogc.conformance", lang))]
    items = "".join(f"<li>{_a(as_html(_rel(doc, rel), lang), text)}</li>"
                    for rel, text in links if _rel(doc, rel))
    served_as_json = [(f"{OGC_REL}tiling-schemes", t("ogc.tiling_schemes", lang)),
                      (f"{OGC_REL}tilesets-map", t("ogc.map_tiles", lang)),
                      ("related", t("ogc.sensorthings", lang))]
    items += "".join(f"<li>{_a(_rel(doc, rel), text)} <span class=hint>JSON</span></li>"
                     for rel, text in served_as_json if _rel(doc, rel))
    api = _rel(doc, "service-desc")
    if api:
        items += f"<li>{_a(api, t('ogc.api', lang))}</li>"
    body = f"<section><p>{_e(doc['description'])}</p><ul>{items}</ul></section>"
    return page(t("ogc.title", lang), body, lang, home, home)


def conformance(doc: dict, lang: str, home: str, here: str) -> HTMLResponse:
    rows = "".join(f"<li><code>{_e(c)}</code></li>" for c in doc["conformsTo"])
    return page(t("ogc.conformance", lang), f"<section><ul>{rows}</ul></section>", lang,
                home, here)


def _bbox(collection: dict) -> str:
    boxes = collection.get("extent", {}).get("spatial", {}).get("bbox") or []
    return ", ".join(f"{v:.5f}" for v in boxes[0]) if boxes else "—"


def collections(doc: dict, lang: str, home: str, here: str) -> HTMLResponse:
    head = (f"<tr><th>{t('ogc.name', lang)}</th><th>{t('ogc.id', lang)}</th>"
            f"<th>{t('ogc.extent', lang)}</th><th>{t('ogc.items', lang)}</th></tr>")
    rows = "".join(
        f"<tr><td>{_a(as_html(_rel(c, 'self'), lang), c['title'])}<br>"
        f"<span class=hint>{_e(c['description'])}</span></td><td><code>{_e(c['id'])}</code></td>"
        f"<td>{_e(_bbox(c))}</td><td>{_a(as_html(_rel(c, 'items'), lang), t('ogc.items', lang))}"
        "</td></tr>" for c in doc["collections"])
    return page(t("ogc.collections", lang), f"<section><table>{head}{rows}</table></section>",
                lang, home, here)


def collection(doc: dict, lang: str, home: str, here: str) -> HTMLResponse:
    interval = doc.get("extent", {}).get("temporal", {}).get("interval")
    rows = [(t("ogc.id", lang), f"<code>{_e(doc['id'])}</code>"),
            (t("ogc.extent", lang), _e(_bbox(doc)))]
    if interval:
        rows.append((t("ogc.interval", lang), _e(" — ".join(str(v) for v in interval[0]))))
    rows.append((t("ogc.crs", lang), "<br>".join(f"<code>{_e(c)}</code>" for c in doc["crs"])))
    table = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    followed = [_a(as_html(_rel(doc, "items"), lang), t("ogc.items", lang)),
                _a(_rel(doc, OGC_REL + "queryables"), t("ogc.queryables", lang))]
    if tiles := _rel(doc, OGC_REL + "tilesets-vector"):
        followed.append(_a(tiles, t("ogc.vector_tiles", lang)))
    links = (f"<p>{' · '.join(followed)}</p>"
             f"<p class=hint>{_e(t('ogc.filter_help', lang))}</p>")
    body = (f"<section><p>{_e(doc['description'])}</p><table>{table}</table>{links}"
            "</section>")
    return page(doc["title"], body, lang, home, here)


def _positions(coordinates: Any) -> int:
    if isinstance(coordinates, list) and coordinates and isinstance(coordinates[0], int | float):
        return 1
    return sum(_positions(c) for c in coordinates) if isinstance(coordinates, list) else 0


def _geometry_text(geometry: dict | None, lang: str) -> str:
    """A geometry in a table cell: its type and how many positions (the whole on its page)."""
    if not geometry:
        return "—"
    n = _positions(geometry.get("coordinates"))
    return f"{geometry.get('type')} · {n} {'个点' if lang == 'zh' else 'positions'}"


def items(doc: dict, title: str, lang: str, home: str, here: str) -> HTMLResponse:
    features = doc["features"]
    names: list[str] = []
    for f in features:
        names += [n for n in f["properties"] if n not in names]
    names = names[:MAX_COLUMNS]
    head = ("<tr><th>id</th>" + "".join(f"<th>{_e(n)}</th>" for n in names)
            + f"<th>{t('ogc.geometry', lang)}</th></tr>")
    rows = "".join(
        f"<tr><td>{_a(as_html(_item_href(here, f['id']), lang), str(f['id']))}</td>"
        + "".join(f"<td>{_e(f['properties'].get(n))}</td>" for n in names)
        + f"<td class=hint>{_e(_geometry_text(f.get('geometry'), lang))}</td></tr>" for f in features)
    pages = " · ".join(_a(as_html(_rel(doc, rel), lang), t(f"ogc.{rel}", lang))
                       for rel in ("prev", "next") if _rel(doc, rel))
    counts = t("ogc.matched", lang).format(matched=doc["numberMatched"],
                                           returned=doc["numberReturned"])
    body = (f"<section><p>{_e(counts)} {pages}</p><table>{head}{rows}</table>"
            f"<p class=hint>{_e(t('ogc.filter_help', lang))}</p></section>")
    return page(f"{title} · {t('ogc.items', lang)}", body, lang, home, here)


def _item_href(items_href: str, fid: Any) -> str:
    parts = urlsplit(items_href)
    return urlunsplit(parts._replace(path=f"{parts.path.rstrip('/')}/{fid}", query=""))


def item(doc: dict, title: str, lang: str, home: str, here: str) -> HTMLResponse:
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>"
                   for k, v in doc["properties"].items())
    rows += f"<tr><th>{t('ogc.geometry', lang)}</th><td><code>{_e(doc.get('geometry'))}</code></td></tr>"
    body = (f"<section><p>{_a(as_html(_rel(doc, 'collection'), lang), title)}</p>"
            f"<table>{rows}</table></section>")
    return page(f"{title} · {doc['id']}", body, lang, home, here)
