"""Governance units of the sample twin: county outline, towns, villages, grids, micro-grids."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely import Geometry

from twin.sample.common import (
    as_multipolygons,
    lonlat_to_xy,
    rng_for,
    voronoi_split,
)

COUNTY_CODE = "330483"
COUNTY_AREA_M2 = 727e6
WUZHEN_SCENIC = (120.49, 30.74)

# (name, code suffix, lon, lat) of the 3 sub-districts and 8 towns.
TOWNS: tuple[tuple[str, str, float, float], ...] = (
    ("梧桐街道", "001", 120.565, 30.630),
    ("凤鸣街道", "002", 120.515, 30.622),
    ("龙翔街道", "003", 120.592, 30.662),
    ("濮院镇", "101", 120.620, 30.700),
    ("屠甸镇", "102", 120.640, 30.580),
    ("乌镇镇", "103", 120.490, 30.740),
    ("洲泉镇", "104", 120.380, 30.570),
    ("大麻镇", "105", 120.335, 30.505),
    ("河山镇", "106", 120.420, 30.625),
    ("石门镇", "107", 120.450, 30.575),
    ("崇福镇", "108", 120.430, 30.520),
)
WUZHEN_TOWN = 5
N_VILLAGES = 217
N_GRIDS = 944  # Tongxiang's grids, all covered by party organisations (支部建在网格上)

_OUTLINE = (
    (120.300, 30.492), (120.350, 30.470), (120.420, 30.478), (120.480, 30.505),
    (120.545, 30.530), (120.615, 30.535), (120.662, 30.560), (120.668, 30.630),
    (120.662, 30.705), (120.635, 30.730), (120.585, 30.738), (120.540, 30.762),
    (120.500, 30.780), (120.462, 30.768), (120.448, 30.715), (120.385, 30.668),
    (120.330, 30.628), (120.298, 30.575),
)

_RIVER_WORDS = ("浜", "桥", "兜", "塘", "港", "漾", "圩", "湾", "埭", "泾", "墩", "汇", "荡", "庙", "浦")
_VILLAGE_STEMS = (
    "荷花", "新桥", "陈家", "白马", "南", "北", "东", "西", "永丰", "民丰", "联合", "胜利",
    "长春", "双桥", "金星", "红旗", "光明", "横港", "虹桥", "竹桥", "钱家", "沈家", "徐家",
    "朱家", "杨家", "吴家", "马家", "蔡家", "范家", "董家", "姚家", "俞家", "施家", "高家",
    "大", "小", "石", "桑", "梅", "菱", "芦", "杨柳", "河", "花", "油车", "渔", "庙", "八字",
    "五丰", "丰收", "众安", "兴旺", "太平", "横", "直", "官", "湖", "思古", "义", "和平",
    "安民", "利民", "永安", "同福", "天福", "灵安", "新民", "先锋", "星火", "青石", "青阳",
    "环", "运", "凤", "龙", "白", "乌", "蒋家", "濮", "屠", "洲", "崇", "石湾", "马鸣",
)
_COMMUNITY_STEMS = (
    "庆丰", "复兴", "振东", "文华", "凤鸣", "光明", "和平", "建设", "康乐", "景雅", "南门",
    "北港", "东兴", "城南", "城北", "东门", "西门", "梧桐", "龙翔", "庆北", "茅盾", "兴华",
    "安兴", "锦绣", "逾桥", "百桃", "金家", "新生", "桐星", "春风", "华阳", "永兴", "福寿",
    "西栅", "东栅", "南栅", "北栅", "银杏", "杨家门", "翔厚", "振兴", "环城", "丰收",
)


@dataclass
class Units:
    """All emitted units (METRIC_CRS geometry) plus the index arrays the rest needs."""

    county: Geometry
    rows: list[dict] = field(default_factory=list)
    # per micro-grid (in emitted order): its unit id, parents' ids, town index
    mg_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    mg_geom: np.ndarray = field(default_factory=lambda: np.zeros(0, object))
    mg_grid: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    mg_village: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    mg_town: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    villages: list[dict] = field(default_factory=list)
    towns: list[dict] = field(default_factory=list)
    town_centres: dict[int, tuple[float, float]] = field(default_factory=dict)


def county_outline() -> Geometry:
    """An irregular ≈727 km² polygon around Tongxiang (METRIC_CRS, fixed, not seeded)."""
    rng = rng_for(0, "county-outline")
    pts = np.array([lonlat_to_xy(lon, lat) for lon, lat in _OUTLINE])
    poly = shapely.Polygon(pts)
    c = np.array(poly.centroid.coords[0])
    ring = np.asarray(shapely.segmentize(poly, 250.0).exterior.coords)[:-1]
    rel = ring - c
    ang = np.arctan2(rel[:, 1], rel[:, 0])
    r = np.hypot(rel[:, 0], rel[:, 1])
    noise = np.zeros(len(ring))
    for k in (7, 13, 23, 41):
        noise += rng.uniform(0.2, 1.0) / k * np.sin(k * ang + rng.uniform(0, 2 * np.pi))
    r = r * (1.0 + 0.25 * noise)
    ring = c + rel / np.hypot(rel[:, 0], rel[:, 1])[:, None] * r[:, None]
    poly = shapely.make_valid(shapely.Polygon(ring))
    poly = max(shapely.get_parts(poly), key=lambda g: g.area)
    s = np.sqrt(COUNTY_AREA_M2 / poly.area)
    ring = c + (np.asarray(poly.exterior.coords) - c) * s
    return shapely.set_precision(shapely.Polygon(ring), 0.01)


def _largest_remainder(weights: np.ndarray, total: int, minimum: int = 1) -> np.ndarray:
    share = weights / weights.sum() * total
    n = np.maximum(np.floor(share).astype(int), minimum)
    rem = share - np.floor(share)
    for i in np.argsort(-rem, kind="stable"):
        if n.sum() >= total:
            break
        n[i] += 1
    return n


def _names(rng: np.random.Generator, n: int, community: np.ndarray) -> list[str]:
    """Unique village/community names for one town."""
    used: set[str] = set()
    out = []
    for is_comm in community:
        for _ in range(1000):
            if is_comm:
                name = _COMMUNITY_STEMS[rng.integers(len(_COMMUNITY_STEMS))] + "社区"
            else:
                stem = _VILLAGE_STEMS[rng.integers(len(_VILLAGE_STEMS))]
                word = _RIVER_WORDS[rng.integers(len(_RIVER_WORDS))]
                if len(stem) == 1 and rng.random() < 0.5:
                    word += _RIVER_WORDS[rng.integers(len(_RIVER_WORDS))]
                name = stem + word + "村"
            if name not in used:
                break
        used.add(name)
        out.append(name)
    return out


def town_geometries(county: Geometry) -> np.ndarray:
    """The 11 towns as Voronoi cells of their seed points, clipped to the county."""
    pts = np.array([lonlat_to_xy(lon, lat) for _, _, lon, lat in TOWNS])
    return voronoi_split(county, len(pts), rng_for(0, "towns"), points=pts)


def grid_counts(seed: int) -> np.ndarray:
    """Grids per village of the county (in town order, then village order): three to six,
    mostly four or five, adding up to N_GRIDS."""
    rng = rng_for(seed, "grid-counts")
    n = rng.choice([3, 4, 5, 6], size=N_VILLAGES, p=[0.1, 0.5, 0.3, 0.1])
    while n.sum() != N_GRIDS:
        step = 1 if n.sum() < N_GRIDS else -1
        room = np.flatnonzero(n < 6) if step > 0 else np.flatnonzero(n > 3)
        n[rng.choice(room)] += step
    return n


def build_units(scale: str, seed: int, progress=None) -> Units:
    """Generate the unit hierarchy for a scale (``village``, ``town`` or ``county``)."""
    county = county_outline()
    towns = town_geometries(county)
    areas = shapely.area(towns)
    urban = np.array([name.endswith("街道") for name, *_ in TOWNS])
    n_villages = _largest_remainder(areas * np.where(urban, 1.3, 1.0), N_VILLAGES, minimum=3)
    town_indices = range(len(TOWNS)) if scale == "county" else [WUZHEN_TOWN]
    grids_of = grid_counts(seed)
    first_village = np.concatenate([[0], np.cumsum(n_villages)[:-1]])
    units = Units(county=county)
    rows = units.rows
    mg_ids, mg_geom, mg_grid, mg_village, mg_town = [], [], [], [], []
    wz = shapely.Point(lonlat_to_xy(*WUZHEN_SCENIC))

    for ti in town_indices:
        tname, tsuffix, tlon, tlat = TOWNS[ti]
        tcode = COUNTY_CODE + tsuffix
        tgeom = towns[ti]
        tcentre = lonlat_to_xy(tlon, tlat)
        units.town_centres[ti] = tcentre
        trng = rng_for(seed, "villages", ti)
        vgeoms = voronoi_split(tgeom, int(n_villages[ti]), trng, lloyd=2)
        # villages nearest the town seat are communities; all of a 街道 are
        dist = shapely.distance(vgeoms, shapely.Point(tcentre))
        if tname.endswith("街道"):
            community = np.ones(len(vgeoms), bool)
        else:
            community = np.zeros(len(vgeoms), bool)
            community[np.argsort(dist, kind="stable")[: 2 if len(vgeoms) > 6 else 1]] = True
        vnames = _names(trng, len(vgeoms), community)
        vidx = range(len(vgeoms))
        if scale == "village":
            vidx = [int(np.flatnonzero(shapely.intersects(vgeoms, wz))[0])]
            tgeom = vgeoms[vidx[0]]
        town_id = len(rows) + 1
        rows.append(dict(id=town_id, level="town", code=tcode, name=tname, parent_id=None,
                         geometry=tgeom))
        units.towns.append(dict(id=town_id, index=ti, name=tname, code=tcode,
                                centre=tcentre, geometry=tgeom))
        for vi in vidx:
            vgeom = vgeoms[vi]
            vcode = f"{tcode}{vi + 1:03d}"
            vname = vnames[vi]
            village_id = len(rows) + 1
            rows.append(dict(id=village_id, level="village", code=vcode, name=vname,
                             parent_id=town_id, geometry=vgeom))
            units.villages.append(dict(id=village_id, town_id=town_id, town_index=ti,
                                       index=vi, name=vname, code=vcode, town_name=tname,
                                       community=bool(community[vi]), geometry=vgeom,
                                       centre=shapely.get_coordinates(
                                           shapely.point_on_surface(vgeom))[0]))
            vrng = rng_for(seed, "grids", ti, vi)
            n_grids = int(grids_of[first_village[ti] + vi])
            ggeoms = voronoi_split(vgeom, n_grids, vrng, lloyd=2)
            for gi, ggeom in enumerate(ggeoms):
                gcode = f"{vcode}{gi + 1:03d}"
                gname = f"{vname}第{gi + 1}网格"
                grid_id = len(rows) + 1
                rows.append(dict(id=grid_id, level="grid", code=gcode, name=gname,
                                 parent_id=village_id, geometry=ggeom))
                grng = rng_for(seed, "microgrids", ti, vi, gi)
                n_mg = int(grng.integers(13, 20))
                mgeoms = voronoi_split(ggeom, n_mg, grng, lloyd=1)
                for mi, mgeom in enumerate(mgeoms):
                    mg_id = len(rows) + 1
                    rows.append(dict(id=mg_id, level="microgrid", code=f"{gcode}{mi + 1:03d}",
                                     name=f"{gname}第{mi + 1}微网格", parent_id=grid_id,
                                     geometry=mgeom))
                    mg_ids.append(mg_id)
                    mg_geom.append(mgeom)
                    mg_grid.append(grid_id)
                    mg_village.append(village_id)
                    mg_town.append(ti)
            if progress:
                progress("units", len(rows))
    units.mg_ids = np.array(mg_ids, dtype=np.int64)
    units.mg_geom = as_multipolygons(np.array(mg_geom, dtype=object))
    units.mg_grid = np.array(mg_grid, dtype=np.int64)
    units.mg_village = np.array(mg_village, dtype=np.int64)
    units.mg_town = np.array(mg_town, dtype=np.int64)
    return units
