"""Bulk loading through COPY: frames in, rows written in one transaction, cells assigned by
the database's triggers on the way in.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import shapely
import sqlalchemy as sa
from geopandas.array import GeometryDtype
from sqlalchemy.engine import Connection, Engine

from twin.catalog import BY_NAME, LOAD_ORDER, SAMPLE_TABLES
from twin.domain.pii import PiiKey, mask_id, mask_phone
from twin.errors import LoadError
from twin.store import writes

STORAGE_SRID = 4326
CHUNK_ROWS = 50_000

# Table → the columns the loader writes, in order (the rest are filled by triggers), from
# the element catalogue, parents before children.
_LOADED = [BY_NAME[name] for name in LOAD_ORDER]
COLUMNS: dict[str, tuple[str, ...]] = {e.table: e.load for e in _LOADED}
FOLLOWS: dict[str, tuple[str, str]] = {e.table: e.follows for e in _LOADED if e.follows}
# The twin's data tables, parents before children (load order; reverse for clearing): the
# elements', then the tables that hang off them.
TABLES = tuple(dict.fromkeys((
    *COLUMNS, "organization_members", "station_latest", "warning_episodes", "event_photos",
    "field_links", "party_coverage", "microgrid_leaders", "household_links", "visits",
    "cadres", "cadre_assessments", "party_projects")))

Progress = Callable[[str, int], None]


# --- turning frames into COPY text --------------------------------------------------------
def _escape(s: pd.Series) -> pd.Series:
    """COPY text-format escaping of a string column; NULL → \\N."""
    out = s.astype("string")
    out = (out.str.replace("\\", "\\\\", regex=False).str.replace("\t", "\\t", regex=False)
              .str.replace("\n", "\\n", regex=False).str.replace("\r", "\\r", regex=False))
    return out.fillna("\\N")


def _first(values: pd.Series) -> Any:
    """The first non-null value of a column (None if there is none)."""
    present = values.dropna()
    return present.iloc[0] if len(present) else None


def _text_column(values: pd.Series) -> pd.Series:
    """One frame column as COPY text, by its kind."""
    if isinstance(values.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(
        values.dtype
    ):
        ts = pd.to_datetime(values, utc=True)
        return ts.dt.strftime("%Y-%m-%dT%H:%M:%S%z").astype("string").fillna("\\N")
    if isinstance(values.dtype, GeometryDtype) or (
            values.dtype == object and isinstance(_first(values), shapely.Geometry)):
        geoms = shapely.set_srid(np.asarray(values, dtype=object), STORAGE_SRID)
        return pd.Series(shapely.to_wkb(geoms, hex=True, include_srid=True),
                         index=values.index, dtype="string").fillna("\\N")
    if values.dtype == object and len(values):
        first = _first(values)
        if isinstance(first, (list, tuple)):
            return _escape(values.map(_array_literal, na_action="ignore"))
        if isinstance(first, dict):
            return _escape(values.map(lambda v: json.dumps(v, ensure_ascii=False),
                                      na_action="ignore"))
    if pd.api.types.is_float_dtype(values.dtype):
        return values.map(repr, na_action="ignore").astype("string").fillna("\\N")
    if values.dtype == object:
        return _escape(values.map(lambda v: None if v is None or v is pd.NA or (
            isinstance(v, float) and v != v) else str(v)))
    return _escape(values.astype("string"))


def _array_literal(items: Iterable[Any]) -> str:
    """A PostgreSQL text[] literal with every element quoted."""
    quoted = (str(i).replace("\\", "\\\\").replace('"', '\\"') for i in items)
    return "{" + ",".join(f'"{q}"' for q in quoted) + "}"


def copy_text(frame: pd.DataFrame, columns: Iterable[str]) -> Iterator[tuple[int, str]]:
    """(rows, text) chunks of a frame in COPY text format, columns in the given order."""
    columns = list(columns)
    for start in range(0, len(frame), CHUNK_ROWS):
        part = frame.iloc[start : start + CHUNK_ROWS]
        line = None
        for col in columns:
            text = _text_column(part[col])
            line = text if line is None else line + "\t" + text
        yield len(part), "\n".join(line.tolist()) + "\n"


# --- personal data ------------------------------------------------------------------------
def protect_people(people: pd.DataFrame, key: PiiKey) -> pd.DataFrame:
    """Replace plain ``id_number`` / ``phone`` columns by hash and mask columns, checking
    every ID's check digit; the plain columns are dropped."""
    out = people.drop(columns=["id_number", "phone"])
    ids = people["id_number"].astype("string").str.upper()
    phones = people["phone"].astype("string")
    bad = ~ids.str.fullmatch(r"[1-9]\d{16}[\dX]", na=False)
    if not bad.any():
        digits = np.frombuffer("".join(ids.str.slice(0, 17)).encode(), dtype=np.uint8) - 48
        weights = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
        check = np.array(list("10X98765432"))[(digits.reshape(-1, 17) * weights).sum(1) % 11]
        bad = pd.Series(check != ids.str.slice(17).to_numpy(dtype=str), index=ids.index)
    if bad.any():
        row = people.index[bad.to_numpy()][0]
        raise LoadError(f"people row {people.at[row, 'id']}: field id_number is not a valid "
                        "18-character resident ID number")
    bad_phone = ~phones.str.fullmatch(r"1\d{10}", na=True)
    if bad_phone.any():
        row = people.index[bad_phone.to_numpy()][0]
        raise LoadError(f"people row {people.at[row, 'id']}: field phone is not an 11-digit "
                        "mobile number")
    raw = key._key  # noqa: SLF001 - the loader is the one place that hashes in bulk
    out["id_hash"] = [hmac.digest(raw, f"id:{v}".encode(), "sha256").hex() for v in ids]
    out["id_masked"] = [mask_id(v) for v in ids]
    out["phone_hash"] = [None if v is pd.NA else hmac.digest(
        raw, f"phone:{v}".encode(), "sha256").hex() for v in phones]
    out["phone_masked"] = [None if v is pd.NA else mask_phone(v) for v in phones]
    return out


# --- writing --------------------------------------------------------------------------
def copy_frame(conn: Connection, table: str, frame: pd.DataFrame,
               progress: Progress | None = None) -> int:
    """COPY a frame into a table on an open SQLAlchemy connection; returns rows written."""
    columns = COLUMNS[table]
    frame = frame.rename(columns={"geometry": "geom"}) if "geometry" in frame else frame
    if table in FOLLOWS and "town_id" not in frame:
        frame = frame.assign(town_id=_towns(conn, *FOLLOWS[table], frame))
    frame = writes.with_cells(conn, table, frame)  # on Citus: a row knows its town first
    if "town_id" in frame and "town_id" not in columns:
        columns = (*columns, *(c for c in writes.CELL if c in frame))
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise LoadError(f"{table}: missing field(s) {', '.join(missing)}")
    raw: psycopg.Connection[Any] = conn.connection.driver_connection  # type: ignore[assignment]
    done = 0
    try:
        with raw.cursor() as cur, cur.copy(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN"  # names from COLUMNS only
        ) as copy:
            for rows, text in copy_text(frame, columns):
                copy.write(text)
                done += rows
                if progress:
                    progress(table, rows)
    except psycopg.Error as exc:
        # The message and the line number only: COPY's context quotes the whole row, which
        # may hold personal data.
        detail = exc.diag.message_primary or str(exc).splitlines()[0]
        if not detail.startswith(f"{table}:"):
            detail = f"{table}: {detail}"
        line = re.search(r"COPY \w+, line (\d+)", exc.diag.context or "")
        where = f" (input row {line.group(1)})" if line else ""
        raise LoadError(f"{detail}{where}; nothing was written") from None
    if "id" in frame and writes.distributed(conn):  # on Citus: counters, the layer's version
        writes.added(conn, table, frame["id"].astype("int64").tolist())
    return done


def _towns(conn: Connection, column: str, parent: str, frame: pd.DataFrame) -> pd.Series:
    """Each row's town, its parent's (the parent rows are written already)."""
    ids = frame[column].dropna().astype("int64").unique().tolist()
    towns = dict(conn.execute(sa.text(  # parent: a table name from the catalogue only
        f"SELECT id, town_id FROM {parent} WHERE id = ANY(:ids)"), {"ids": ids}).all())  # noqa: S608
    return frame[column].map(towns).astype("Int64")


def clear(conn: Connection) -> None:
    """Empty every twin table (a sample being replaced)."""
    conn.execute(sa.text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))


def is_empty(conn: Connection) -> bool:
    return conn.execute(sa.text("SELECT NOT EXISTS (SELECT 1 FROM units)")).scalar()


def finish(conn: Connection) -> None:
    """After explicit ids were written: move identity sequences past them."""
    for table in COLUMNS:
        if "id" in COLUMNS[table] or table == "event_log":
            # table names come from COLUMNS only
            sql = f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"  # noqa: S608, E501
            conn.execute(sa.text(sql))


def write_sample(engine: Engine, sample: Any, key: PiiKey, *, replace: bool = False,
                 progress: Progress | None = None) -> dict[str, int]:
    """Write a generated sample twin in one transaction; returns rows per table."""
    return write_samples(engine, [sample], key, replace=replace, progress=progress)


def write_samples(engine: Engine, samples: Iterable[Any], key: PiiKey, *,
                  replace: bool = False, progress: Progress | None = None) -> dict[str, int]:
    """Write generated samples (the counties of a city, one at a time) in one transaction;
    the last one's derived rows are made over all of them. Returns rows per table."""
    counts: dict[str, int] = {}
    sample = None
    with engine.begin() as conn:
        conn.execute(sa.text("SET LOCAL statement_timeout = 0"))
        if not is_empty(conn):
            if not replace:
                raise LoadError("the twin already holds data: use --replace to overwrite it")
            clear(conn)
        for sample in samples:
            for attr, table in SAMPLE_TABLES.items():
                frame = getattr(sample, attr)
                if table == "units":
                    for level in ("town", "village", "grid", "microgrid"):
                        counts[table] = counts.get(table, 0) + copy_frame(
                            conn, table, frame[frame["level"] == level], progress)
                    continue
                if table == "people":
                    frame = protect_people(frame, key)
                counts[table] = counts.get(table, 0) + copy_frame(conn, table, frame, progress)
        finish(conn)
        # rows the sample derives from those just written (party board), set-based
        derived = getattr(sample, "derived", ())
        for _table, sql in derived:
            conn.execute(sa.text(sql), sample.derived_params)
        for table in dict.fromkeys(t for t, _ in derived):
            # table names from the sample's own statements
            counts[table] = conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()  # noqa: S608
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("ANALYZE"))
    return counts


