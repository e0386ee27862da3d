"""A city of several counties, for work past one machine: ``twin sample --scale city``.

Tongxiang's generator (:func:`~twin.sample.generate.generate`) is run once per county, each
with its own seed, and each result is made a county of its own before it is written:

- its geometry moved by a whole offset, so the counties lie side by side without touching
  (Jiaxing's five counties' worth of land, arranged on a plain grid: a synthetic city);
- its ids moved up by ``index × ID_STRIDE`` in every table, the references with them (the
  columns are read from the schema's foreign keys, not listed here);
- its codes given the county's own code in place of Tongxiang's 330483 (events: the county's
  index after the date), and its towns' names led by the county's name.

Counties come one at a time (:func:`counties`), the next one generated in a second process
while the caller writes the one in hand: a city never sits in memory at once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

from twin.catalog import SAMPLE_TABLES
from twin.sample import party as party_board
from twin.sample.generate import SampleError, SampleTwin, generate
from twin.sample.units import COUNTY_CODE
from twin.store import schema

CITY = "city"

# (code, name, east °, north °) of each county; the first is Tongxiang as generated.
COUNTIES = (
    (COUNTY_CODE, "桐乡市", 0.0, 0.0),
    ("330481", "海宁市", 0.2, -0.32),
    ("330411", "秀洲区", 0.4, 0.0),
    ("330482", "平湖市", 0.6, -0.32),
    ("330421", "嘉善县", 0.8, 0.0),
)
ID_STRIDE = 100_000_000  # a county's ids stay below it (the county sample: < 1 M per table)


def _references(table: str) -> list[str]:
    """The id columns of a sample table: its own id and the foreign keys to ids."""
    cols = schema.metadata.tables[table].columns
    return [c.name for c in cols
            if c.name == "id" or any(k.column.name == "id" for k in c.foreign_keys)]


def as_county(twin: SampleTwin, index: int) -> SampleTwin:
    """``twin`` made the city's county number ``index`` (0 leaves it as generated)."""
    if index == 0:
        return twin
    code, name, east, north = COUNTIES[index]
    offset = index * ID_STRIDE
    changed = {}
    for attr, table in SAMPLE_TABLES.items():
        frame = getattr(twin, attr).copy()
        for column in _references(table):
            if column in frame:
                frame[column] = frame[column] + offset
        if attr == "events":  # SJ<date><number>: the county's index after the date
            frame["code"] = frame["code"].str.replace(r"^SJ(\d{8})", rf"SJ\g<1>{index}",
                                                      regex=True)
        elif "code" in frame:
            frame["code"] = frame["code"].str.replace(COUNTY_CODE, code, regex=False)
        if attr == "units":
            town = frame["level"] == "town"
            frame.loc[town, "name"] = name + frame.loc[town, "name"]
        if "geometry" in frame:
            frame = frame.set_geometry(frame.geometry.translate(east, north))
        changed[attr] = frame
    return dataclasses.replace(twin, **changed)


def _county(base: str, seed: int, index: int, days: int, end: dt.datetime) -> SampleTwin:
    return as_county(generate(base, seed + index, days=days, end=end), index)


def counties(seed: int = 0, *, days: int = 30, end: dt.datetime, n: int = len(COUNTIES),
             base: str = "county") -> Iterator[SampleTwin]:
    """The city's ``n`` counties, each a ``base``-scale sample, one at a time; the last one
    carries the derived rows' parameters for the whole city."""
    if not 1 <= n <= len(COUNTIES):
        raise SampleError(f"a city has 1 to {len(COUNTIES)} counties, not {n}")
    towns = 0
    with ProcessPoolExecutor(max_workers=1) as pool:
        ahead = pool.submit(_county, base, seed, 0, days, end)
        for index in range(n):
            twin = ahead.result()
            if index + 1 < n:
                ahead = pool.submit(_county, base, seed, index + 1, days, end)
            towns += int((twin.units["level"] == "town").sum())
            if index + 1 == n:
                twin = dataclasses.replace(twin, derived_params={
                    **twin.derived_params, **party_board.params(seed, end, towns)})
            yield twin


