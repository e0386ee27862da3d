"""Importing a county's registers: households, residents, monitoring readings and events.

They arrive as spreadsheets (CSV in UTF-8 or GBK, XLSX) with Chinese headers, from the
civil-affairs household register, the environment bureau's monitoring exports and the
12345 hotline / grid platform. Each becomes rows of the twin in the caller's transaction:

- residents' ID-card and phone numbers are checked (check digit, 11 digits) and kept only
  as keyed hash plus mask; no message ever quotes a name or a number, only the row;
- readings may be long (station, time, parameter, value) or wide (one column per
  parameter, as monitoring platforms export them) and go through the warning evaluation;
- rows already in the twin (the same resident, reading or event code) are skipped and
  reported, so an overlapping export can be imported again.

Messages name the spreadsheet row as the clerk sees it (the header is row 1).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from twin.catalog import element
from twin.domain.pii import TEXT_PATTERNS, PiiKey, protect_id, protect_phone
from twin.domain.summary import LOCAL_TZ  # times without a zone are local, as registers write them
from twin.domain.units import LEVELS as UNIT_LEVELS
from twin.domain.workflow import DONE, OPEN
from twin.store import writes

# Register field → the names registers use for it, from the catalogue's register families
# (a field two families share, such as the household code, is named alike in both).
ALIASES: dict[str, tuple[str, ...]] = {
    target: names for family in ("households", "people", "observations", "events",
                                 "microgrid_leaders", "visits", "cadres", "points_rules",
                                 "shop_items", "organization_members")
    for target, names in element(family).aliases.items()}
TAG_WORDS = {"老年人": "elderly", "党员": "party_member", "残疾人": "disability",
             "低保": "low_income", "低保户": "low_income", "退役军人": "veteran",
             "留守儿童": "left_behind_child"}
SEX_WORDS = {"男": "M", "女": "F", "m": "M", "f": "F", "male": "M", "female": "F"}
BLANK_VALUES = {"", "-", "—", "--", "/", "na", "n/a", "nan", "null", "无数据", "缺测"}
STATUS_WORDS = (("reported", ("待受理", "已上报", "待处理", "新建", "上报")),
                ("triaged", ("已受理", "已研判", "受理")),
                ("dispatched", ("已派遣", "已分派", "已交办", "派遣", "交办")),
                ("handling", ("处置中", "办理中", "处理中")),
                ("resolved", ("已办结", "已处置", "已解决", "已完成", "办结")),
                ("closed", ("已关闭", "已归档", "已结案", "结案", "归档")),
                ("rejected", ("不予受理", "已驳回", "驳回", "退回")),
                ("duplicate", ("重复",)))
CATEGORY_WORDS = (("fire", ("消防", "火")), ("dispute", ("纠纷", "矛盾", "调解")),
                  ("illegal_construction", ("违建", "违章", "违法建设", "违法搭建")),
                  ("flood", ("防汛", "台风", "内涝", "汛")),
                  ("sanitation", ("卫生", "垃圾", "保洁")),
                  ("environment", ("环境", "污染", "排污", "生态")),
                  ("food_drug", ("食品", "药品")), ("public_order", ("治安", "盗窃")),
                  ("traffic", ("交通", "道路", "停车")),
                  ("public_facility", ("设施", "路灯", "井盖")),
                  ("livelihood", ("民生", "救助", "养老", "就业")),
                  ("safety", ("安全", "隐患")))
SOURCE_WORDS = (("hotline", ("12345", "热线", "hotline")), ("sensor", ("传感", "感知", "sensor")),
                ("inspection", ("巡查", "督查", "inspection")),
                ("resident", ("群众", "居民", "村民", "resident")),
                ("open311", ("open311",)), ("grid_worker", ("网格", "grid")))
SATISFACTION_WORDS = {"非常满意": 5, "满意": 4, "基本满意": 3, "不满意": 2, "非常不满意": 1}
RESOLVED = ("resolved", "closed")  # done with a resolution time (rejected ones are done too)
LEVEL_WORDS = {"微网格": "microgrid", "网格": "grid", "村": "village", "社区": "village",
               "村（社区）": "village", "镇": "town", "街道": "town", "镇（街道）": "town"}


POST_WORDS = (("deputy_secretary", ("副书记",)), ("secretary", ("书记",)),
              ("committee", ("副主任", "委员", "副主席")), ("director", ("主任", "主席")),
              ("grid_worker", ("网格员", "专职网格")), ("reserve", ("后备", "储备")))
EDUCATION_WORDS = (("master", ("研究生", "硕士", "博士")), ("bachelor", ("本科", "学士")),
                   ("college", ("大专", "专科", "高职")),
                   ("senior", ("高中", "中专", "职高", "技校")), ("junior", ("初中", "小学")))
VISIT_WORDS = (("knock", ("敲门",)), ("day_night", ("日访", "夜谈")),
               ("patrol", ("巡查", "走访", "入户")))
YES_WORDS = ("是", "党员", "中共党员", "预备党员", "中共预备党员", "yes", "true", "1", "y")
NO_WORDS = ("否", "群众", "非党员", "团员", "共青团员", "no", "false", "0", "n")


class RegisterError(ValueError):
    """A register row that cannot be imported (the caller adds the file's name)."""


def row_label(path: Path, i: int) -> str:
    """The position of the i-th record as its author sees it: a spreadsheet row (header =
    row 1) or a feature number."""
    return f"row {i + 2}" if path.suffix.lower() in (".csv", ".txt", ".xlsx", ".xls") else \
        f"feature {i + 1}"


def pick(frame: pd.DataFrame, target: str, mapping: dict[str, str]) -> str | None:
    """The file's column for a twin field: ``--map`` first, then the usual names."""
    key = target.removeprefix("person_").removeprefix("event_")
    for name in (target, key):
        if name in mapping:
            if mapping[name] not in frame.columns:
                raise RegisterError(f"--map {name}={mapping[name]}: the file has no field "
                                    f"{mapping[name]!r} (it has "
                                    f"{', '.join(map(str, frame.columns))})")
            return mapping[name]
    lowered = {str(c).strip().lower(): c for c in frame.columns}
    return next((lowered[a.lower()] for a in ALIASES[target] if a.lower() in lowered), None)


def require(frame: pd.DataFrame, target: str, mapping: dict[str, str], what: str) -> str:
    column = pick(frame, target, mapping)
    if column is None:
        names = "/".join(ALIASES[target][1:4])
        raise RegisterError(f"{what} need a field {names}: or map one with "
                            f"--map {target.removeprefix('person_').removeprefix('event_')}"
                            "=FIELD")
    return column


def _text(frame: pd.DataFrame, column: str | None) -> pd.Series:
    if column is None:
        return pd.Series(pd.NA, index=frame.index, dtype="string")
    out = frame[column].astype("string").str.strip()
    return out.mask(out == "")


def _filled(frame: pd.DataFrame, column: str, path: Path, what: str) -> pd.Series:
    """A column that must hold a value in every row, as text; RegisterError naming the
    first row where ``what`` is empty."""
    values = _text(frame, column)
    if values.isna().any():
        raise RegisterError(f"{row_label(path, frame.index[_first_bad(values.isna())])}: "
                            f"{what} is empty")
    return values


def _first_bad(mask: pd.Series | np.ndarray) -> int:
    return int(np.flatnonzero(np.asarray(mask))[0])


def _parsed(values: pd.Series, path: Path, field: str, what: str) -> pd.Series:
    """Dates or times as pandas reads them; RegisterError naming the first that is not."""
    parsed = pd.to_datetime(values, errors="coerce", format="mixed")
    bad = parsed.isna() & values.notna()
    if bad.any():
        i = _first_bad(bad)
        raise RegisterError(f"{row_label(path, values.index[i])}: {field} {values.iloc[i]!r} "
                            f"is not {what}")
    return parsed


def _times(values: pd.Series, path: Path, field: str) -> pd.Series:
    """Timestamps in UTC; text without a zone is local time."""
    parsed = _parsed(values, path, field, "a date and time")
    if getattr(parsed.dt, "tz", None) is None:
        return parsed.dt.tz_localize(LOCAL_TZ, ambiguous="NaT",
                                     nonexistent="shift_forward").dt.tz_convert("UTC")
    return parsed.dt.tz_convert("UTC")


def _classify(value: Any, words: tuple, codes: tuple[str, ...]) -> str | None:
    if value is None or value is pd.NA:
        return None
    text = str(value).strip()
    if text.lower() in codes:
        return text.lower()
    return next((cls for cls, ws in words if any(w in text for w in ws)), None)


def scrub(text: pd.Series) -> tuple[pd.Series, int]:
    """Mask phone and ID numbers written into free text (complaints quote them), as
    :func:`twin.domain.pii.scrub_text` does, for a whole column at once."""
    masked = text
    for pattern, mask in TEXT_PATTERNS:
        masked = masked.str.replace(pattern, mask, regex=True)
    return masked, int((masked.fillna("") != text.fillna("")).sum())


# --- households -----------------------------------------------------------------------------
def households(conn: Connection, frame: pd.DataFrame, path: Path, mapping: dict[str, str],
               notes: list[str]) -> pd.DataFrame:
    """Households with a code; their position from the file, else their building's.
    A household placed by coordinates is put in the building that holds it, if any."""
    codes = _text(frame, require(frame, "household", mapping, "households"))
    if codes.isna().any():
        raise RegisterError(f"{row_label(path, frame.index[_first_bad(codes.isna())])}: "
                            "the household code is empty")
    building_codes = _text(frame, pick(frame, "building", mapping))
    has_geom = isinstance(frame, gpd.GeoDataFrame)
    wanted = sorted(set(building_codes.dropna()))
    found = pd.DataFrame(conn.execute(sa.text(
        "SELECT code, id, ST_AsBinary(ST_PointOnSurface(geom)) AS point FROM buildings "
        "WHERE code = ANY(:codes)"), {"codes": wanted}).all(), columns=["code", "id", "point"])
    by_code = found.set_index("code")
    unknown = building_codes.notna() & ~building_codes.isin(by_code.index)
    if unknown.any():
        i = _first_bad(unknown)
        raise RegisterError(f"{row_label(path, frame.index[i])}: no building with code "
                            f"{building_codes.iloc[i]!r}: import the buildings first")
    building_id = building_codes.map(by_code["id"]).astype("Int64")
    geoms = (frame.geometry.to_numpy().copy() if has_geom
             else np.full(len(frame), None, dtype=object))
    missing = pd.isna(geoms)
    from_building = missing & building_codes.notna().to_numpy()
    if from_building.any():
        points = building_codes[from_building].map(by_code["point"])
        geoms[from_building] = shapely.from_wkb(points.map(bytes).to_numpy())
    still = pd.isna(geoms)
    if still.any():
        raise RegisterError(f"{row_label(path, frame.index[_first_bad(still)])}: the household "
                            "has neither coordinates nor a building code")
    placed = building_id.isna().to_numpy()
    if placed.any():
        # the building that holds each household placed by coordinates
        idx = np.flatnonzero(placed)
        holders = conn.execute(sa.text(
            "SELECT p.i, b.id FROM unnest(CAST(:i AS int[]), CAST(:wkb AS bytea[])) "
            "AS p(i, wkb) JOIN buildings b ON ST_Covers(b.geom, ST_GeomFromWKB(p.wkb, 4326))"),
            {"i": idx.tolist(), "wkb": [shapely.to_wkb(g) for g in geoms[idx]]}).all()
        for i, bid in holders:
            building_id.iloc[i] = bid
        notes.append(f"{len(holders):,} of {len(idx):,} households placed by coordinates lie "
                     "in a building of the twin and were linked to it")
    if codes.duplicated().any():
        i = _first_bad(codes.duplicated())
        raise RegisterError(f"{row_label(path, frame.index[i])}: household code "
                            f"{codes.iloc[i]!r} appears twice in the file")
    return pd.DataFrame({"code": codes, "building_id": building_id,
                         "address": _text(frame, pick(frame, "address", mapping)),
                         "geom": geoms}, index=frame.index)


# --- people ------------------------------------------------------------------------------
def _protected(values: pd.Series, protect, key: PiiKey, path: Path,
               index: pd.Index) -> tuple[list, list]:
    """(hashes, masks) of a column of ID or phone numbers (``twin.domain.pii``'s checks); an empty
    cell stays empty; a bad one names its row and field, never its value."""
    hashes, masks = [], []
    for pos, value in enumerate(values):
        if value is pd.NA:
            hashes.append(None)
            masks.append(None)
            continue
        try:
            digest, mask = protect(key, value)
        except ValueError as exc:  # the reason, never the number
            raise RegisterError(f"{row_label(path, index[pos])}: field {values.name}: "
                                f"{exc}") from None
        hashes.append(digest)
        masks.append(mask)
    return hashes, masks


def people(conn: Connection, frame: pd.DataFrame, path: Path, mapping: dict[str, str],
           key: PiiKey, notes: list[str]) -> pd.DataFrame:
    """Residents of households already in the twin. ID-card and phone numbers become keyed
    hash plus mask here; sex and birth date come from the ID number when not given. A
    resident whose ID number is already in the twin (or earlier in the file) is skipped."""
    what = "residents"
    households_ = _text(frame, require(frame, "household", mapping, what))
    names = _text(frame, require(frame, "person_name", mapping, what))
    ids = _text(frame, require(frame, "id_number", mapping, what))
    phones = _text(frame, pick(frame, "phone", mapping))
    for values, field in ((households_, "the household code"), (names, "the name")):
        if values.isna().any():
            raise RegisterError(f"{row_label(path, frame.index[_first_bad(values.isna())])}: "
                                f"{field} is empty")
    known = dict(conn.execute(sa.text("SELECT code, id FROM households WHERE code = ANY(:c)"),
                              {"c": sorted(set(households_))}).all())
    unknown = ~households_.isin(known)
    if unknown.any():
        i = _first_bad(unknown)
        raise RegisterError(f"{row_label(path, frame.index[i])}: no household with code "
                            f"{households_.iloc[i]!r}: import the households first")
    id_hash, id_masked = _protected(ids, protect_id, key, path, frame.index)
    phone_hash, phone_masked = _protected(phones, protect_phone, key, path, frame.index)
    clean_ids = ids.str.upper()
    sex_given = _text(frame, pick(frame, "sex", mapping)).str.lower().map(
        SEX_WORDS, na_action="ignore")
    sex_from_id = clean_ids.str.slice(16, 17).map(
        lambda d: None if d is pd.NA else ("M" if int(d) % 2 else "F"), na_action="ignore")
    birth_given = _text(frame, pick(frame, "birth_date", mapping))
    birth = pd.to_datetime(birth_given, errors="coerce", format="mixed")
    if (birth.isna() & birth_given.notna()).any():
        i = _first_bad(birth.isna() & birth_given.notna())
        raise RegisterError(f"{row_label(path, frame.index[i])}: the birth date is not a date")
    birth = birth.fillna(pd.to_datetime(clean_ids.str.slice(6, 14), format="%Y%m%d",
                                        errors="coerce"))
    tags_col = pick(frame, "tags", mapping)
    tags = (_text(frame, tags_col).astype(object).map(
        lambda v: [] if v is pd.NA else [TAG_WORDS.get(t.strip(), t.strip())
                                         for t in re.split(r"[、,，;；|]", v) if t.strip()],
        na_action=None) if tags_col else pd.Series([[] for _ in range(len(frame))],
                                                   index=frame.index))
    rows = pd.DataFrame({
        "household_id": households_.map(known).astype("int64"), "name": names,
        "sex": sex_given.fillna(sex_from_id), "birth_date": birth.dt.date,
        "relation": _text(frame, pick(frame, "relation", mapping)), "tags": tags,
        "id_hash": id_hash, "id_masked": id_masked, "phone_hash": phone_hash,
        "phone_masked": phone_masked}, index=frame.index)
    rows["birth_date"] = rows["birth_date"].astype(object).where(birth.notna(), None)
    hashes = rows["id_hash"].dropna()
    twice = hashes.duplicated()
    present = set(conn.execute(sa.text(
        "SELECT id_hash FROM people WHERE id_hash = ANY(:h)"),
        {"h": sorted(set(hashes))}).scalars()) if len(hashes) else set()
    drop = hashes.index[twice.to_numpy()].union(hashes.index[hashes.isin(present).to_numpy()])
    if len(twice[twice]):
        notes.append(f"{int(twice.sum()):,} resident(s) listed twice in the file skipped "
                     f"(first: {row_label(path, hashes.index[twice.to_numpy()][0])})")
    if present:
        notes.append(f"{int(hashes.isin(present).sum()):,} resident(s) already in the twin "
                     "skipped (same ID number)")
    if ids.isna().any():
        notes.append(f"{int(ids.isna().sum()):,} resident(s) without an ID number")
    return rows.drop(index=drop)


# --- observations ---------------------------------------------------------------------------
def _parameter_key(text: str) -> str:
    """A header or parameter name without units, spaces, dots and subscripts."""
    text = re.sub(r"[（(\[].*?[）)\]]", "", str(text)).strip().lower()
    text = text.translate(str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789"))
    return re.sub(r"[\s._·\-]", "", text)


def _parameter_names(conn: Connection) -> dict[str, str]:
    """Every name a parameter goes by (code, English, Chinese, the Chinese name's parts)."""
    names: dict[str, str] = {}
    for code, zh, en in conn.execute(sa.text("SELECT code, name_zh, name_en FROM parameters")):
        for n in (code, en, zh, *zh.split()):
            names.setdefault(_parameter_key(n), code)
    names.update({"aqi": "", "空气质量指数": "", "首要污染物": "", "等级": ""})  # derived
    return names


def observations(conn: Connection, frame: pd.DataFrame, path: Path, mapping: dict[str, str],
                 notes: list[str]) -> pd.DataFrame:
    """Readings of stations already in the twin (by code or name), long or wide; the
    frame's ``attrs["read"]`` counts the readings found, blanks included."""
    what = "readings"
    stations_ = _text(frame, require(frame, "station", mapping, what))
    times = _text(frame, require(frame, "time", mapping, what))
    for values, field in ((stations_, "the station"), (times, "the time")):
        if values.isna().any():
            raise RegisterError(f"{row_label(path, frame.index[_first_bad(values.isna())])}: "
                                f"{field} is empty")
    names = _parameter_names(conn)
    param_col, value_col = pick(frame, "parameter", mapping), pick(frame, "value", mapping)
    if param_col and value_col:
        keys = _text(frame, param_col).map(lambda v: names.get(_parameter_key(v)),
                                           na_action="ignore")
        if keys.isna().any():
            i = _first_bad(keys.isna())
            raise RegisterError(f"{row_label(path, frame.index[i])}: unknown parameter "
                                f"{frame[param_col].iloc[i]!r} (one of "
                                f"{', '.join(sorted(set(names.values()) - {''}))})")
        long = pd.DataFrame({"row": frame.index, "station": stations_, "time": times,
                             "parameter": keys, "raw": _text(frame, value_col)})
    else:
        columns = {c: names.get(_parameter_key(c)) for c in frame.columns}
        measured = {c: p for c, p in columns.items() if p}
        if not measured:
            raise RegisterError("no readings found: give 监测项目 and 监测值 columns, or one "
                                "column per parameter (e.g. PM2.5, 氨氮), or --map "
                                "parameter=FIELD --map value=FIELD")
        ignored = [c for c, p in columns.items() if p == ""]
        if ignored:
            notes.append(f"derived column(s) {', '.join(map(str, ignored))} not imported "
                         "(the twin computes them)")
        long = pd.concat([pd.DataFrame({"row": frame.index, "station": stations_,
                                        "time": times, "parameter": p,
                                        "raw": _text(frame, c)})
                          for c, p in measured.items()], ignore_index=True)
    read = len(long)  # readings, not rows: a wide row holds several
    blank = long["raw"].isna() | long["raw"].str.lower().isin(BLANK_VALUES)
    if blank.any():
        notes.append(f"{int(blank.sum()):,} empty reading(s) (blank, —, 缺测) skipped")
    long = long[~blank.to_numpy()]
    values = pd.to_numeric(long["raw"], errors="coerce")
    if values.isna().any():
        i = _first_bad(values.isna())
        raise RegisterError(f"{row_label(path, int(long['row'].iloc[i]))}: "
                            f"{long['parameter'].iloc[i]} reading {long['raw'].iloc[i]!r} "
                            "is not a number")
    stations = pd.DataFrame(conn.execute(sa.text(
        "SELECT s.id, s.code, s.name, s.kind FROM stations s")).all(),
        columns=["id", "code", "name", "kind"])
    by_code = dict(zip(stations["code"], stations["id"], strict=True))
    by_name = dict(zip(stations["name"], stations["id"], strict=True))
    ids = long["station"].map(lambda s: by_code.get(s, by_name.get(s)))
    if ids.isna().any():
        i = _first_bad(ids.isna())
        raise RegisterError(f"{row_label(path, int(long['row'].iloc[i]))}: no station "
                            f"{long['station'].iloc[i]!r} in the twin: import the stations "
                            "first")
    kinds = dict(conn.execute(sa.text("SELECT code, kind FROM parameters")).all())
    station_kind = ids.map(dict(zip(stations["id"], stations["kind"], strict=True)))
    wrong = station_kind.to_numpy() != long["parameter"].map(kinds).to_numpy()
    if wrong.any():
        i = _first_bad(wrong)
        raise RegisterError(f"{row_label(path, int(long['row'].iloc[i]))}: station "
                            f"{long['station'].iloc[i]!r} is a {station_kind.iloc[i]} station "
                            f"and does not measure {long['parameter'].iloc[i]}")
    rows = pd.DataFrame({"station_id": ids.astype("int64").to_numpy(),
                         "parameter": long["parameter"].to_numpy(),
                         "observed_at": _times(pd.Series(long["time"].to_numpy(),
                                                         index=long["row"].to_numpy()),
                                               path, "the time").to_numpy(),
                         "value": values.to_numpy()},
                        index=long["row"].to_numpy())
    rows.attrs["read"] = read
    return rows


def write_observations(conn: Connection, rows: pd.DataFrame, notes: list[str]) -> int:
    """Readings not yet in the twin are added and evaluated against their thresholds."""
    from twin.domain.monitor import evaluate
    from twin.ingest.load import copy_text

    conn.execute(sa.text("CREATE TEMP TABLE import_readings (station_id bigint, parameter "
                         "text, observed_at timestamptz, value double precision) "
                         "ON COMMIT DROP"))
    raw = conn.connection.driver_connection
    with raw.cursor().copy("COPY import_readings FROM STDIN") as copy:
        for _, text in copy_text(rows, ("station_id", "parameter", "observed_at", "value")):
            copy.write(text)
    # each reading with its station's cell (on one node the trigger gives the same; on Citus
    # the town routes it; every station id was read by code above, so the join keeps every
    # row); rows returned, not rowcount: Citus says 0 for INSERT … SELECT
    written = len(conn.execute(sa.text(
        "INSERT INTO observations (station_id, parameter, observed_at, value, microgrid_id, "
        "grid_id, village_id, town_id) "
        "SELECT DISTINCT ON (r.station_id, r.parameter, r.observed_at) r.*, s.microgrid_id, "
        "s.grid_id, s.village_id, s.town_id "
        "FROM import_readings r JOIN stations s ON s.id = r.station_id "
        "ORDER BY r.station_id, r.parameter, r.observed_at ON CONFLICT DO NOTHING "
        "RETURNING station_id")).all())
    writes.readings_added(conn, rows)
    if written < len(rows):
        notes.append(f"{len(rows) - written:,} reading(s) already in the twin (or twice in "
                     "the file) skipped")
    if written:
        result = evaluate(conn, rows["observed_at"].min(), rows["observed_at"].max())
        notes.append(f"warnings: {result['opened']} opened, {result['updated']} extended, "
                     f"{result['closed']} closed")
    return written


# --- events ----------------------------------------------------------------------------------
def events(conn: Connection, frame: pd.DataFrame, path: Path, mapping: dict[str, str],
           notes: list[str], now: dt.datetime) -> pd.DataFrame:
    """Events from another platform's export (the 12345 hotline, a grid system). Open ones
    get a deadline from the import on, at their level; events whose code is already in the
    twin are skipped. Phone and ID numbers quoted in titles and descriptions are masked."""
    what = "events"
    categories = dict(conn.execute(sa.text(
        "SELECT name_zh, code FROM event_categories")).all())
    category_src = _text(frame, require(frame, "category", mapping, what))
    category = category_src.map(
        lambda v: categories.get(v) or _classify(v, CATEGORY_WORDS,
                                                 tuple(categories.values())),
        na_action="ignore")
    if category.isna().any():
        i = _first_bad(category.isna())
        raise RegisterError(f"{row_label(path, frame.index[i])}: category "
                            f"{category_src.iloc[i]!r} is none of the twin's "
                            f"({'、'.join(categories)})")
    description = _text(frame, pick(frame, "description", mapping))
    title = _text(frame, pick(frame, "title", mapping)).fillna(description.str.slice(0, 40))
    if title.isna().any():
        raise RegisterError(f"{row_label(path, frame.index[_first_bad(title.isna())])}: the "
                            "event has neither a title nor a description")
    title, masked_t = scrub(title)
    description, masked_d = scrub(description)
    if masked_t or masked_d:
        notes.append(f"phone or ID numbers masked in {masked_t + masked_d:,} title(s) and "
                     "description(s)")
    reported = _text(frame, require(frame, "reported_at", mapping, what))
    if reported.isna().any():
        raise RegisterError(f"{row_label(path, frame.index[_first_bad(reported.isna())])}: "
                            "the report time is empty")
    reported_at = _times(reported, path, "the report time")
    resolved_at = _times(_text(frame, pick(frame, "resolved_at", mapping)), path,
                         "the resolution time")
    closed_at = _times(_text(frame, pick(frame, "closed_at", mapping)), path,
                       "the closing time")
    status_col = pick(frame, "status", mapping)
    codes = (*OPEN, *DONE)
    if status_col:
        status = _text(frame, status_col).map(lambda v: _classify(v, STATUS_WORDS, codes),
                                              na_action="ignore")
        if status.isna().any():
            i = _first_bad(status.isna())
            raise RegisterError(f"{row_label(path, frame.index[i])}: status "
                                f"{frame[status_col].iloc[i]!r} is not one the twin knows "
                                "(e.g. 待受理, 处置中, 已办结, 已关闭)")
    else:
        status = pd.Series(np.where(resolved_at.notna(), "resolved", "reported"),
                           index=frame.index)
    done = status.isin(RESOLVED)
    if (done & resolved_at.isna()).any():
        i = _first_bad(done & resolved_at.isna())
        raise RegisterError(f"{row_label(path, frame.index[i])}: a {status.iloc[i]} event "
                            "needs its resolution time (办结时间)")
    early = resolved_at.notna() & (resolved_at < reported_at)
    if early.any():
        raise RegisterError(f"{row_label(path, frame.index[_first_bad(early)])}: resolved "
                            "before it was reported")
    closed_at = closed_at.where(status != "closed", closed_at.fillna(resolved_at))
    source_col = pick(frame, "source", mapping)
    source = (_text(frame, source_col).map(
        lambda v: _classify(v, SOURCE_WORDS, ()), na_action="ignore").fillna("grid_worker")
        if source_col else pd.Series("grid_worker", index=frame.index))
    level_col = pick(frame, "level", mapping)
    level = (_text(frame, level_col).map(lambda v: LEVEL_WORDS.get(v, v),
                                         na_action="ignore").fillna("microgrid")
             if level_col else pd.Series("microgrid", index=frame.index))
    bad_level = ~level.isin(UNIT_LEVELS)  # a register names units; departments come by dispatch
    if bad_level.any():
        i = _first_bad(bad_level)
        raise RegisterError(f"{row_label(path, frame.index[i])}: level {level.iloc[i]!r} is "
                            "not 微网格, 网格, 村 or 镇")
    sat_src = _text(frame, pick(frame, "satisfaction", mapping))
    satisfaction = pd.to_numeric(sat_src.astype(object).map(
        lambda v: SATISFACTION_WORDS.get(v, v), na_action="ignore"),
        errors="coerce").astype(float)
    bad_sat = sat_src.notna() & ~(satisfaction.isin([1.0, 2.0, 3.0, 4.0, 5.0]))
    if bad_sat.any():
        i = _first_bad(bad_sat)
        raise RegisterError(f"{row_label(path, frame.index[i])}: satisfaction "
                            f"{sat_src.iloc[i]!r} is not 1–5 or 满意/基本满意/不满意")
    code = _text(frame, pick(frame, "event_code", mapping))
    rows = pd.DataFrame({
        "code": code, "category": category, "title": title, "description": description,
        "status": status, "owner_level": level, "department": None, "source": source,
        "reported_at": reported_at, "deadline_at": pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]"),
        "resolved_at": resolved_at.where(status.isin(DONE)), "closed_at": closed_at, "escalations": 0,
        "satisfaction": satisfaction.astype("Int64"), "geom": frame.geometry},
        index=frame.index)
    open_ = status.isin(OPEN)
    if open_.any():
        hours = {(c, lv): h for c, lv, h in conn.execute(sa.text(
            "SELECT category, level, hours FROM event_deadlines"))}
        rows.loc[open_, "deadline_at"] = pd.to_datetime([
            now + dt.timedelta(hours=hours.get((c, lv), 72.0))
            for c, lv in zip(rows.loc[open_, "category"], rows.loc[open_, "owner_level"],
                             strict=True)], utc=True)
        notes.append(f"{int(open_.sum()):,} open event(s): deadlines run from the import")
    if code.notna().any():
        twice = code.notna() & code.duplicated()
        if twice.any():
            i = _first_bad(twice)
            raise RegisterError(f"{row_label(path, frame.index[i])}: event code "
                                f"{code.iloc[i]!r} appears twice in the file")
        present = set(conn.execute(sa.text("SELECT code FROM events WHERE code = ANY(:c)"),
                                   {"c": sorted(set(code.dropna()))}).scalars())
        if present:
            notes.append(f"{len(present):,} event(s) already in the twin (same code) skipped")
            rows = rows[~code.isin(present)]
    return rows


def log_imported(conn: Connection, ids: list[int], rows: pd.DataFrame, source: str,
                 now: dt.datetime) -> None:
    """Each imported event's history: reported, then (if it moved on) its status."""
    from twin.ingest.load import copy_frame

    first = pd.DataFrame({"event_id": ids, "at": rows["reported_at"].to_numpy(),
                          "actor": f"import:{source}", "from_status": None,
                          "to_status": "reported", "note": None})
    moved = (rows["status"] != "reported").to_numpy()
    then = (rows["closed_at"].fillna(rows["resolved_at"]).astype("datetime64[ns, UTC]")
            .fillna(pd.Timestamp(now)))
    second = pd.DataFrame({"event_id": np.asarray(ids)[moved], "at": then.to_numpy()[moved],
                           "actor": f"import:{source}", "from_status": "reported",
                           "to_status": rows["status"].to_numpy()[moved],
                           "note": "status as given by the imported file"})
    copy_frame(conn, "event_log", pd.concat([first, second], ignore_index=True))


# --- the party board: micro-grid leaders, visits, cadres -------------------------------------
def _dates(values: pd.Series, path: Path, field: str) -> pd.Series:
    """Calendar dates (None where empty)."""
    parsed = _parsed(values, path, field, "a date")
    return parsed.dt.date.astype(object).where(parsed.notna(), None)


def _yes_no(values: pd.Series, path: Path, field: str, frame: pd.DataFrame) -> pd.Series:
    def one(v):
        if v is pd.NA:
            return None
        text = str(v).strip().lower()
        if text in YES_WORDS:
            return True
        if text in NO_WORDS:
            return False
        return "?"
    out = values.map(one, na_action=None)
    if (out == "?").any():
        i = _first_bad(out == "?")
        raise RegisterError(f"{row_label(path, frame.index[i])}: {field} {values.iloc[i]!r} "
                            "is neither 是/党员 nor 否/群众")
    return out


def _units_by_code(conn: Connection, codes: pd.Series, levels: tuple[str, ...], path: Path,
                   frame: pd.DataFrame, what: str) -> pd.Series:
    known = dict(conn.execute(sa.text(
        "SELECT code, id FROM units WHERE code = ANY(:c) AND level = ANY(:l)"),
        {"c": sorted(set(codes.dropna())), "l": list(levels)}).all())
    unknown = codes.isna() | ~codes.isin(known)
    if unknown.any():
        i = _first_bad(unknown)
        raise RegisterError(f"{row_label(path, frame.index[i])}: no {what} with code "
                            f"{codes.iloc[i]!r} in the twin")
    return codes.map(known).astype("int64")


def _residents_by_id(conn: Connection, frame: pd.DataFrame, path: Path,
                     mapping: dict[str, str], key: PiiKey, what: str) -> pd.Series:
    """The twin's resident of each row, by the ID-card number (compared as its keyed hash);
    RegisterError naming the row, never the number, when one is empty or unknown."""
    ids = _filled(frame, require(frame, "id_number", mapping, what), path,
                  "the ID-card number")
    hashes, _ = _protected(ids, protect_id, key, path, frame.index)
    known = dict(conn.execute(sa.text(
        "SELECT id_hash, id FROM people WHERE id_hash = ANY(:h)"), {"h": hashes}).all())
    person = pd.Series([known.get(h) for h in hashes], index=frame.index)
    if person.isna().any():
        raise RegisterError(f"{row_label(path, frame.index[_first_bad(person.isna())])}: no "
                            "resident of the twin has this ID-card number: import the "
                            "residents first")
    return person


def microgrid_leaders(conn: Connection, frame: pd.DataFrame, path: Path,
                      mapping: dict[str, str], key: PiiKey, notes: list[str]) -> pd.DataFrame:
    """A 微网格长名册: each micro-grid's leader by ID-card number (a resident of the twin),
    with the term and the WeChat group. The micro-grid's serving leader, if any, is relieved
    on the new term's first day; the households are linked to the new leader after the rows
    are written (:func:`link_households`)."""
    what = "micro-grid leaders"
    microgrid = _units_by_code(conn, _text(frame, require(frame, "microgrid", mapping, what)),
                               ("microgrid",), path, frame, "micro-grid")
    if microgrid.duplicated().any():
        i = _first_bad(microgrid.duplicated())
        raise RegisterError(f"{row_label(path, frame.index[i])}: the micro-grid has a second "
                            "leader in the file")
    person = _residents_by_id(conn, frame, path, mapping, key, what)
    start = _dates(_text(frame, require(frame, "term_start", mapping, what)), path,
                   "the term's start")
    if start.isna().any():
        raise RegisterError(f"{row_label(path, frame.index[_first_bad(start.isna())])}: "
                            "the term's start is empty")
    end = _dates(_text(frame, pick(frame, "term_end", mapping)), path, "the term's end")
    end = end.where(end.notna(), start.map(lambda d: d.replace(year=d.year + 3)))
    if (end < start).any():
        raise RegisterError(f"{row_label(path, frame.index[_first_bad(end < start)])}: the "
                            "term ends before it starts")
    tags = dict(conn.execute(sa.text(
        "SELECT id, tags @> '{party_member}' FROM people WHERE id = ANY(:p)"),
        {"p": [int(p) for p in person]}).all())
    party_col = pick(frame, "party_member", mapping)
    party = (_yes_no(_text(frame, party_col), path, "party membership", frame) if party_col
             else pd.Series([None] * len(frame), index=frame.index))
    party = party.where(party.notna(), person.map(tags)).astype(bool)
    members = _text(frame, pick(frame, "wechat_members", mapping))
    counts = pd.to_numeric(members, errors="coerce")
    if (counts.isna() & members.notna()).any() or (counts < 0).any():
        i = _first_bad((counts.isna() & members.notna()) | (counts < 0))
        raise RegisterError(f"{row_label(path, frame.index[i])}: the group's size "
                            f"{members.iloc[i]!r} is not a number of people")
    relieved = conn.execute(sa.text("""
        UPDATE microgrid_leaders l SET relieved_on = greatest(l.term_start, n.start)
          FROM unnest(CAST(:m AS bigint[]), CAST(:s AS date[])) AS n (microgrid, start)
         WHERE l.microgrid_id = n.microgrid AND l.relieved_on IS NULL"""),
        {"m": microgrid.tolist(), "s": start.tolist()}).rowcount
    if relieved:
        notes.append(f"{relieved:,} serving leader(s) relieved by the new term")
    return pd.DataFrame({"person_id": person.astype("int64"), "party_member": party,
                         "term_start": start, "term_end": end,
                         "wechat_group": _text(frame, pick(frame, "wechat_group", mapping)),
                         "wechat_members": counts.astype("Int64"),
                         "microgrid_id": microgrid}, index=frame.index)


def link_households(conn: Connection, ids: list[int], notes: list[str]) -> None:
    """Every household of the new leaders' micro-grids linked to them (联户)."""
    linked = conn.execute(sa.text("""
        INSERT INTO household_links (household_id, leader_id, linked_on)
        SELECT h.id, l.id, l.term_start FROM microgrid_leaders l
          JOIN households h ON h.town_id = l.town_id AND h.microgrid_id = l.microgrid_id
         WHERE l.id = ANY(:ids) ORDER BY h.id
        ON CONFLICT (household_id) DO UPDATE
           SET leader_id = EXCLUDED.leader_id, linked_on = EXCLUDED.linked_on"""),
        {"ids": list(ids)}).rowcount
    notes.append(f"{linked:,} household(s) linked to their leader")


def visits(conn: Connection, frame: pd.DataFrame, path: Path, mapping: dict[str, str],
           notes: list[str]) -> pd.DataFrame:
    """A 民情走访 export: household, time, kind and what was heard (phone and ID numbers
    masked); each visit is credited to the household's leader. A visit already in the twin
    (the same household at the same time) is skipped."""
    what = "visits"
    codes = _text(frame, require(frame, "household", mapping, what))
    known = dict(conn.execute(sa.text("SELECT code, id FROM households WHERE code = ANY(:c)"),
                              {"c": sorted(set(codes.dropna()))}).all())
    unknown = codes.isna() | ~codes.isin(known)
    if unknown.any():
        i = _first_bad(unknown)
        raise RegisterError(f"{row_label(path, frame.index[i])}: no household with code "
                            f"{codes.iloc[i]!r}: import the households first")
    household = codes.map(known).astype("int64")
    when = _text(frame, require(frame, "visited_at", mapping, what))
    if when.isna().any():
        raise RegisterError(f"{row_label(path, frame.index[_first_bad(when.isna())])}: the "
                            "visit's time is empty")
    visited_at = _times(when, path, "the visit's time")
    kind_col = pick(frame, "visit_kind", mapping)
    kind = (_text(frame, kind_col).map(lambda v: _classify(v, VISIT_WORDS, (
        "patrol", "day_night", "knock")), na_action="ignore") if kind_col
        else pd.Series("patrol", index=frame.index))
    if kind.isna().any() and kind_col:
        i = _first_bad(kind.isna())
        raise RegisterError(f"{row_label(path, frame.index[i])}: the kind of visit "
                            f"{frame[kind_col].iloc[i]!r} is none of 巡查走访, 日访夜谈, "
                            "书记来敲门")
    heard, masked = scrub(_text(frame, pick(frame, "heard", mapping)))
    if masked:
        notes.append(f"phone or ID numbers masked in {masked:,} visit record(s)")
    leaders = dict(conn.execute(sa.text(
        "SELECT household_id, leader_id FROM household_links WHERE household_id = ANY(:h)"),
        {"h": sorted(set(household))}).all())
    rows = pd.DataFrame({"household_id": household,
                         "leader_id": household.map(leaders).astype("Int64"),
                         "visitor": f"import:{path.name}", "kind": kind,
                         "visited_at": visited_at, "heard": heard}, index=frame.index)
    present = set(conn.execute(sa.text(
        "SELECT household_id, visited_at FROM visits WHERE household_id = ANY(:h)"),
        {"h": sorted(set(household))}).all())
    again = pd.Series([(h, t.to_pydatetime()) in present for h, t in
                       zip(rows["household_id"], rows["visited_at"], strict=True)],
                      index=rows.index) | rows.duplicated(["household_id", "visited_at"])
    if again.any():
        notes.append(f"{int(again.sum()):,} visit(s) already in the twin skipped")
    return rows[~again]


def cadres(conn: Connection, frame: pd.DataFrame, path: Path, mapping: dict[str, str],
           notes: list[str]) -> pd.DataFrame:
    """A 村社干部名册: each cadre or reserve of a village (or grid) with post, education,
    birth year, sex, party membership and term. Names are a person's data: kept for the
    officials of the unit, never published."""
    what = "cadres"
    unit = _units_by_code(conn, _text(frame, require(frame, "unit", mapping, what)),
                          ("village", "grid"), path, frame, "village or grid")
    names = _filled(frame, require(frame, "person_name", mapping, what), path, "the name")
    post_src = _text(frame, require(frame, "post", mapping, what))
    post = post_src.map(lambda v: _classify(v, POST_WORDS, tuple(c for c, _ in POST_WORDS)),
                        na_action="ignore")
    if post.isna().any():
        i = _first_bad(post.isna())
        raise RegisterError(f"{row_label(path, frame.index[i])}: the post {post_src.iloc[i]!r} "
                            "is none of 书记, 主任, 副书记, 委员, 网格员, 后备干部")
    school_src = _text(frame, require(frame, "education", mapping, what))
    school = school_src.map(lambda v: _classify(v, EDUCATION_WORDS, tuple(
        c for c, _ in EDUCATION_WORDS)), na_action="ignore")
    if school.isna().any():
        i = _first_bad(school.isna())
        raise RegisterError(f"{row_label(path, frame.index[i])}: the education "
                            f"{school_src.iloc[i]!r} is none of 研究生, 本科, 大专, 高中, 初中")
    born = pd.to_datetime(_text(frame, pick(frame, "birth_date", mapping)), errors="coerce",
                          format="mixed")
    party_col = pick(frame, "party_member", mapping)
    party = (_yes_no(_text(frame, party_col), path, "party membership", frame) if party_col
             else pd.Series([False] * len(frame), index=frame.index))
    start = _dates(_text(frame, pick(frame, "term_start", mapping)), path, "the term's start")
    end = _dates(_text(frame, pick(frame, "term_end", mapping)), path, "the term's end")
    return pd.DataFrame({
        "unit_id": unit, "name": names, "sex": _text(frame, pick(frame, "sex", mapping))
        .str.lower().map(SEX_WORDS, na_action="ignore"),
        "birth_year": born.dt.year.astype("Int64"), "education": school, "post": post,
        "party_member": party.fillna(False).astype(bool), "term_start": start,
        "term_end": end}, index=frame.index)


# --- 自治 and 德治 registers ---------------------------------------------------------------------
BOARD_WORDS = (("self", ("自治",)), ("law", ("法治",)), ("moral", ("德治",)))
PER_WORDS = (("hour", ("小时", "时长")), ("time", ("次", "件", "项", "户", "人")))
EVIDENCE_WORDS = (("approval", ("审批", "审核", "认定", "评议")),
                  ("photo", ("照片", "图片", "拍照", "影像")),
                  ("record", ("记录", "台账", "签到", "登记")), ("none", ("无", "不需要")))
ORG_WORDS = (("worthies_council", ("乡贤",)), ("service_group", ("百事", "服务团")),
             ("legal_group", ("法律",)), ("moral_group", ("道德", "评判")),
             ("residents_council", ("议事",)), ("volunteer_team", ("志愿", "啄木鸟")))
ROLE_WORDS = (("chair", ("会长", "团长", "队长", "召集人", "主任", "负责人")),
              ("member", ("成员", "队员", "委员", "会员", "志愿者", "团员")))


def _classified(frame: pd.DataFrame, path: Path, column: str, words: tuple, what: str,
                default: str | None = None) -> pd.Series:
    """Words of a column as codes; RegisterError naming the first row none of ``words``."""
    source = _text(frame, column)
    codes = tuple(c for c, _ in words)
    out = source.map(lambda v: _classify(v, words, codes), na_action="ignore")
    if default is not None:
        out = out.where(source.notna(), default)
    bad = out.isna()
    if bad.any():
        i = _first_bad(bad)
        allowed = "、".join(ws[0] for _, ws in words)
        raise RegisterError(f"{row_label(path, frame.index[i])}: {what} {source.iloc[i]!r} "
                            f"is none of {allowed}")
    return out


def _whole(frame: pd.DataFrame, path: Path, column: str, what: str, low: int,
           high: int) -> pd.Series:
    values = _text(frame, column)
    numbers = pd.to_numeric(values, errors="coerce")
    bad = numbers.isna() | (numbers != numbers.round()) | (numbers < low) | (numbers > high)
    if bad.any():
        i = _first_bad(bad)
        raise RegisterError(f"{row_label(path, frame.index[i])}: {what} {values.iloc[i]!r} "
                            f"is not a whole number from {low:,} to {high:,}")
    return numbers.astype("int64")


def points_rules(conn: Connection, frame: pd.DataFrame, path: Path, mapping: dict[str, str],
                 notes: list[str]) -> pd.DataFrame:
    """A 三治积分评定标准: each behaviour's code, board (自治/法治/德治), points (negative for a
    deduction), per time or per hour, and the evidence it needs. Written as new versions
    (:func:`write_points_rules`): a rule already in force is closed, never edited."""
    what = "points rules"
    codes = _text(frame, require(frame, "rule_code", mapping, what))
    if codes.isna().any() or codes.duplicated().any():
        i = _first_bad(codes.isna() | codes.duplicated())
        raise RegisterError(f"{row_label(path, frame.index[i])}: the rule's code is empty or "
                            "given twice")
    names = _filled(frame, require(frame, "rule_name", mapping, what), path, "the behaviour")
    value = _whole(frame, path, require(frame, "rule_points", mapping, what), "the points",
                   -1000, 1000)
    if (value == 0).any():
        raise RegisterError(f"{row_label(path, frame.index[_first_bad(value == 0)])}: a rule "
                            "of 0 points awards nothing")
    english = _text(frame, pick(frame, "rule_name_en", mapping))
    return pd.DataFrame({
        "code": codes, "name_zh": scrub(names)[0], "name_en": english.where(
            english.notna(), codes),
        "board": _classified(frame, path, require(frame, "board", mapping, what), BOARD_WORDS,
                             "the board"),
        "points": value,
        "per": _classified(frame, path, pick(frame, "per", mapping), PER_WORDS, "the unit",
                           default="time"),
        "evidence": _classified(frame, path, pick(frame, "evidence", mapping), EVIDENCE_WORDS,
                                "the evidence", default="record"),
    }, index=frame.index)


def write_points_rules(conn: Connection, rows: pd.DataFrame, notes: list[str],
                       actor: str) -> int:
    """Each rule that is new or changed becomes the version in force; the one it replaces
    is closed (entries keep theirs); an unchanged rule writes nothing."""
    fields = ("code", "board", "name_zh", "name_en", "points", "per", "evidence")
    changed = conn.execute(sa.text("""
        WITH file AS (
            SELECT * FROM unnest(CAST(:code AS text[]), CAST(:board AS text[]),
                                 CAST(:name_zh AS text[]), CAST(:name_en AS text[]),
                                 CAST(:points AS int[]), CAST(:per AS text[]),
                                 CAST(:evidence AS text[]))
                     AS f (code, board, name_zh, name_en, points, per, evidence)
        ), todo AS (
            SELECT f.*, coalesce((SELECT max(r.version) FROM points_rules r
                                   WHERE r.code = f.code), 0) + 1 AS version
              FROM file f
             WHERE NOT EXISTS (
                SELECT 1 FROM points_rules r WHERE r.code = f.code AND r.valid_to IS NULL
                   AND (r.board, r.name_zh, r.points, r.per, r.evidence)
                     = (f.board, f.name_zh, f.points, f.per, f.evidence))
        ), closed AS (
            UPDATE points_rules r SET valid_to = now() FROM todo
             WHERE r.code = todo.code AND r.valid_to IS NULL RETURNING r.code
        )
        SELECT code, version, board, name_zh, name_en, points, per, evidence,
               (SELECT count(*) FROM closed) AS closed FROM todo"""),
        {f: rows[f].tolist() for f in fields}).mappings().all()
    if changed:  # inserted after the old versions are closed (one in force per code)
        conn.execute(sa.text(
            "INSERT INTO points_rules (code, version, board, name_zh, name_en, points, per, "
            "evidence, changed_by) VALUES (:code, :version, :board, :name_zh, :name_en, "
            ":points, :per, :evidence, :actor)"),
            [{**{k: r[k] for k in (*fields, "version")}, "actor": actor} for r in changed])
        replaced = changed[0]["closed"]
        if replaced:
            notes.append(f"{replaced:,} rule(s) replaced by a new version (history kept)")
    if len(changed) < len(rows):
        notes.append(f"{len(rows) - len(changed):,} rule(s) unchanged")
    return len(changed)


def shop_items(conn: Connection, frame: pd.DataFrame, path: Path, mapping: dict[str, str],
               notes: list[str]) -> pd.DataFrame:
    """A 积分超市 list: each village's items with the points they cost and the stock."""
    what = "shop items"
    unit = _units_by_code(conn, _text(frame, require(frame, "unit", mapping, what)),
                          ("village", "town"), path, frame, "village or town")
    names = _filled(frame, require(frame, "item_name", mapping, what), path, "the item's name")
    rows = pd.DataFrame({
        "unit_id": unit, "name": names,
        "cost": _whole(frame, path, require(frame, "cost", mapping, what), "the cost", 1,
                       1_000_000),
        "stock": _whole(frame, path, require(frame, "stock", mapping, what), "the stock", 0,
                        1_000_000)}, index=frame.index)
    twice = rows.duplicated(["unit_id", "name"])
    if twice.any():
        raise RegisterError(f"{row_label(path, frame.index[_first_bad(twice)])}: the item "
                            "is listed twice for its shop")
    return rows


def write_shop_items(conn: Connection, rows: pd.DataFrame, notes: list[str],
                     actor: str) -> int:
    """New items are added; an item the shop has gets the file's cost and stock."""
    result = conn.execute(sa.text("""
        INSERT INTO shop_items (town_id, unit_id, name, cost, stock)
        SELECT u.town_id, f.* FROM unnest(CAST(:u AS bigint[]), CAST(:n AS text[]),
                                          CAST(:c AS int[]), CAST(:s AS int[]))
                                   AS f (unit_id, name, cost, stock)
          JOIN units u ON u.id = f.unit_id
        ON CONFLICT (unit_id, name) DO UPDATE
           SET cost = EXCLUDED.cost, stock = EXCLUDED.stock, active = true
        RETURNING (xmax = 0) AS added"""),
        {"u": rows["unit_id"].tolist(), "n": rows["name"].tolist(),
         "c": rows["cost"].tolist(), "s": rows["stock"].tolist()}).scalars().all()
    updated = sum(1 for added in result if not added)
    if updated:
        notes.append(f"{updated:,} item(s) already in the shop: cost and stock updated")
    return len(result)


def organization_members(conn: Connection, frame: pd.DataFrame, path: Path,
                         mapping: dict[str, str], key: PiiKey,
                         notes: list[str]) -> pd.DataFrame:
    """A roll of "两会三团" or of a volunteer team: the village (or town), the organisation's
    name and kind (百姓议事会, 乡贤参事会, 百事服务团, 法律服务团, 道德评判团, 志愿服务队), and each
    member by ID-card number (a resident of the twin) with their role (会长/团长 … or 成员).
    An organisation not yet in the twin is made at its unit."""
    what = "organization members"
    unit = _units_by_code(conn, _text(frame, require(frame, "unit", mapping, what)),
                          ("village", "town"), path, frame, "village or town")
    names = _filled(frame, require(frame, "organization", mapping, what), path,
                    "the organisation's name")
    kind_col = pick(frame, "org_kind", mapping)
    kind = _classified(frame, path, kind_col or require(frame, "organization", mapping, what),
                       ORG_WORDS, "the kind of organisation")
    person = _residents_by_id(conn, frame, path, mapping, key, what)
    role = _classified(frame, path, pick(frame, "role", mapping), ROLE_WORDS, "the role",
                       default="member")
    rows = pd.DataFrame({"unit_id": unit, "name": names, "kind": kind,
                         "person_id": person.astype("int64"), "role": role}, index=frame.index)
    chairs = rows[rows["role"] == "chair"].duplicated(["unit_id", "name"])
    if chairs.any():
        raise RegisterError(f"{row_label(path, chairs[chairs].index[0])}: the organisation "
                            "has a second chair in the file")
    return rows


def write_organization_members(conn: Connection, rows: pd.DataFrame, notes: list[str],
                               actor: str) -> int:
    """Organisations the twin lacks are made at a point of their unit; members are added
    (one already there keeps their row, a new chair replaces the old one)."""
    orgs = rows.drop_duplicates(["unit_id", "name"])
    made = conn.execute(sa.text("""
        INSERT INTO organizations (kind, name, members, unit_id, geom)
        SELECT f.kind, f.name, 0, f.unit_id, (SELECT ST_PointOnSurface(u.geom) FROM units u
                                               WHERE u.id = f.unit_id)
          FROM unnest(CAST(:u AS bigint[]), CAST(:n AS text[]), CAST(:k AS text[]))
               AS f (unit_id, name, kind)
         WHERE NOT EXISTS (SELECT 1 FROM organizations o
                            WHERE o.unit_id = f.unit_id AND o.name = f.name)"""),
        {"u": orgs["unit_id"].tolist(), "n": orgs["name"].tolist(),
         "k": orgs["kind"].tolist()}).rowcount
    if made:
        notes.append(f"{made:,} organisation(s) new to the twin made")
    params = {"u": rows["unit_id"].tolist(), "n": rows["name"].tolist(),
              "p": rows["person_id"].tolist(), "r": rows["role"].tolist()}
    conn.execute(sa.text("""
        UPDATE organization_members m SET role = 'member'
          FROM organizations o,
               unnest(CAST(:u AS bigint[]), CAST(:n AS text[]), CAST(:p AS bigint[]),
                      CAST(:r AS text[])) AS f (unit_id, name, person_id, role)
         WHERE o.unit_id = f.unit_id AND o.name = f.name AND f.role = 'chair'
           AND m.organization_id = o.id AND m.role = 'chair' AND m.person_id <> f.person_id"""),
        params)
    written = conn.execute(sa.text("""
        INSERT INTO organization_members (town_id, organization_id, person_id, role)
        SELECT o.town_id, o.id, f.person_id, f.role
          FROM unnest(CAST(:u AS bigint[]), CAST(:n AS text[]), CAST(:p AS bigint[]),
                      CAST(:r AS text[])) AS f (unit_id, name, person_id, role)
          JOIN organizations o ON o.unit_id = f.unit_id AND o.name = f.name
        ON CONFLICT (organization_id, person_id) DO UPDATE SET role = EXCLUDED.role"""),
        params).rowcount
    conn.execute(sa.text("""
        UPDATE organizations o SET members = (SELECT count(*) FROM organization_members m
                                               WHERE m.organization_id = o.id)
         WHERE o.id IN (SELECT o2.id FROM organizations o2
                          JOIN unnest(CAST(:u AS bigint[]), CAST(:n AS text[]))
                               AS f (unit_id, name) ON o2.unit_id = f.unit_id
                                                   AND o2.name = f.name)"""),
        {"u": orgs["unit_id"].tolist(), "n": orgs["name"].tolist()})
    return written


WRITERS = {"points_rules": write_points_rules, "shop_items": write_shop_items,
           "organization_members": write_organization_members}
