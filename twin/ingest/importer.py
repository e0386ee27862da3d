"""Importing a county's own files into the twin: all or nothing.

A file is read (``geodata.vector``: formats, encodings, CRS incl. GCJ-02/BD-09), its fields
are mapped onto the twin's, each feature is checked (empty and duplicate features dropped
and reported, invalid geometries repaired and counted, required fields present), and the
rows are written with COPY in one transaction — where the database assigns each one to
its micro-grid and refuses one outside every cell. On any error nothing is written, and
the message names the file, the feature number and the reason.

Spatial files (units, buildings, facilities, land, stations, organizations) are handled
here; the registers (households, residents, readings, events) by ``twin.ingest.registers``, in the
same transaction and with the same report.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Engine

from geodata.vector import LAT_NAMES, LON_NAMES, find_column, read_table, read_vector
from twin.catalog import IMPORT_ORDER, element
from twin.domain.pii import PiiKey, scrub_text
from twin.domain.units import LEVELS
from twin.errors import LoadError, TwinError
from twin.ingest import registers
from twin.ingest.load import copy_frame
from twin.store import writes
from twin.store.schema import metadata

KINDS = IMPORT_ORDER  # the element families a file can be imported as (twin.catalog)
# the registers of twin.ingest.registers (spreadsheets without coordinates, mostly)
REGISTERS = ("households", "people", "observations", "events", "microgrid_leaders", "visits",
             "cadres", *registers.WRITERS)
# registers that find or protect residents by ID-card number: imported with the PII key
WITH_KEY = ("people", "microgrid_leaders", "organization_members")
TABLES = ("people", "observations", "microgrid_leaders", "visits", "cadres",
          *registers.WRITERS)  # registers read as tables, never as features
BUILDING_USES = ("residential", "commercial", "industrial", "public", "agricultural", "other")
USE_WORDS = {"住宅": "residential", "民房": "residential", "house": "residential",
             "apartments": "residential", "yes": "other", "商业": "commercial",
             "retail": "commercial", "工业": "industrial", "厂房": "industrial",
             "公共": "public", "school": "public", "农业": "agricultural", "farm": "agricultural"}
# Land classes from the words of the Third National Land Survey (三调) and OSM, first match
# wins (宅基地 before the generic 用地).
LAND_WORDS = (("homestead", ("宅基地",)),
              ("farmland", ("水田", "旱地", "水浇地", "耕地", "farmland", "farmyard")),
              ("forest", ("林地", "林", "forest", "wood")),
              ("water", ("水面", "水库", "沟渠", "滩涂", "水域", "water", "reservoir", "basin")),
              ("road", ("道路", "公路", "铁路", "road", "railway")),
              ("garden", ("果园", "茶园", "园地", "orchard", "vineyard", "plant_nursery")),
              ("construction", ("用地", "建设", "construction", "residential", "industrial",
                                "commercial", "retail", "brownfield")))
# Kinds of stations and organizations from the words their registers use.
STATION_WORDS = (("water_level", ("水位", "water_level")), ("water", ("水质", "water")),
                 ("air", ("空气", "大气", "air")), ("noise", ("噪声", "noise")),
                 ("visitors", ("客流", "游客", "visitors")))
ORG_WORDS = (("party_group", ("党小组",)), ("party_general_branch", ("党总支",)),
             ("party_committee", ("党委", "党工委")), ("party_branch", ("党支部", "party")),
             ("village_committee", ("村委", "居委", "村民委员会", "居民委员会")),
             ("mediation_committee", ("调解", "mediation")),
             ("volunteer_team", ("志愿", "volunteer")), ("cooperative", ("合作社", "cooperative")),
             ("enterprise", ("公司", "企业", "厂", "enterprise", "company")),
             ("social_group", ("协会", "社团", "商会", "association")))
STOREY_M = 3.0
MAX_VERTICES = 100_000  # per feature: more is a digitising error or a whole-county outline


class ImportError_(TwinError):  # noqa: N801 - "ImportError" is Python's own
    """A file that cannot be imported, with the file, the feature and the reason."""


@dataclass
class ImportReport:
    read: int = 0
    repaired: int = 0
    rejected: int = 0
    written: int = 0
    notes: list[str] = field(default_factory=list)


def _pick(frame: pd.DataFrame, kind: str, target: str, mapping: dict[str, str]) -> str | None:
    if target in mapping:
        if mapping[target] not in frame.columns:
            raise ImportError_(f"--map {target}={mapping[target]}: the file has no field "
                               f"{mapping[target]!r} (it has {', '.join(map(str, frame.columns))})")
        return mapping[target]
    lowered = {str(c).lower(): c for c in frame.columns}
    names = element(kind).aliases.get(target, ())  # the usual names, from the catalogue
    return next((lowered[a.lower()] for a in names if a.lower() in lowered), None)


def _clean(frame: gpd.GeoDataFrame, path: Path, polygons: bool,
           report: ImportReport) -> gpd.GeoDataFrame:
    """Drop empty and duplicate features, repair invalid ones, check the geometry type."""
    geoms = frame.geometry.to_numpy()
    empty = shapely.is_empty(geoms) | pd.isna(geoms)
    if empty.any():
        report.notes.append(f"{int(empty.sum())} feature(s) without geometry dropped "
                            f"(first: feature {int(np.flatnonzero(empty)[0]) + 1})")
    frame = frame[~empty].copy()
    geoms = frame.geometry.to_numpy()
    vertices = shapely.get_num_coordinates(geoms)
    if (vertices > MAX_VERTICES).any():
        i = int(np.argmax(vertices > MAX_VERTICES))
        raise ImportError_(f"{path}: feature {frame.index[i] + 1}: {vertices[i]:,} vertices "
                           f"(at most {MAX_VERTICES:,}): simplify it first")
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        geoms = np.where(invalid, shapely.make_valid(geoms), geoms)
        report.repaired = int(invalid.sum())
    if polygons:
        was = frame.geometry.to_numpy()
        geoms = _multipolygons(geoms)
        wrong = pd.isna(geoms) | shapely.is_empty(geoms)
        # a polygon whose repair leaves no area (a ring of too few points, drawn as an OSM
        # relation) is dropped and said so; a feature that never was a polygon is refused
        degenerate = wrong & np.isin(shapely.get_type_id(was), (3, 6))
        if degenerate.any():
            report.notes.append(f"{int(degenerate.sum())} polygon(s) with no area left after "
                                f"repair dropped (first: feature "
                                f"{int(frame.index[np.flatnonzero(degenerate)[0]]) + 1})")
        if (wrong & ~degenerate).any():
            i = int(np.flatnonzero(wrong & ~degenerate)[0])
            raise ImportError_(f"{path}: feature {frame.index[i] + 1}: not a polygon "
                               f"({frame.geometry.iloc[i].geom_type})")
        frame, geoms = frame[~degenerate].copy(), geoms[~degenerate]
    else:
        geoms = np.where(shapely.get_type_id(geoms) == 0, geoms,
                         shapely.point_on_surface(geoms))
    frame = frame.set_geometry(gpd.GeoSeries(geoms, index=frame.index, crs=frame.crs))
    # a duplicate is the same feature twice: same geometry and same attributes (compared by
    # 64-bit hashes of the WKB and of the attributes' reprs, vectorised: a row-wise join
    # of 100,000 features took 7 s)
    key = pd.DataFrame({"geom": pd.util.hash_array(shapely.to_wkb(frame.geometry.to_numpy()))},
                       index=frame.index)
    attrs = frame.drop(columns=frame.geometry.name)
    if len(attrs.columns):
        key["attrs"] = pd.util.hash_pandas_object(attrs.map(repr), index=False).to_numpy()
    dupes = key.duplicated().to_numpy()
    if dupes.any():
        report.notes.append(f"{int(dupes.sum())} duplicate feature(s) dropped (first: "
                            f"feature {int(frame.index[np.flatnonzero(dupes)[0]]) + 1})")
    frame = frame[~dupes]
    report.rejected = report.read - len(frame)
    return frame


def _multipolygons(geoms: np.ndarray) -> np.ndarray:
    """Every geometry as a MultiPolygon: polygons wrapped at once (the common case), the
    rest (repairs can give collections with lines) part by part."""
    types = shapely.get_type_id(geoms)
    out = np.empty(len(geoms), dtype=object)
    multi, single = types == 6, types == 3
    out[multi] = geoms[multi]
    if single.any():
        out[single] = shapely.multipolygons(geoms[single], indices=np.arange(single.sum()))
    for i in np.flatnonzero(~(multi | single)):
        out[i] = _polygonal(geoms[i])
    return out


def _polygonal(g: Any) -> Any:
    """A MultiPolygon of a geometry's polygonal parts (repairs can add lines), or None."""
    if g is None:
        return None
    parts = [p for p in shapely.get_parts(g) if p.geom_type in ("Polygon", "MultiPolygon")]
    if not parts:
        return None
    return shapely.multipolygons(shapely.get_parts(shapely.union_all(parts)))


def _number(frame: pd.DataFrame, column: str | None, path: Path, what: str) -> pd.Series:
    if column is None:
        return pd.Series(np.nan, index=frame.index)
    values = frame[column].map(lambda v: re.sub(r"[^\d.]", "", str(v)) if v is not None else "")
    out = pd.to_numeric(values.replace("", np.nan), errors="coerce")
    bad = out.isna() & frame[column].notna() & (frame[column].astype(str).str.strip() != "")
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise ImportError_(f"{path}: feature {frame.index[i] + 1}: {what} "
                           f"{frame[column].iloc[i]!r} is not a number")
    return out


def _buildings(frame: gpd.GeoDataFrame, path: Path, mapping: dict[str, str],
               kind: str) -> pd.DataFrame:
    floors = _number(frame, _pick(frame, kind, "floors", mapping), path, "floors")
    height = _number(frame, _pick(frame, kind, "height_m", mapping), path, "height")
    floors = floors.fillna((height / STOREY_M).round()).fillna(1).clip(lower=1).astype(int)
    height = height.fillna(floors * STOREY_M)
    use_col = _pick(frame, kind, "use", mapping)
    uses = (frame[use_col].astype(str).str.strip().map(
        lambda v: v if v in BUILDING_USES else USE_WORDS.get(v, "other"))
        if use_col else pd.Series("residential", index=frame.index))
    year_col = _pick(frame, kind, "year_built", mapping)
    year = (_number(frame, year_col, path, "year").astype("Int64") if year_col
            else pd.Series(pd.NA, index=frame.index, dtype="Int64"))
    code_col = _pick(frame, kind, "code", mapping)
    return pd.DataFrame({"code": frame[code_col].astype(str) if code_col else None,
                         "use": uses, "floors": floors, "height_m": height,
                         "year_built": year, "geom": frame.geometry})


# Columns of a facility register that name or reach a person (a manager, a contact): not
# kept among the facility's published properties.
PERSONAL_HEADERS = re.compile(r"负责人|联系人|管理员|户主|业主|姓名|电话|手机|身份证|证件|"
                              r"owner|contact|manager|phone|mobile|tel\b|e-?mail|person",
                              re.IGNORECASE)


def _facilities(frame: gpd.GeoDataFrame, path: Path, mapping: dict[str, str],
                kind: str) -> pd.DataFrame:
    """Facilities with their kind, name, and their other columns as published properties —
    except columns about a person, which are left out (and said so), and with ID and phone
    numbers in the rest masked."""
    names, kind_col = _named_points(frame, path, mapping, kind)
    if kind_col is None:
        raise ImportError_(f"{path}: facilities need a kind: map one with --map kind=FIELD")
    name_col = _pick(frame, kind, "name", mapping)
    extra = [c for c in frame.columns if c not in (kind_col, name_col, frame.geometry.name)]
    personal = [c for c in extra if PERSONAL_HEADERS.search(str(c))]
    extra = [c for c in extra if c not in personal]
    props = pd.Series([{k: (None if pd.isna(v) else scrub_text(v) if isinstance(v, str) else v)
                        for k, v in zip(extra, values, strict=True)
                        if isinstance(v, (str, int, float))}
                       for values in frame[extra].itertuples(index=False)],
                      index=frame.index, dtype=object)
    rows = pd.DataFrame({"kind": frame[kind_col].astype(str), "name": names, "props": props,
                         "geom": frame.geometry})
    if personal:
        rows.attrs["notes"] = [f"columns about a person left out: {', '.join(map(str, personal))}"]
    return rows


def _units(frame: gpd.GeoDataFrame, path: Path, mapping: dict[str, str], level: str,
           conn) -> pd.DataFrame:
    """Units of one level: code and name required; the parent by its code (``parent``
    field) or, failing that, the unit of the level above that holds the feature."""
    code_col, name_col = _pick(frame, "units", "code", mapping), _pick(frame, "units", "name", mapping)
    for col, what in ((code_col, "code"), (name_col, "name")):
        if col is None:
            raise ImportError_(f"{path}: units need a {what}: map one with --map {what}=FIELD")
    codes = frame[code_col].astype("string").str.strip().str.replace(r"\.0$", "", regex=True)
    bad = ~codes.fillna("").str.fullmatch(r"[0-9]{9,18}")
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise ImportError_(f"{path}: feature {frame.index[i] + 1}: code {codes.iloc[i]!r} is "
                           "not an official unit code (9 to 18 digits)")
    names = frame[name_col].astype("string").str.strip()
    parents = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    above = LEVELS[LEVELS.index(level) - 1] if level != "town" else None
    if above:
        parent_col = _pick(frame, "units", "parent", mapping)
        points = shapely.to_wkb(shapely.point_on_surface(frame.geometry.to_numpy()), hex=True)
        for i, (pos, point) in enumerate(zip(frame.index, points, strict=True)):
            given = frame[parent_col].iloc[i] if parent_col else None
            row = conn.execute(sa.text(
                "SELECT id FROM units WHERE level = :l AND (CASE WHEN CAST(:code AS text) "
                "IS NULL THEN ST_Intersects(geom, ST_GeomFromWKB(decode(:p, 'hex'), 4326)) "
                "ELSE code = :code END) ORDER BY id LIMIT 1"),
                {"l": above, "code": None if given is None or pd.isna(given) else str(given),
                 "p": point}).scalar()
            if row is None:
                why = (f"no {above} with code {given!r}" if given is not None
                       and not pd.isna(given) else f"it lies in no {above} of the twin")
                raise ImportError_(f"{path}: feature {pos + 1} ({names.iloc[i]}): {why}: "
                                   f"import the {above}s first")
            parents.iloc[i] = row
    return pd.DataFrame({"level": level, "code": codes, "name": names, "parent_id": parents,
                         "geom": frame.geometry})


def land_class(value: Any) -> str:
    """The twin's land class of a survey or OSM land-use word ("other" if none fits)."""
    text = "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
    return next((cls for cls, words in LAND_WORDS if any(w in text for w in words)), "other")


def _classify(value: Any, words: tuple, default: str | None) -> str | None:
    text = "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
    return next((cls for cls, ws in words if any(w in text for w in ws)), default)


def _named_points(frame: gpd.GeoDataFrame, path: Path, mapping: dict[str, str],
                  what: str) -> tuple[pd.Series, str | None]:
    """The names of point features (required) and the column of their kind, if any."""
    name_col = _pick(frame, what, "name", mapping)
    if name_col is None:
        raise ImportError_(f"{path}: {what} need a name: map one with --map name=FIELD")
    names = frame[name_col].astype("string").str.strip()
    missing = names.isna() | (names == "")
    if missing.any():
        i = int(np.flatnonzero(missing.to_numpy())[0])
        raise ImportError_(f"{path}: feature {frame.index[i] + 1}: the name is empty")
    return names, _pick(frame, what, "kind", mapping)


def _stations(frame: gpd.GeoDataFrame, path: Path, mapping: dict[str, str],
              kind: str) -> pd.DataFrame:
    names, kind_col = _named_points(frame, path, mapping, kind)
    code_col = _pick(frame, kind, "code", mapping)
    if code_col is None:
        raise ImportError_(f"{path}: stations need their code: map one with --map code=FIELD")
    source = frame[kind_col] if kind_col else names
    kinds = source.map(lambda v: _classify(v, STATION_WORDS, None))
    if kinds.isna().any():
        i = int(np.flatnonzero(kinds.isna().to_numpy())[0])
        raise ImportError_(f"{path}: feature {frame.index[i] + 1}: what does station "
                           f"{names.iloc[i]!r} measure? (air, water, water_level, noise or "
                           "visitors; map the field with --map kind=FIELD)")
    return pd.DataFrame({"code": frame[code_col].astype(str), "kind": kinds, "name": names,
                         "geom": frame.geometry})


def _organizations(frame: gpd.GeoDataFrame, path: Path,
                   mapping: dict[str, str], kind: str) -> pd.DataFrame:
    names, kind_col = _named_points(frame, path, mapping, "organizations")
    source = frame[kind_col] if kind_col else names
    members = _number(frame, _pick(frame, kind, "members", mapping), path, "members")
    return pd.DataFrame({"kind": source.map(lambda v: _classify(v, ORG_WORDS, "other")),
                         "name": names, "members": members.fillna(0).astype(int),
                         "unit_id": pd.array([pd.NA] * len(frame), dtype="Int64"),
                         "geom": frame.geometry})


def _land(frame: gpd.GeoDataFrame, path: Path, mapping: dict[str, str],
          kind: str) -> pd.DataFrame:
    use_col = _pick(frame, kind, "use_class", mapping)
    if use_col is None:
        raise ImportError_(f"{path}: land parcels need a land class: map one with "
                           "--map use_class=FIELD (地类名称 in survey data)")
    code_col = _pick(frame, kind, "code", mapping)
    return pd.DataFrame({"code": frame[code_col].astype(str) if code_col else None,
                         "use_class": frame[use_col].map(land_class), "geom": frame.geometry})


def _read(path: Path, kind: str, crs: str | None, encoding: str | None,
          report: ImportReport) -> pd.DataFrame:
    """The file's records: features in WGS84, or for registers without coordinates the
    table as text (a household list has coordinates or building codes)."""
    tabular = path.suffix.lower() in (".csv", ".txt", ".xlsx", ".xls")
    if kind in TABLES or (kind == "households" and tabular):
        frame, _, notes = read_table(path, encoding)
        positioned = find_column(frame, LON_NAMES) is not None and \
            find_column(frame, LAT_NAMES) is not None
        if not (kind == "households" and positioned):
            report.read, report.notes = len(frame), list(notes)
            return frame.reset_index(drop=True)
    found = read_vector(path, crs=crs, encoding=encoding)
    report.read, report.notes = len(found.frame), list(found.notes)
    return found.frame.reset_index(drop=True)


def import_file(engine: Engine, path: str | Path, kind: str, *, crs: str | None = None,
                encoding: str | None = None, mapping: dict[str, str] | None = None,
                dry_run: bool = False, level: str | None = None,
                pii_key: PiiKey | None = None,
                progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Import ``path`` as ``kind`` in one transaction (rolled back when ``dry_run``);
    units need their ``level``, residents the personal-data key. ``progress(done, total)``
    follows the writing."""
    if kind not in KINDS:
        raise ImportError_(f"cannot import as {kind!r}: one of {', '.join(KINDS)}")
    if kind == "units" and level not in LEVELS:
        raise ImportError_(f"units need --level: one of {', '.join(LEVELS)}")
    if kind in WITH_KEY and pii_key is None:
        raise ImportError_("residents are imported with the personal-data key (TWIN_PII_KEY)")
    path, mapping = Path(path), mapping or {}
    report = ImportReport()
    frame = _read(path, kind, crs, encoding, report)
    if kind == "buildings" and "building" in frame and frame["building"].isna().any():
        # OSM areas: the buildings among land use, water and the rest
        report.notes.append(f"{int(frame['building'].isna().sum())} areas that are not "
                            "buildings left out")
        frame = frame[frame["building"].notna()]
        report.read = len(frame)
    if isinstance(frame, gpd.GeoDataFrame):
        frame = _clean(frame, path, polygons=_polygons(element(kind).table), report=report)
    table = element(kind).table
    rows = pd.DataFrame()
    now = dt.datetime.now(dt.UTC)
    with engine.connect() as conn:
        tx = conn.begin()
        try:
            writes.one_connection_per_node(conn)
            if kind in REGISTERS:
                rows = _register_rows(conn, kind, frame, path, mapping, pii_key, report, now)
            else:
                rows = (_units(frame, path, mapping, level, conn) if kind == "units" else
                        READERS.get(kind, _columns)(frame, path, mapping, kind))
                report.notes += rows.attrs.get("notes", [])
            if kind == "observations":
                report.read = rows.attrs["read"]
                report.written = registers.write_observations(conn, rows, report.notes)
            elif kind in registers.WRITERS:  # versions, upserts: not a plain COPY
                report.written = registers.WRITERS[kind](conn, rows, report.notes,
                                                         f"import:{path.name}")
            else:
                ids = conn.execute(sa.text(
                    f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) "  # noqa: S608
                    "FROM generate_series(1, :n)"), {"n": len(rows)}).scalars().all()
                rows.insert(0, "id", np.asarray(ids, dtype=np.int64))
                prefix = {"buildings": "IMP-B", "land": "IMP-L", "events": "IMP-E"}.get(kind)
                if prefix and rows["code"].isna().any():
                    rows["code"] = rows["code"].where(rows["code"].notna(),
                                                      prefix + rows["id"].astype(str))
                written = 0

                def step(_table: str, n: int) -> None:
                    nonlocal written
                    written += n
                    progress(written, len(rows))

                report.written = copy_frame(conn, table, rows, step if progress else None)
                if kind == "events":
                    registers.log_imported(conn, ids, rows, path.name, now)
                if kind == "microgrid_leaders":
                    registers.link_households(conn, ids, report.notes)
            report.rejected = report.read - report.written
            if dry_run:
                tx.rollback()
            else:
                tx.commit()
        except LoadError as exc:
            tx.rollback()
            raise ImportError_(f"{path}: {_feature_named(str(exc), rows, path)}") from None
        except registers.RegisterError as exc:
            tx.rollback()
            raise ImportError_(f"{path}: {exc}") from None
        except BaseException:
            tx.rollback()
            raise
    return report


# The families with a reader of their own (words to classify, derived fields); any other
# family is read column by column from its catalogue entry (_columns).
READERS = {"buildings": _buildings, "facilities": _facilities, "land": _land,
           "stations": _stations, "organizations": _organizations}


def _polygons(table: str) -> bool:
    """Whether the table holds areas (its features are read as multipolygons)."""
    geom = metadata.tables[table].columns.get("geom")
    return geom is not None and "POLYGON" in str(geom.type.geometry_type).upper()


def _columns(frame: gpd.GeoDataFrame, path: Path, mapping: dict[str, str],
             kind: str) -> pd.DataFrame:
    """A family's rows from a file by its catalogue entry alone: each loaded column from the
    field of one of its usual names (``--map`` first); a column the schema requires must be
    found and filled; a list column (text[]) is split at 、,，;；|."""
    table = metadata.tables[element(kind).table]
    rows = {}
    for name in element(kind).load:
        if name in ("id", "geom"):
            continue
        column, source = table.columns[name], _pick(frame, kind, name, mapping)
        if source is None:
            if not column.nullable and column.server_default is None:
                raise ImportError_(f"{path}: {kind} need a field {name}: map one with "
                                   f"--map {name}=FIELD")
            rows[name] = None
            continue
        values = frame[source].astype("string").str.strip()
        if not column.nullable and (values.isna() | (values == "")).any():
            i = int(np.flatnonzero((values.isna() | (values == "")).to_numpy())[0])
            raise ImportError_(f"{path}: feature {frame.index[i] + 1}: {name} is empty")
        if isinstance(column.type, ARRAY):
            values = values.map(lambda v: [x.strip() for x in re.split(r"[、,，;；|]", v)
                                           if x.strip()] if isinstance(v, str) else [])
        rows[name] = values
    return pd.DataFrame({**rows, "geom": frame.geometry}, index=frame.index)


def _register_rows(conn, kind: str, frame: pd.DataFrame, path: Path, mapping: dict[str, str],
                   pii_key: PiiKey | None, report: ImportReport,
                   now: dt.datetime) -> pd.DataFrame:
    if kind == "households":
        return registers.households(conn, frame, path, mapping, report.notes)
    if kind == "people":
        return registers.people(conn, frame, path, mapping, pii_key, report.notes)
    if kind == "observations":
        return registers.observations(conn, frame, path, mapping, report.notes)
    if kind in ("microgrid_leaders", "organization_members"):
        return getattr(registers, kind)(conn, frame, path, mapping, pii_key, report.notes)
    if kind in ("points_rules", "shop_items"):
        return getattr(registers, kind)(conn, frame, path, mapping, report.notes)
    if kind in ("visits", "cadres"):
        return getattr(registers, kind)(conn, frame, path, mapping, report.notes)
    return registers.events(conn, frame, path, mapping, report.notes, now)


def _feature_named(message: str, rows: pd.DataFrame, path: Path) -> str:
    """Turn COPY's input row into the file's feature (or spreadsheet row) number."""
    found = re.search(r"input row (\d+)", message)
    if not found:
        return message
    row = int(found.group(1)) - 1
    position = int(rows.index[row]) if 0 <= row < len(rows) else row
    return re.sub(r"\(input row \d+\)", f"({registers.row_label(path, position)})", message)


def import_raster(settings, path: str | Path, kind: str) -> tuple[str, str | None]:
    """A GeoTIFF (only that: ``geodata.guard``) becomes the twin's DEM or imagery: a COG
    beside the old one, checked, then swapped in (the map's tiles follow by version).
    Returns what was done and a note when it lies far from the county."""
    from geodata.raster import RasterError, raster_info, to_cog

    path = Path(path)
    rasters = Path(settings.data_dir) / "rasters"
    rasters.mkdir(parents=True, exist_ok=True)
    target = rasters / ("dem.tif" if kind == "dem" else "imagery.tif")
    partial = target.with_suffix(".importing.tif")
    try:
        to_cog(path, partial, kind=kind)
        info = raster_info(partial)
    except RasterError as exc:
        partial.unlink(missing_ok=True)
        raise LoadError(str(exc)) from None
    west, south, east, north = info["bounds"]
    far = not (east > 118 and west < 123 and north > 28 and south < 32)
    partial.replace(target)
    note = (f"it lies far from the county (around {(west + east) / 2:.2f}, "
            f"{(south + north) / 2:.2f}): check the CRS") if far else None
    return (f"{path}: {kind} {info['width']}×{info['height']} px, {info['crs']}, written to "
            f"{target}", note)
