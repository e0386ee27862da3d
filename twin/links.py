"""Field work by shared link: an official makes a link for one event or one grid; the
link is signed (HMAC-SHA256 with the installation's link key), expires (72 h by default),
can be revoked, and opens only its scope. Field staff open it on a phone from a chat app:
no account, so everything they may do is bounded here.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import io
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from twin.config import Settings, local_secret
from twin.errors import NotFound, TwinError
from twin.workflow import OPEN, now_utc

SCOPES = ("event", "grid")
PHOTO_TYPES = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
PHOTO_MAX_BYTES = 8 << 20
PHOTO_MAX_SIDE = 2048  # photos are re-encoded to at most this, without their metadata
# A photo's pixels are checked before it is decoded: a small file can claim a huge picture
# (a 12 KB PNG of 10,000 × 10,000 took ~480 MB). 50 megapixels covers phone cameras
# (a 48 MP sensor saves 8,000 × 6,000) and bounds decoding to ~200 MB.
PHOTO_MAX_PIXELS = 50_000_000


class LinkError(TwinError):
    """A link that cannot be used: malformed, tampered with, expired or revoked."""


class PhotoError(TwinError):
    """A file that is not an acceptable photo."""


@dataclass(frozen=True)
class Link:
    id: int
    scope: str
    scope_id: int
    created_by: str
    expires_at: dt.datetime

    def principal(self):
        """The field principal a link stands for (its scope is the link's own)."""
        from twin.access import Principal

        return Principal("field", (), f"link:{self.id}")


def _key(settings: Settings) -> bytes:
    return local_secret(settings, "link", settings.link_key)


def _sign(settings: Settings, payload: bytes) -> str:
    mac = hmac.new(_key(settings), payload, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def create(engine: Engine, settings: Settings, scope: str, scope_id: int, created_by: str,
           hours: float | None = None, now: dt.datetime | None = None) -> str:
    """A signed token for a new link to one event or one grid."""
    if scope not in SCOPES:
        raise LinkError(f"a link is for an event or a grid, not {scope!r}")
    now = now or now_utc()
    expires = now + dt.timedelta(hours=hours or settings.link_hours)
    table, where = ("events", "id = :id") if scope == "event" else (
        "units", "id = :id AND level = 'grid'")
    with engine.begin() as conn:
        if conn.execute(sa.text(f"SELECT 1 FROM {table} WHERE {where}"),  # noqa: S608 - constants
                        {"id": scope_id}).scalar() is None:
            raise NotFound(f"no {scope} with id {scope_id}")
        link_id = conn.execute(sa.text(
            "INSERT INTO field_links (scope, scope_id, created_by, created_at, expires_at) "
            "VALUES (:scope, :sid, :by, :now, :exp) RETURNING id"),
            {"scope": scope, "sid": scope_id, "by": created_by, "now": now,
             "exp": expires}).scalar()
    payload = f"{link_id}.{int(expires.timestamp())}"
    return f"{payload}.{_sign(settings, payload.encode())}"


def verify(engine: Engine, settings: Settings, token: str,
           now: dt.datetime | None = None) -> Link:
    """The link a token stands for, or LinkError saying why it cannot be used."""
    now = now or now_utc()
    parts = (token or "").strip().split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        raise LinkError("this link is incomplete or damaged")
    payload = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(_sign(settings, payload.encode()), parts[2]):
        raise LinkError("this link has been altered and is not valid")
    with engine.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT id, scope, scope_id, created_by, expires_at, revoked_at FROM field_links "
            "WHERE id = :id"), {"id": int(parts[0])}).mappings().one_or_none()
    if row is None:
        raise LinkError("this link does not exist")
    if row["revoked_at"] is not None:
        raise LinkError("this link has been withdrawn by the person who sent it")
    if row["expires_at"] <= now or int(parts[1]) != int(row["expires_at"].timestamp()):
        raise LinkError(f"this link expired at {row['expires_at']:%Y-%m-%d %H:%M} UTC")
    return Link(row["id"], row["scope"], row["scope_id"], row["created_by"], row["expires_at"])


def revoke(engine: Engine, link_id: int, now: dt.datetime | None = None) -> None:
    with engine.begin() as conn:
        done = conn.execute(sa.text(
            "UPDATE field_links SET revoked_at = :now WHERE id = :id AND revoked_at IS NULL"),
            {"id": link_id, "now": now or now_utc()}).rowcount
    if not done:
        raise NotFound(f"no active link with id {link_id}")


def covers(engine: Engine, link: Link, event_id: int) -> bool:
    """Whether an event lies in the link's scope (the event itself, or an event of the grid)."""
    if link.scope == "event":
        return event_id == link.scope_id
    with engine.connect() as conn:
        return bool(conn.execute(sa.text(
            "SELECT 1 FROM events WHERE id = :e AND grid_id = :g"),
            {"e": event_id, "g": link.scope_id}).scalar())


# what a card of the field page shows of an event (and where it lies)
_EVENT_CARDS = """
    SELECT e.id, e.code, e.category, e.title, e.description, e.status, e.owner_level,
           e.reported_at, e.deadline_at, e.version, ST_X(e.geom) AS lon,
           ST_Y(e.geom) AS lat, m.name AS microgrid
      FROM events e JOIN units m ON m.id = e.microgrid_id"""


def events_in_scope(engine: Engine, link: Link) -> list[dict]:
    """The events a link opens, newest first: the one event, or the grid's open events."""
    where = "e.id = :id" if link.scope == "event" else "e.grid_id = :id AND e.status = ANY(:open)"
    with engine.connect() as conn:
        rows = conn.execute(sa.text(f"""
            {_EVENT_CARDS}
             WHERE {where} ORDER BY e.reported_at DESC LIMIT 200"""),  # noqa: S608 - constants
            {"id": link.scope_id, "open": list(OPEN)}).mappings().all()
    return [dict(r) for r in rows]


def events_for(engine: Engine, scope: tuple[str, ...]) -> list[dict]:
    """The open events inside scope units (any level), newest first: the work list of a
    field or official account."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(f"""
            {_EVENT_CARDS}
              JOIN units s ON s.id IN (e.microgrid_id, e.grid_id, e.village_id, e.town_id)
             WHERE s.code = ANY(:scope) AND e.status = ANY(:open)
             ORDER BY e.deadline_at NULLS LAST, e.reported_at DESC LIMIT 200"""),
            {"scope": list(scope), "open": list(OPEN)}).mappings().all()
    return [dict(r) for r in rows]


def history(engine: Engine, event_id: int) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(
            "SELECT at, actor, from_status, to_status, note FROM event_log "
            "WHERE event_id = :e ORDER BY at, id"), {"e": event_id}).mappings()]


def save_photo(engine: Engine, settings: Settings, event_id: int, data: bytes, actor: str,
               now: dt.datetime | None = None) -> Path:
    """Check that ``data`` is a JPEG, PNG or WebP photo of at most PHOTO_MAX_BYTES, re-encode
    it as JPEG without its metadata (no GPS or device tags leave the phone's file), and keep
    it under the data folder named by its hash; the same photo twice is kept once."""
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise PhotoError("the photo is empty")
    if len(data) > PHOTO_MAX_BYTES:
        raise PhotoError(f"the photo is {len(data) / 1e6:.1f} MB: at most "
                         f"{PHOTO_MAX_BYTES // (1 << 20)} MB")
    try:
        image = Image.open(io.BytesIO(data))  # reads the header only
        kind = image.format
        if kind not in PHOTO_TYPES:
            raise PhotoError(f"{kind} files are not accepted: JPEG, PNG or WebP")
        width, height = image.size
        if width * height > PHOTO_MAX_PIXELS:
            raise PhotoError(f"the photo claims {width} × {height} pixels: at most "
                             f"{PHOTO_MAX_PIXELS // 1_000_000} megapixels")
        if kind == "JPEG":  # decode at the reduced size wanted (DCT scaling): less memory
            image.draft("RGB", (PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
        image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise PhotoError("the file is not a photo (JPEG, PNG or WebP)") from None
    image = image.convert("RGB")
    image.thumbnail((PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    clean = out.getvalue()
    digest = hashlib.sha256(clean).hexdigest()
    folder = Path(settings.data_dir) / "photos" / str(event_id)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{digest}.jpg"
    if not path.exists():
        partial = path.with_suffix(".part")
        partial.write_bytes(clean)
        partial.replace(path)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO event_photos (event_id, sha256, bytes, width, height, actor, at) "
            "VALUES (:e, :h, :b, :w, :hh, :a, :at) ON CONFLICT (event_id, sha256) DO NOTHING"),
            {"e": event_id, "h": digest, "b": len(clean), "w": image.width, "hh": image.height,
             "a": actor, "at": now or now_utc()})
    return path
