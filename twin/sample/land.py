"""Water, roads, land parcels and buildings of the sample twin (METRIC_CRS metres)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
import shapely.affinity
from shapely import STRtree

from twin.sample.common import (
    GRID,
    as_multipolygons,
    chunk_buffers,
    grouped_union,
    lonlat_to_xy,
    meander,
    random_points_in,
    rng_for,
    voronoi_split,
)
from twin.sample.units import TOWNS, Units

GRAND_CANAL = (
    (120.285, 30.490), (120.360, 30.515), (120.430, 30.522), (120.447, 30.575),
    (120.500, 30.598), (120.565, 30.618), (120.620, 30.660), (120.690, 30.720),
)
PROVINCIAL_ROUTES = ((7, 10, 9, 0, 3), (6, 8, 1, 0, 4), (5, 2, 0), (5, 3))
PARCEL_SPLIT_M2 = 20_000.0

# lattice per building class: x spacing, y spacing, width range, depth range, keep prob
LATTICE = {
    "rural": (17.0, 15.0, (8.0, 14.0), (9.0, 12.0), 0.82),
    "apartment": (52.0, 38.0, (24.0, 40.0), (11.0, 15.0), 0.9),
    "commercial": (40.0, 32.0, (16.0, 30.0), (12.0, 22.0), 0.8),
    "factory": (80.0, 60.0, (30.0, 65.0), (20.0, 45.0), 0.85),
}


@dataclass
class Land:
    """Parcels and buildings in METRIC_CRS with the index arrays other stages need."""

    parcel_geom: np.ndarray
    parcel_class: np.ndarray
    parcel_mg: np.ndarray  # index into units.mg_* arrays
    water: np.ndarray  # per micro-grid: its water (MultiPolygon, maybe empty)
    road: np.ndarray  # per micro-grid: its roads
    b_geom: np.ndarray
    b_mg: np.ndarray
    b_parcel: np.ndarray
    b_kind: np.ndarray  # rural, apartment, commercial, factory
    b_use: np.ndarray
    b_floors: np.ndarray
    b_height: np.ndarray
    b_year: np.ndarray
    b_centre: np.ndarray  # (n, 2)
    b_angle: np.ndarray
    b_w: np.ndarray
    b_d: np.ndarray


def _xy(points) -> list[tuple[float, float]]:
    return [lonlat_to_xy(lon, lat) for lon, lat in points]


def network_chunks(units: Units, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Buffered water and road pieces (small overlapping polygons) over the emitted area."""
    rng = rng_for(0, "network")  # the county's main water and roads are fixed geography
    water: list = []
    road: list = []
    water += chunk_buffers(meander(_xy(GRAND_CANAL), rng, 120.0, 60.0), 60.0, 8)
    minx, miny, maxx, maxy = units.county.bounds
    for _ in range(12):
        if rng.random() < 0.5:  # roughly west→east
            a = (minx - 500, rng.uniform(miny, maxy))
            b = (maxx + 500, rng.uniform(miny, maxy))
        else:
            a = (rng.uniform(minx, maxx), miny - 500)
            b = (rng.uniform(minx, maxx), maxy + 500)
        mid = (rng.uniform(minx + 4000, maxx - 4000), rng.uniform(miny + 4000, maxy - 4000))
        line = meander([a, mid, b], rng, rng.uniform(150, 450), 70.0)
        water += chunk_buffers(line, float(rng.uniform(10, 30)), 8)
    centres = np.array(_xy([(lon, lat) for _, _, lon, lat in TOWNS]))
    for route in PROVINCIAL_ROUTES:
        road += chunk_buffers(meander(centres[list(route)], rng, 40.0, 80.0), 20.0, 8)
    for i, c in enumerate(centres):
        d = np.hypot(*(centres - c).T)
        for j in np.argsort(d)[1:3]:
            if i < j or d[j] > 12000:
                road += chunk_buffers(meander([c, centres[j]], rng, 80.0, 80.0), 10.0, 8)
    for _ in range(8):
        a = (rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        b = (rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        road += chunk_buffers(meander([a, b], rng, 80.0, 80.0), 10.0, 8)
    # village creeks and roads, seeded per village so they do not depend on the scale
    for v in units.villages:
        vrng = rng_for(seed, "village-network", v["town_index"], v["index"])
        geom = v["geometry"]
        pts = random_points_in(geom, 40, vrng)
        c = v["centre"]
        for k in range(int(vrng.integers(5, 10))):
            p = pts[k]
            ang = vrng.uniform(0, 2 * np.pi)
            length = vrng.uniform(800, 2500)
            q = p + length * np.array([np.cos(ang), np.sin(ang)])
            width = float(vrng.uniform(6, 14))
            water += chunk_buffers(meander([p, q], vrng, 60.0, 40.0), width, 8)
        for k in range(int(vrng.integers(4, 11))):  # fish ponds
            p = pts[10 + k]
            half = vrng.uniform(15, 45, 2)
            ang = vrng.uniform(0, np.pi)
            pond = shapely.box(-half[0], -half[1], half[0], half[1])
            water.append(shapely.affinity.translate(
                shapely.affinity.rotate(pond, ang, origin=(0, 0), use_radians=True), *p))
        for k in range(int(vrng.integers(5, 10))):
            p = pts[21 + k]
            q = c + (p - c) * 1.4
            road += chunk_buffers(meander([c, q], vrng, 20.0, 50.0), 5.0, 8)
        for k in range(int(vrng.integers(1, 4))):
            a, b = pts[31 + 2 * k], pts[32 + 2 * k]
            road += chunk_buffers(meander([a, b + (b - a) * 0.5], vrng, 20.0, 50.0), 5.0, 8)
    area = shapely.union_all(units.mg_geom) if len(units.mg_geom) < 200 else None
    if area is None:
        area = shapely.union_all([t["geometry"] for t in units.towns])
    shapely.prepare(area)
    w = np.array(water, dtype=object)
    r = np.array(road, dtype=object)
    return w[shapely.intersects(area, w)], r[shapely.intersects(area, r)]


def _cover(mg: np.ndarray, chunks: np.ndarray) -> np.ndarray:
    if len(chunks) == 0:
        return np.array([shapely.Polygon()] * len(mg), dtype=object)
    tree = STRtree(chunks)
    mi, ci = tree.query(mg, predicate="intersects")
    pieces = as_multipolygons(shapely.intersection(mg[mi], chunks[ci], grid_size=GRID))
    return as_multipolygons(grouped_union(pieces, mi, len(mg)))


def _classify(units: Units, geom: np.ndarray, mg_idx: np.ndarray, touches: np.ndarray,
              rng: np.random.Generator) -> np.ndarray:
    centres = np.array([units.town_centres[t] for t in units.mg_town[mg_idx]])
    cen = shapely.get_coordinates(shapely.point_on_surface(geom))
    d_town = np.hypot(*(cen - centres).T)
    vcentre = {v["id"]: v["centre"] for v in units.villages}
    vc = np.array([vcentre[v] for v in units.mg_village[mg_idx]])
    d_village = np.hypot(*(cen - vc).T)
    urban = np.array([TOWNS[t][0].endswith("街道") for t in units.mg_town[mg_idx]])
    p_con = np.where(d_town < 1200, 0.5, np.where(d_town < 2500, 0.18, 0.035))
    p_con = np.where(urban & (d_town < 2500), p_con + 0.15, p_con)
    p_home = np.where(touches, 0.26, 0.085) + np.where(d_village < 500, 0.12, 0.0)
    p_home = np.where(d_town < 1200, 0.25, p_home)
    p_forest = np.full(len(geom), 0.04)
    p_garden = np.full(len(geom), 0.06)
    p_farm = np.clip(1 - p_con - p_home - p_forest - p_garden, 0.02, None)
    p = np.column_stack([p_farm, p_home, p_con, p_forest, p_garden])
    p /= p.sum(1, keepdims=True)
    u = rng.random(len(geom))[:, None]
    k = (u > np.cumsum(p, axis=1)).sum(1)
    classes = np.array(["farmland", "homestead", "construction", "forest", "garden"])
    return classes[np.minimum(k, 4)]


def build_parcels(units: Units, seed: int, progress=None):
    """Cut water and roads by micro-grid and split the rest into classed parcels."""
    mg = units.mg_geom
    n = len(mg)
    wchunks, rchunks = network_chunks(units, seed)
    if progress:
        progress("network", len(wchunks) + len(rchunks))
    water = as_multipolygons(_cover(mg, wchunks))
    road = _cover(mg, rchunks)
    road = as_multipolygons(shapely.difference(road, water, grid_size=GRID))
    covered = shapely.union(water, road, grid_size=GRID)
    rest = shapely.difference(mg, covered, grid_size=GRID)
    if progress:
        progress("land", n)
    parts, pidx = shapely.get_parts(as_multipolygons(rest), return_index=True)
    tiny = shapely.area(parts) < 0.01  # numerical slivers of the cut
    parts, pidx = parts[~tiny], pidx[~tiny]
    big = shapely.area(parts) > PARCEL_SPLIT_M2
    geoms = [parts[~big]]
    gidx = [pidx[~big]]
    for part, i in zip(parts[big], pidx[big], strict=True):
        k = min(int(np.ceil(part.area / PARCEL_SPLIT_M2)), 8)
        prng = rng_for(seed, "parcel", int(units.mg_ids[i]), int(part.area))
        cells = voronoi_split(part, k, prng, lloyd=1)
        cells = cells[~shapely.is_empty(cells)]
        geoms.append(cells)
        gidx.append(np.full(len(cells), i))
    rest_geom = as_multipolygons(np.concatenate(geoms))
    rest_mg = np.concatenate(gidx).astype(np.int64)
    order = np.argsort(rest_mg, kind="stable")
    rest_geom, rest_mg = rest_geom[order], rest_mg[order]
    touches = shapely.distance(rest_geom, covered[rest_mg]) < 1.0
    rng = rng_for(seed, "parcel-class", n)
    rest_class = _classify(units, rest_geom, rest_mg, touches, rng)
    has_w = ~shapely.is_empty(water)
    has_r = ~shapely.is_empty(road)
    geom = np.concatenate([water[has_w], road[has_r], rest_geom])
    cls = np.concatenate([np.full(has_w.sum(), "water"), np.full(has_r.sum(), "road"),
                          rest_class]).astype(object)
    mgi = np.concatenate([np.flatnonzero(has_w), np.flatnonzero(has_r), rest_mg])
    order = np.argsort(mgi, kind="stable")
    return geom[order], cls[order], mgi[order], water, road


def _angles(geoms: np.ndarray) -> np.ndarray:
    env = shapely.oriented_envelope(geoms)
    xy, idx = shapely.get_coordinates(env, return_index=True)
    starts = np.searchsorted(idx, np.arange(len(geoms)))
    nxt = np.minimum(starts + 1, len(xy) - 1)
    d = xy[nxt] - xy[starts]
    return np.arctan2(d[:, 1], d[:, 0])


def _lattice(geoms: np.ndarray, kind: str, rng: np.random.Generator):
    """Oriented rectangles on a jittered lattice strictly inside each polygon."""
    sx, sy, (w0, w1), (d0, d1), keep_p = LATTICE[kind]
    n = len(geoms)
    empty = (np.zeros(0, int), np.zeros((0, 2)), np.zeros(0), np.zeros(0), np.zeros(0))
    if n == 0:
        return empty
    theta = _angles(geoms)
    theta += np.where(rng.random(n) < 0.5, np.pi / 2, 0.0)
    xy, idx = shapely.get_coordinates(geoms, return_index=True)
    c = shapely.get_coordinates(shapely.centroid(geoms))
    cos, sin = np.cos(theta)[idx], np.sin(theta)[idx]
    rel = xy - c[idx]
    u = rel[:, 0] * cos + rel[:, 1] * sin
    v = -rel[:, 0] * sin + rel[:, 1] * cos
    starts = np.searchsorted(idx, np.arange(n))
    umin, umax = np.minimum.reduceat(u, starts), np.maximum.reduceat(u, starts)
    vmin, vmax = np.minimum.reduceat(v, starts), np.maximum.reduceat(v, starts)
    nx = np.maximum(np.floor((umax - umin) / sx).astype(int), 1)
    ny = np.maximum(np.floor((vmax - vmin) / sy).astype(int), 1)
    cnt = nx * ny
    pid = np.repeat(np.arange(n), cnt)
    k = np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    i, j = k % nx[pid], k // nx[pid]
    ou = umin[pid] + ((umax - umin)[pid] - nx[pid] * sx) / 2
    ov = vmin[pid] + ((vmax - vmin)[pid] - ny[pid] * sy) / 2
    m = len(pid)
    w = rng.uniform(w0, w1, m)
    d = rng.uniform(d0, d1, m)
    jit_u = max(0.0, min((sx - w1) / 2 - 0.5, 3.0))
    jit_v = max(0.0, min((sy - d1) / 2 - 0.5, 3.0))
    pu = ou + (i + 0.5) * sx + rng.uniform(-jit_u, jit_u, m)
    pv = ov + (j + 0.5) * sy + rng.uniform(-jit_v, jit_v, m)
    keep = rng.random(m) < keep_p
    th = theta[pid]
    ct, st = np.cos(th), np.sin(th)
    cx = c[pid, 0] + pu * ct - pv * st
    cy = c[pid, 1] + pu * st + pv * ct
    rects = _rects(cx, cy, th, w + 1.0, d + 1.0)  # 0.5 m margin inside the parcel
    shapely.prepare(geoms)
    keep &= shapely.contains_properly(geoms[pid], rects)
    return pid[keep], np.column_stack([cx, cy])[keep], th[keep], w[keep], d[keep]


def _rects(cx, cy, th, w, d) -> np.ndarray:
    ct, st = np.cos(th), np.sin(th)
    du = np.array([-0.5, 0.5, 0.5, -0.5])
    dv = np.array([-0.5, -0.5, 0.5, 0.5])
    lu = du[None, :] * w[:, None]
    lv = dv[None, :] * d[:, None]
    x = cx[:, None] + lu * ct[:, None] - lv * st[:, None]
    y = cy[:, None] + lu * st[:, None] + lv * ct[:, None]
    return shapely.polygons(np.stack([x, y], axis=-1))


def build_land(units: Units, seed: int, progress=None) -> Land:
    """Parcels tiling every micro-grid and buildings on homestead/construction parcels."""
    geom, cls, mgi, water, road = build_parcels(units, seed, progress)
    rng = rng_for(seed, "buildings", len(units.mg_ids))
    centres = np.array([units.town_centres[t] for t in units.mg_town[mgi]])
    cen = shapely.get_coordinates(shapely.point_on_surface(geom))
    near_centre = np.hypot(*(cen - centres).T) < 1600
    groups = {
        "rural": np.flatnonzero(cls == "homestead"),
        "apartment": np.flatnonzero((cls == "construction") & near_centre
                                    & (rng.random(len(cls)) < 0.35)),
    }
    groups["commercial"] = np.setdiff1d(
        np.flatnonzero((cls == "construction") & near_centre), groups["apartment"])
    groups["factory"] = np.flatnonzero((cls == "construction") & ~near_centre)
    out = {k: [] for k in ("parcel", "centre", "angle", "w", "d", "kind")}
    for kind, pidx in groups.items():
        pid, c, th, w, d = _lattice(geom[pidx], kind, rng)
        out["parcel"].append(pidx[pid])
        out["centre"].append(c)
        out["angle"].append(th)
        out["w"].append(w)
        out["d"].append(d)
        out["kind"].append(np.full(len(pid), kind, dtype=object))
    parcel = np.concatenate(out["parcel"])
    order = np.argsort(parcel, kind="stable")
    parcel = parcel[order]
    centre = np.concatenate(out["centre"])[order]
    angle = np.concatenate(out["angle"])[order]
    w = np.concatenate(out["w"])[order]
    d = np.concatenate(out["d"])[order]
    kind = np.concatenate(out["kind"])[order]
    m = len(parcel)
    use = np.empty(m, dtype=object)
    floors = np.ones(m, dtype=np.int64)
    height = np.zeros(m)
    year = np.zeros(m, dtype=np.int64)
    r = rng.random(m)
    rural = kind == "rural"
    res = rural & (r < 0.62)
    agri = rural & (r >= 0.62) & (r < 0.95)
    shop = rural & (r >= 0.95)
    use[res] = "residential"
    floors[res] = rng.choice([2, 3, 4], size=res.sum(), p=[0.3, 0.55, 0.15])
    height[res] = floors[res] * 3.2 + rng.uniform(1.2, 2.5, res.sum())
    use[agri] = "agricultural"
    w[agri] *= 0.65
    d[agri] *= 0.65
    floors[agri] = rng.choice([1, 2], size=agri.sum(), p=[0.7, 0.3])
    height[agri] = floors[agri] * 3.5 + rng.uniform(0.5, 1.5, agri.sum())
    use[shop] = "commercial"
    floors[shop] = rng.choice([2, 3], size=shop.sum())
    height[shop] = floors[shop] * 3.6 + rng.uniform(0.5, 1.5, shop.sum())
    year[rural] = np.clip(np.round(rng.normal(2003, 9, rural.sum())), 1970, 2025)
    apt = kind == "apartment"
    use[apt] = "residential"
    floors[apt] = rng.integers(5, 19, apt.sum())
    height[apt] = floors[apt] * 3.0 + rng.uniform(0.3, 1.5, apt.sum())
    year[apt] = rng.integers(1998, 2025, apt.sum())
    com = kind == "commercial"
    use[com] = "commercial"
    floors[com] = rng.integers(2, 7, com.sum())
    height[com] = floors[com] * 4.0 + rng.uniform(0.3, 1.5, com.sum())
    year[com] = rng.integers(1995, 2025, com.sum())
    fac = kind == "factory"
    use[fac] = "industrial"
    floors[fac] = rng.choice([1, 2], size=fac.sum(), p=[0.75, 0.25])
    height[fac] = floors[fac] * 6.0 + rng.uniform(0.5, 2.5, fac.sum())
    year[fac] = rng.integers(1995, 2024, fac.sum())
    rects = _rects(centre[:, 0], centre[:, 1], angle, w, d)
    if progress:
        progress("buildings", m)
    return Land(
        parcel_geom=geom, parcel_class=cls, parcel_mg=mgi, water=water, road=road,
        b_geom=rects, b_mg=mgi[parcel], b_parcel=parcel, b_kind=kind, b_use=use,
        b_floors=floors, b_height=np.round(height, 1), b_year=year, b_centre=centre,
        b_angle=angle, b_w=w, b_d=d,
    )


def group_households(units: Units, land: Land) -> int:
    """Micro-grids are household groups (Tongxiang: ~30 households each, a leader each): a
    micro-grid drawn where no one lives — fields, water — joins the neighbouring micro-grid
    of its grid with which it shares the longest border, until every micro-grid of a grid
    holds homes; a grid where no one lives keeps one micro-grid. Units and land are changed
    in place (codes and names numbered again within each grid, unit ids in order, the land's
    micro-grid indices moved to the joined cells); the levels still tile their parents.
    Returns how many micro-grids were joined to another."""
    n = len(units.mg_ids)
    homes = np.zeros(n, bool)
    homes[np.unique(land.b_mg[land.b_use == "residential"])] = True
    owner = np.arange(n)
    for grid in np.unique(units.mg_grid):
        cells = np.flatnonzero(units.mg_grid == grid)
        if not homes[cells].any():
            owner[cells] = cells[0]
            continue
        edges = shapely.boundary(units.mg_geom[cells])
        placed = {int(c) for c in cells if homes[c]}
        pending = [int(c) for c in cells if not homes[c]]
        local = {int(c): k for k, c in enumerate(cells)}
        while pending:
            waiting = []
            for cell in pending:
                near = sorted(placed)
                borders = shapely.length(shapely.intersection(
                    edges[local[cell]], edges[[local[p] for p in near]]))
                if borders.max(initial=0.0) <= 0:
                    waiting.append(cell)
                    continue
                joined = near[int(np.argmax(borders))]
                owner[cell] = owner[joined]
                placed.add(cell)
            if len(waiting) == len(pending):  # touches nothing with homes: the nearest
                for cell in waiting:
                    near = min(placed, key=lambda p: shapely.distance(
                        units.mg_geom[cell], units.mg_geom[p]))
                    owner[cell] = owner[near]
                    placed.add(cell)
                waiting = []
            pending = waiting
    keep = np.unique(owner)
    position = np.full(n, -1)
    position[keep] = np.arange(len(keep))
    moved = position[owner]
    merged = np.array([shapely.union_all(units.mg_geom[owner == k]) for k in keep],
                      dtype=object)
    land.parcel_mg = moved[land.parcel_mg]
    land.b_mg = moved[land.b_mg]
    land.water = np.array([shapely.union_all(land.water[owner == k]) for k in keep],
                          dtype=object)
    land.road = np.array([shapely.union_all(land.road[owner == k]) for k in keep],
                         dtype=object)
    _renumber(units, keep, as_multipolygons(merged))
    return n - len(keep)


def _renumber(units: Units, keep: np.ndarray, geoms: np.ndarray) -> None:
    """Keep the micro-grids at ``keep`` (positions in the mg arrays) with ``geoms``; number
    the units again in order, and each grid's micro-grids 1, 2, …"""
    survivors = {int(units.mg_ids[k]): g for k, g in zip(keep, geoms, strict=True)}
    rows: list[dict] = []
    new_id: dict[int, int] = {}
    grids: dict[int, dict] = {}
    counted: dict[int, int] = {}
    for row in units.rows:
        old = row["id"]
        if row["level"] == "microgrid" and old not in survivors:
            continue
        new_id[old] = len(rows) + 1
        row = dict(row, id=new_id[old],
                   parent_id=None if row["parent_id"] is None else new_id[row["parent_id"]])
        if row["level"] == "grid":
            grids[row["id"]] = row
        elif row["level"] == "microgrid":
            grid = grids[row["parent_id"]]
            k = counted[grid["id"]] = counted.get(grid["id"], 0) + 1
            row.update(code=f"{grid['code']}{k:03d}", name=f"{grid['name']}第{k}微网格",
                       geometry=survivors[old])
        rows.append(row)
    units.rows = rows
    units.mg_ids = np.array([new_id[int(units.mg_ids[k])] for k in keep], dtype=np.int64)
    units.mg_geom = geoms
    units.mg_grid = np.array([new_id[int(g)] for g in units.mg_grid[keep]], dtype=np.int64)
    units.mg_village = np.array([new_id[int(v)] for v in units.mg_village[keep]],
                                dtype=np.int64)
    units.mg_town = units.mg_town[keep]
    for village in units.villages:
        village.update(id=new_id[village["id"]], town_id=new_id[village["town_id"]])
    for town in units.towns:
        town["id"] = new_id[town["id"]]
