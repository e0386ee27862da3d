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
import warnings
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine

from twin.config import Settings, local_secret
from twin.domain.access import Principal, row_filter
from twin.domain.workflow import OPEN, now_utc
from twin.errors import NotFound, TwinError
from twin.store.schema import (
    event_log,
    event_photos,
    events,
    field_links,
    microgrid_leaders,
    town_of,
    units,
)

SCOPES = ("event", "grid", "leader")  # leader: a micro-grid leader's page (twin.api.leader)
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
        return Principal("field", (), f"link:{self.id}")


def _key(settings: Settings) -> bytes:
    return local_secret(settings, "link", settings.link_key)


def sign(settings: Settings, payload: bytes) -> str:
    """A short HMAC-SHA256 of ``payload`` with the installation's link key (URL-safe)."""
    mac = hmac.new(_key(settings), payload, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def create(engine: Engine, settings: Settings, scope: str, scope_id: int, created_by: str,
           hours: float | None = None, now: dt.datetime | None = None) -> str:
    """A signed token for a new link to one event or one grid."""
    if scope not in SCOPES:
        raise LinkError(f"a link is for an event, a grid or a leader, not {scope!r}")
    now = now or now_utc()
    expires = now + dt.timedelta(hours=hours or settings.link_hours)
    target = {
        "event": sa.select(events.c.town_id).where(events.c.id == scope_id),
        "grid": sa.select(units.c.town_id).where(units.c.id == scope_id,
                                                 units.c.level == "grid"),
        "leader": sa.select(microgrid_leaders.c.town_id).where(
            microgrid_leaders.c.id == scope_id, microgrid_leaders.c.relieved_on.is_(None)),
    }[scope]
    with engine.begin() as conn:
        town = conn.execute(target).scalar()
        if town is None:
            raise NotFound(f"no {scope} with id {scope_id}")
        link_id = conn.execute(sa.insert(field_links).values(
            town_id=town, scope=scope, scope_id=scope_id, created_by=created_by, created_at=now,
            expires_at=expires).returning(field_links.c.id)).scalar()
    payload = f"{link_id}.{int(expires.timestamp())}"
    return f"{payload}.{sign(settings, payload.encode())}"


def verify(engine: Engine, settings: Settings, token: str, now: dt.datetime | None = None,
           scopes: tuple[str, ...] = ("event", "grid")) -> Link:
    """The link a token stands for, or LinkError saying why it cannot be used. Only links of
    ``scopes`` are taken: a leader's link opens the leader's page and nothing else."""
    now = now or now_utc()
    parts = (token or "").strip().split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        raise LinkError("this link is incomplete or damaged")
    payload = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(sign(settings, payload.encode()), parts[2]):
        raise LinkError("this link has been altered and is not valid")
    with engine.connect() as conn:
        row = conn.execute(sa.select(field_links).where(
            field_links.c.id == int(parts[0]))).mappings().one_or_none()
    if row is None:
        raise LinkError("this link does not exist")
    if row["scope"] not in scopes:
        raise LinkError("this link opens another page")
    if row["revoked_at"] is not None:
        raise LinkError("this link has been withdrawn by the person who sent it")
    if row["expires_at"] <= now or int(parts[1]) != int(row["expires_at"].timestamp()):
        raise LinkError(f"this link expired at {row['expires_at']:%Y-%m-%d %H:%M} UTC")
    return Link(row["id"], row["scope"], row["scope_id"], row["created_by"], row["expires_at"])


def link_url(settings: Settings, token: str, site: str = "", scope: str = "event") -> str:
    """The address a token is opened at: the product's public address (TWIN_PUBLIC_URL),
    else ``site`` (the address the sender's browser used), else the local default. A
    leader's link opens the leader's phone page (``/api/leader/<token>``)."""
    base = (settings.public_url or site or "http://localhost:8501").rstrip("/")
    if scope == "leader":
        return f"{base}/api/leader/{token}"
    return f"{base}/?link={token}"


def links_by(engine: Engine, created_by: str, now: dt.datetime | None = None) -> list[dict]:
    """The links a person made that still work, the newest first (to see and revoke)."""
    fl = field_links.c
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(
            sa.select(fl.id, fl.scope, fl.scope_id, fl.created_at, fl.expires_at)
            .where(fl.created_by == created_by, fl.revoked_at.is_(None),
                   fl.expires_at > (now or now_utc()))
            .order_by(fl.created_at.desc(), fl.id.desc()).limit(100)).mappings()]


def revoke(engine: Engine, link_id: int, now: dt.datetime | None = None,
           created_by: str | None = None) -> None:
    """Withdraw a link; with ``created_by`` only a link that person made."""
    where = [field_links.c.id == link_id, field_links.c.revoked_at.is_(None)]
    if created_by is not None:
        where.append(field_links.c.created_by == created_by)
    with engine.begin() as conn:
        done = conn.execute(
            sa.update(field_links).values(revoked_at=now or now_utc()).where(*where)).rowcount
    if not done:
        raise NotFound(f"no active link with id {link_id}")


def covers(engine: Engine, link: Link, event_id: int) -> bool:
    """Whether an event lies in the link's scope (the event itself, or an event of the grid)."""
    if link.scope == "event":
        return event_id == link.scope_id
    with engine.connect() as conn:
        return bool(conn.execute(sa.select(events.c.id).where(
            events.c.id == event_id, events.c.grid_id == link.scope_id)).scalar())


# what a card of the field page shows of an event (and where it lies)
_m = units.alias("m")
_EVENT_CARDS = sa.select(
    events.c.id, events.c.code, events.c.category, events.c.title, events.c.description,
    events.c.status, events.c.owner_level, events.c.reported_at, events.c.deadline_at,
    events.c.version, sa.func.ST_X(events.c.geom).label("lon"),
    sa.func.ST_Y(events.c.geom).label("lat"), _m.c.name.label("microgrid"),
).join_from(events, _m, sa.and_(_m.c.town_id == events.c.town_id,  # one shard on Citus
                                  _m.c.id == events.c.microgrid_id))


def events_in_scope(engine: Engine, link: Link) -> list[dict]:
    """The events a link opens, newest first: the one event, or the grid's open events."""
    where = (events.c.id == link.scope_id if link.scope == "event" else
             sa.and_(events.c.grid_id == link.scope_id, events.c.status.in_(OPEN)))
    with engine.connect() as conn:
        rows = conn.execute(_EVENT_CARDS.where(where).order_by(events.c.reported_at.desc())
                            .limit(200)).mappings().all()
    return [dict(r) for r in rows]


def events_for(engine: Engine, principal: Principal) -> list[dict]:
    """The open events the principal sees (twin.domain.access: a scoped account's units),
    the nearest deadline first: the work list of a field or official account."""
    visible, params = row_filter(principal, "events", "events")
    with engine.connect() as conn:
        rows = conn.execute(
            _EVENT_CARDS.where(events.c.status.in_(OPEN), sa.text(visible).bindparams(**params))
            .order_by(events.c.deadline_at.nulls_last(), events.c.reported_at.desc())
            .limit(200)).mappings().all()
    return [dict(r) for r in rows]


def history(engine: Engine, event_id: int) -> list[dict]:
    """The event's log, oldest first: when, who, from which status to which, and the note."""
    log = event_log.c
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(
            sa.select(log.at, log.actor, log.from_status, log.to_status, log.note)
            .where(log.event_id == event_id).order_by(log.at, log.id)).mappings()]


def photo_path(data_dir: Path, event_id: int, sha256: str) -> Path:
    """Where a photo of an event is kept: the data folder, by event and hash."""
    return Path(data_dir) / "photos" / str(event_id) / f"{sha256}.jpg"


@dataclass(frozen=True)
class Photo:
    """A photo as the twin keeps it: JPEG without metadata, at most PHOTO_MAX_SIDE."""

    jpeg: bytes
    width: int
    height: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.jpeg).hexdigest()


def clean_photo(data: bytes) -> Photo:
    """Check that ``data`` is a JPEG, PNG or WebP photo of at most PHOTO_MAX_BYTES and
    PHOTO_MAX_PIXELS (before it is decoded), and re-encode it as JPEG without its metadata
    (no GPS or device tags leave the phone's file); PhotoError says why not."""
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise PhotoError("the photo is empty")
    if len(data) > PHOTO_MAX_BYTES:
        raise PhotoError(f"the photo is {len(data) / 1e6:.1f} MB: at most "
                         f"{PHOTO_MAX_BYTES // (1 << 20)} MB")
    try:
        with warnings.catch_warnings():  # its size is judged just below, by our own limit
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
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
    return Photo(out.getvalue(), image.width, image.height)


def store_photo(engine: Engine, settings: Settings, event_id: int, photo: Photo, actor: str,
                now: dt.datetime | None = None) -> Path:
    """Keep a cleaned photo of an event under the data folder, named by its hash, and list
    it with the event; the same photo twice is kept once."""
    digest = photo.sha256
    path = photo_path(settings.data_dir, event_id, digest)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        partial = path.with_suffix(".part")
        partial.write_bytes(photo.jpeg)
        partial.replace(path)
    with engine.begin() as conn:
        conn.execute(pg_insert(event_photos).values(
            town_id=town_of(conn, events, event_id), event_id=event_id, sha256=digest, bytes=len(photo.jpeg), width=photo.width,
            height=photo.height, actor=actor, at=now or now_utc()).on_conflict_do_nothing(
            index_elements=[event_photos.c.event_id, event_photos.c.sha256]))
    return path


def save_photo(engine: Engine, settings: Settings, event_id: int, data: bytes, actor: str,
               now: dt.datetime | None = None) -> Path:
    """A photo a person handed in, checked and cleaned (clean_photo), kept with its event."""
    return store_photo(engine, settings, event_id, clean_photo(data), actor, now)
