"""Facilities, organizations, monitoring stations and observations of the sample twin."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import shapely

from twin.sample.common import lonlat_to_xy, meander, rng_for
from twin.sample.land import Land
from twin.sample.units import COUNTY_CODE, TOWNS, WUZHEN_SCENIC, WUZHEN_TOWN, Units

SCENIC_SPOTS = (
    ("乌镇景区游客中心", *WUZHEN_SCENIC),
    ("乌镇东栅", 120.4965, 30.7412),
    ("乌镇西栅", 120.4840, 30.7435),
    ("乌镇南栅", 120.4935, 30.7360),
    ("乌镇北栅", 120.4920, 30.7465),
    ("茅盾故居", 120.4972, 30.7420),
    ("木心美术馆", 120.4815, 30.7452),
    ("乌镇大剧院", 120.4870, 30.7448),
    ("昭明书院", 120.4958, 30.7405),
    ("互联网之光博览中心", 120.4780, 30.7380),
)
_STAY_WORDS = ("枕水", "西栅", "东栅", "水乡", "小桥", "流水", "乌篷", "蓝印", "桐乡", "锦岸",
               "月老", "石板", "老街", "晓风", "听雨", "花间", "云水", "若水", "南塘", "栖舍")
_FOOD_WORDS = ("乌镇", "水阁", "老字号", "姑嫂饼", "三白", "红烧羊肉", "桐乡", "车溪", "茅家",
               "阿婆", "老街", "河埠")
_FOOD_KIND = ("饭店", "酒家", "面馆", "菜馆", "小吃店", "茶馆")
_COOP_PRODUCTS = ("蚕桑", "杭白菊", "水果", "粮油", "蔬菜", "水产养殖", "湖羊", "花卉")
_INDUSTRIES = ("毛衫", "化纤", "皮草", "家纺", "机械", "电子", "新材料", "食品", "纺织", "五金")
_FIRM_WORDS = ("恒达", "华欣", "新凤", "振石", "双箭", "金丰", "瑞丰", "永盛", "兴隆", "宏达",
               "天鸿", "锦顺", "富源", "鼎盛", "中意")

STATION_KINDS = {
    "air": ("AQ", "空气质量监测站", ("pm25", "pm10", "o3", "no2")),
    "water": ("WQ", "水质自动监测站", ("do", "codmn", "nh3n", "tp")),
    "water_level": ("WL", "水位站", ("water_level",)),
    "noise": ("NS", "噪声监测点", ("noise",)),
    "visitors": ("VC", "客流监测点", ("visitors",)),
}
HOLIDAYS = (((10, 1), (10, 7)), ((5, 1), (5, 5)), ((1, 1), (1, 1)), ((4, 4), (4, 6)))


def points_in(geoms: np.ndarray, rng: np.random.Generator, rounds: int = 12) -> np.ndarray:
    """One uniform random point (an (n, 2) array) inside each polygon."""
    n = len(geoms)
    out = np.full((n, 2), np.nan)
    if n == 0:
        return out
    b = shapely.bounds(geoms)
    todo = np.arange(n)
    shapely.prepare(geoms)
    for _ in range(rounds):
        x = rng.uniform(b[todo, 0], b[todo, 2])
        y = rng.uniform(b[todo, 1], b[todo, 3])
        ok = shapely.contains_xy(geoms[todo], x, y)
        out[todo[ok]] = np.column_stack([x[ok], y[ok]])
        todo = todo[~ok]
        if len(todo) == 0:
            break
    if len(todo):
        out[todo] = shapely.get_coordinates(shapely.point_on_surface(geoms[todo]))
    return out


def building_point(land: Land, idx: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random point well inside each given building."""
    u = rng.uniform(-0.3, 0.3, len(idx)) * land.b_w[idx]
    v = rng.uniform(-0.3, 0.3, len(idx)) * land.b_d[idx]
    th = land.b_angle[idx]
    return np.column_stack([
        land.b_centre[idx, 0] + u * np.cos(th) - v * np.sin(th),
        land.b_centre[idx, 1] + u * np.sin(th) + v * np.cos(th),
    ])


def choose_public_buildings(units: Units, land: Land, seed: int) -> dict[int, list[int]]:
    """Turn 3 houses near each village centre into public buildings; return them by village."""
    out: dict[int, list[int]] = {}
    bvill = units.mg_village[land.b_mg]
    cand = (land.b_kind == "rural") & (land.b_use == "residential")
    for v in units.villages:
        idx = np.flatnonzero(cand & (bvill == v["id"]))
        if len(idx) == 0:
            out[v["id"]] = []
            continue
        d = np.hypot(*(land.b_centre[idx] - v["centre"]).T)
        pick = idx[np.argsort(d, kind="stable")[:3]]
        land.b_use[pick] = "public"
        land.b_floors[pick] = np.maximum(land.b_floors[pick], 2)
        out[v["id"]] = [int(i) for i in pick]
    return out


def build_facilities(units: Units, land: Land, public: dict[int, list[int]], seed: int,
                     emitted) -> pd.DataFrame:
    """Facilities/POIs with kind, name, props and METRIC_CRS x/y."""
    rng = rng_for(seed, "facilities", len(units.mg_ids))
    rows: list[tuple] = []  # kind, name, props, x, y

    def add(kind, names, props, xy):
        for name, prop, (x, y) in zip(names, props, xy, strict=True):
            rows.append((kind, name, prop, float(x), float(y)))

    # the Wuzhen scenic cluster (kept where it falls inside the emitted micro-grids)
    cx, cy = lonlat_to_xy(*WUZHEN_SCENIC)
    spots = np.array([lonlat_to_xy(lon, lat) for _, lon, lat in SCENIC_SPOTS])
    add("scenic_spot", [s[0] for s in SCENIC_SPOTS],
        [{"level": "5A", "ticket_yuan": int(t)} for t in rng.choice([0, 110, 150], len(spots))],
        spots)

    def around(n, sigma):
        return np.column_stack([rng.normal(cx, sigma, n), rng.normal(cy, sigma, n)])

    n = 140
    add("homestay", [f"{_STAY_WORDS[i % 20]}{'人家居舍客栈小院'[j]}{'' if k else '民宿'}"
                     f"{'' if i < 20 else i // 20 + 1}"
                     for i, j, k in zip(range(n), rng.integers(0, 8, n), rng.integers(0, 2, n),
                                        strict=True)],
        [{"beds": int(b), "rating": round(float(r), 1)}
         for b, r in zip(rng.integers(4, 17, n), rng.uniform(4.0, 5.0, n), strict=True)],
        around(n, 500))
    n = 70
    add("restaurant", [f"{_FOOD_WORDS[i % 12]}{_FOOD_KIND[j]}{'' if i < 12 else i // 12 + 1}"
                       for i, j in zip(range(n), rng.integers(0, 6, n), strict=True)],
        [{"seats": int(s)} for s in rng.integers(20, 200, n)], around(n, 450))
    n = 10
    add("parking", [f"乌镇景区{i + 1}号停车场" for i in range(n)],
        [{"capacity": int(c)} for c in rng.integers(50, 800, n)], around(n, 600))
    n = 24
    add("toilet", [f"乌镇景区旅游厕所{i + 1}" for i in range(n)],
        [{"grade": str(g)} for g in rng.choice(["AAA", "AA", "A"], n)], around(n, 450))

    # everywhere: per micro-grid, grid and village
    mg = units.mg_geom
    n_cam = rng.poisson(1.0, len(mg))
    idx = np.repeat(np.arange(len(mg)), n_cam)
    add("camera", [f"雪亮工程监控{i + 1:05d}" for i in range(len(idx))],
        [{"type": str(t)} for t in rng.choice(["球机", "枪机", "人脸卡口"], len(idx))],
        points_in(mg[idx], rng))
    idx = np.repeat(np.arange(len(mg)), rng.poisson(0.5, len(mg)))
    add("hydrant", [f"消火栓{i + 1:05d}" for i in range(len(idx))],
        [{"pressure_mpa": round(float(p), 2)} for p in rng.uniform(0.15, 0.45, len(idx))],
        points_in(mg[idx], rng))
    grid_ids = np.unique(units.mg_grid)
    names = {r["id"]: r["name"] for r in units.rows}
    for gid in grid_ids:
        cells = np.flatnonzero(units.mg_grid == gid)
        pick = rng.choice(cells, size=2)
        add("garbage_station", [f"{names[gid]}垃圾分类收集点{k + 1}" for k in range(2)],
            [{"bins": int(b)} for b in rng.integers(2, 7, 2)], points_in(mg[pick], rng))
    for v in units.villages:
        vid, vname = v["id"], v["name"]
        cells = np.flatnonzero(units.mg_village == vid)
        pick = rng.choice(cells, size=3)
        add("bus_stop", [f"{vname}{s}公交站" for s in ("", "东", "西")],
            [{"lines": int(k)} for k in rng.integers(1, 4, 3)], points_in(mg[pick], rng))
        pub = public.get(vid, [])
        spots = building_point(land, np.array(pub, dtype=int), rng) if pub else \
            points_in(mg[rng.choice(cells, size=3)], rng)
        spots = np.concatenate([spots, points_in(mg[rng.choice(cells, size=3)], rng)])
        short = vname.removesuffix("村").removesuffix("社区")
        add("cultural_hall", [f"{vname}文化礼堂"], [{"seats": int(rng.integers(80, 300))}],
            spots[:1])
        clinic = f"{short}社区卫生服务站" if v["community"] else f"{vname}卫生室"
        add("clinic", [clinic], [{"doctors": int(rng.integers(1, 5))}], spots[1:2])
        add("elderly_care", [f"{vname}居家养老服务照料中心"],
            [{"beds": int(rng.integers(5, 30))}], spots[3:4])
        if v["community"] or rng.random() < 0.35:
            add("school", [f"桐乡市{short}{'小学' if rng.random() < 0.7 else '幼儿园'}"],
                [{"students": int(rng.integers(120, 1500))}], spots[2:3])
    df = pd.DataFrame(rows, columns=["kind", "name", "props", "x", "y"])
    keep = shapely.contains_xy(emitted, df["x"].to_numpy(), df["y"].to_numpy())
    return df[keep].reset_index(drop=True)


def build_organizations(units: Units, land: Land, people_party: pd.Series,
                        seed: int) -> pd.DataFrame:
    """Party branches, committees, volunteer teams, co-operatives and firms per village."""
    rng = rng_for(seed, "organizations", len(units.mg_ids))
    bvill = units.mg_village[land.b_mg]
    rows = []
    for v in units.villages:
        vid, vname = v["id"], v["name"]
        short = vname.removesuffix("村").removesuffix("社区")
        bidx = np.flatnonzero(bvill == vid)
        ind = bidx[land.b_use[bidx] == "industrial"]

        def at(pool, k, _geom=v["geometry"]):
            if len(pool) == 0:
                return points_in(np.array([_geom] * k, dtype=object), rng)
            return building_point(land, rng.choice(pool, size=k), rng)

        party = int(people_party.get(vid, 0))
        branch = "党总支" if party > 80 else "党支部"
        committee = "居民委员会" if v["community"] else "村民委员会"
        base = [
            ("party_general_branch" if party > 80 else "party_branch", f"中共{vname}{branch}",
             max(party, 3)),
            ("village_committee", f"{vname}{committee}", int(rng.integers(5, 10))),
            ("mediation_committee", f"{vname}人民调解委员会", int(rng.integers(3, 8))),
            ("volunteer_team", f"{vname}志愿服务队", int(rng.integers(15, 90))),
        ]
        if not v["community"]:
            for p in rng.choice(_COOP_PRODUCTS, size=int(rng.integers(0, 3)), replace=False):
                base.append(("cooperative", f"桐乡市{short}{p}专业合作社",
                             int(rng.integers(10, 200))))
        for _ in range(int(rng.integers(0, 5))):
            firm = _FIRM_WORDS[rng.integers(len(_FIRM_WORDS))]
            ind_word = _INDUSTRIES[rng.integers(len(_INDUSTRIES))]
            base.append(("enterprise", f"桐乡市{firm}{ind_word}有限公司",
                         int(rng.integers(8, 500))))
        xy = at(bidx, 4)
        rows += [(k, nm, m, vid, *p) for (k, nm, m), p in zip(base[:4], xy, strict=True)]
        for k, nm, m in base[4:]:
            p = at(ind if k == "enterprise" and len(ind) else bidx, 1)[0]
            rows.append((k, nm, m, vid, *p))
    df = pd.DataFrame(rows, columns=["kind", "name", "members", "unit_id", "x", "y"])
    # names must be unique within a village; firms drawn twice get a suffix
    dup = df.groupby(["unit_id", "name"]).cumcount()
    df.loc[dup > 0, "name"] = df.loc[dup > 0, "name"].str.replace(
        "有限公司", "", regex=False) + (dup[dup > 0] + 1).astype(str) + "有限公司"
    return df


def build_stations(units: Units, land: Land, facilities: pd.DataFrame, scale: str,
                   seed: int) -> pd.DataFrame:
    """Monitoring stations per town (one of each kind at village scale) + visitor counters."""
    rng = rng_for(seed, "stations", len(units.mg_ids))
    rows = []
    water_p = np.flatnonzero(land.parcel_class == "water")
    ptown = units.mg_town[land.parcel_mg]
    btown = units.mg_town[land.b_mg]
    for t in units.towns:
        ti = t["index"]
        if scale == "village":
            counts = {"air": 1, "water": 1, "water_level": 1, "noise": 1}
        else:
            counts = {"air": 2, "water": int(rng.integers(2, 4)),
                      "water_level": int(rng.integers(1, 3)), "noise": 1}
        tw = water_p[ptown[water_p] == ti]
        tb = np.flatnonzero(btown == ti)
        for kind, k in counts.items():
            prefix, label, _ = STATION_KINDS[kind]
            for j in range(k):
                if kind in ("water", "water_level") and len(tw):
                    p = shapely.get_coordinates(shapely.point_on_surface(
                        land.parcel_geom[rng.choice(tw)]))[0]
                elif len(tb):
                    p = building_point(land, rng.choice(tb, size=1), rng)[0]
                else:
                    p = points_in(np.array([t["geometry"]], dtype=object), rng)[0]
                rows.append((f"{prefix}-{t['code']}-{j + 1:02d}", kind,
                             f"{t['name']}{label}{j + 1}", *p))
    spots = facilities[facilities["kind"] == "scenic_spot"].head(5)
    for j, (_, s) in enumerate(spots.iterrows()):
        rows.append((f"VC-{COUNTY_CODE}{TOWNS[WUZHEN_TOWN][1]}-{j + 1:02d}", "visitors",
                     f"{s['name']}客流监测点", s["x"], s["y"]))
    df = pd.DataFrame(rows, columns=["code", "kind", "name", "x", "y"])
    df.insert(0, "id", np.arange(1, len(df) + 1, dtype=np.int64))
    return df


# Tourism routes of the Wuzhen scenic area: (code suffix, kind, name, stops by spot name).
ROUTES = (
    ("W01", "walking", "东栅水乡古镇步行线", ("乌镇景区游客中心", "乌镇东栅", "茅盾故居", "昭明书院", "乌镇南栅")),
    ("W02", "walking", "西栅文化漫步线", ("乌镇西栅", "木心美术馆", "乌镇大剧院", "乌镇北栅")),
    ("C01", "cycling", "互联网之光骑行线", ("乌镇景区游客中心", "乌镇大剧院", "互联网之光博览中心")),
)


def build_routes(facilities: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, list]:
    """Walking and cycling routes through the scenic spots that the sample holds (a route
    needs at least two of its stops); lines in METRIC_CRS, gently bent like lanes."""
    rng = rng_for(seed, "routes")
    spots = facilities[facilities["kind"] == "scenic_spot"].set_index("name")
    rows, lines = [], []
    for suffix, kind, name, stops in ROUTES:
        present = [s for s in stops if s in spots.index]
        if len(present) < 2:
            continue
        xy = spots.loc[present, ["x", "y"]].to_numpy(float)
        rows.append((f"RT-{COUNTY_CODE}{TOWNS[WUZHEN_TOWN][1]}-{suffix}", kind, name,
                     {"stops": present}))
        lines.append(meander(xy, rng, 25.0, 40.0))
    df = pd.DataFrame(rows, columns=["code", "kind", "name", "props"])
    df.insert(0, "id", np.arange(1, len(df) + 1, dtype=np.int64))
    return df, lines


def _episodes(rng, shape, per_row, length, *, night_only=False, hours=None):
    """Boolean mask of ``per_row`` random episodes of ``length`` (lo, hi) hours per row."""
    mask = np.zeros(shape, bool)
    n_t = shape[1]
    for r in range(shape[0]):
        for _ in range(per_row):
            ln = int(rng.integers(*length))
            if night_only and hours is not None:
                nights = np.flatnonzero(hours[: n_t - ln] == 23)
                s = int(rng.choice(nights)) if len(nights) else 0
            else:
                s = int(rng.integers(0, max(n_t - ln, 1)))
            mask[r, s : s + ln] = True
    return mask


def build_observations(stations: pd.DataFrame, days: int, end: dt.datetime,
                       seed: int) -> pd.DataFrame:
    """Hourly readings for ``days`` days ending at ``end`` with daily cycles and breaches."""
    rng = rng_for(seed, "observations", len(stations), days)
    times = pd.date_range(end=pd.Timestamp(end) - pd.Timedelta(hours=1), periods=days * 24,
                          freq="h", tz="UTC")
    local = times.tz_convert("Asia/Shanghai")
    hour = local.hour.to_numpy()
    dow = local.day_of_week.to_numpy()
    md = local.month.to_numpy() * 100 + local.day.to_numpy()
    holiday = np.zeros(len(times), bool)
    for (m0, d0), (m1, d1) in HOLIDAYS:
        holiday |= (md >= m0 * 100 + d0) & (md <= m1 * 100 + d1)
    t = np.arange(len(times))
    frames = []

    def wobble(n, scale):
        w = np.zeros((n, len(t)))
        for _ in range(3):
            period = rng.uniform(6, 96, (n, 1))
            w += np.sin(2 * np.pi * t / period + rng.uniform(0, 2 * np.pi, (n, 1)))
        return scale * (w / 3 + 0.35 * rng.normal(size=(n, len(t))))

    def emit(ids, param, values, decimals):
        frames.append(pd.DataFrame({
            "station_id": np.repeat(ids, len(t)),
            "parameter": param,
            "observed_at": np.tile(times, len(ids)),
            "value": np.round(values.ravel(), decimals),
        }))

    daily = np.cos(2 * np.pi * (hour - 8) / 24) + 0.5 * np.cos(2 * np.pi * (hour - 20) / 12)
    for kind, (_, _, params) in STATION_KINDS.items():
        ids = stations.loc[stations["kind"] == kind, "id"].to_numpy()
        n = len(ids)
        if n == 0:
            continue
        if kind == "air":
            pm25 = 32 + 8 * daily + wobble(n, 10)
            pm25 += np.where(_episodes(rng, pm25.shape, 3, (5, 12)),
                             rng.uniform(55, 90, (n, 1)), 0)
            pm25 = np.clip(pm25, 3, None)
            emit(ids, "pm25", pm25, 1)
            emit(ids, "pm10", np.clip(pm25 * 1.55 + wobble(n, 8), 5, None), 1)
            o3 = 60 + 55 * np.clip(np.sin(np.pi * (hour - 7) / 12), -0.3, None) + wobble(n, 12)
            emit(ids, "o3", np.clip(o3, 5, None), 1)
            no2 = 28 + 9 * daily + wobble(n, 6)
            emit(ids, "no2", np.clip(no2, 3, None), 1)
        elif kind == "water":
            do = 6.6 + 0.7 * np.sin(2 * np.pi * (hour - 9) / 24) + wobble(n, 0.4)
            do -= np.where(_episodes(rng, do.shape, 2, (6, 18)), rng.uniform(2.2, 3.2, (n, 1)), 0)
            emit(ids, "do", np.clip(do, 0.5, None), 2)
            emit(ids, "codmn", np.clip(4.2 + wobble(n, 0.6), 1, None), 2)
            nh3n = 0.45 + wobble(n, 0.1)
            nh3n += np.where(_episodes(rng, nh3n.shape, 2, (6, 24)),
                             rng.uniform(0.7, 1.1, (n, 1)), 0)
            nh3n[0, -5:] += 0.9  # an ammonia episode still going on at the end: a live warning
            emit(ids, "nh3n", np.clip(nh3n, 0.03, None), 3)
            emit(ids, "tp", np.clip(0.12 + wobble(n, 0.025), 0.01, None), 3)
        elif kind == "water_level":
            level = 1.55 + wobble(n, 0.05) + 0.1 * np.sin(2 * np.pi * t / (24 * 14))
            for r in range(n):
                starts = rng.choice(len(t), size=3, replace=False)
                starts[0] = rng.integers(0, max(len(t) - 30, 1))
                peaks = rng.uniform(0.3, 0.7, 3)
                peaks[0] = rng.uniform(1.35, 1.55)  # one flood crest above 2.8 m
                for s, pk in zip(starts, peaks, strict=True):
                    dt_h = t - s
                    rise = np.where(dt_h < 0, 0,
                                    np.where(dt_h < 12, dt_h / 12, np.exp(-(dt_h - 12) / 36)))
                    level[r] += pk * rise
            emit(ids, "water_level", np.clip(level, 0.8, None), 2)
        elif kind == "noise":
            night = (hour >= 22) | (hour < 6)
            noise = np.where(night, 45.0, 55.0) + wobble(n, 2.5)
            noise += np.where(_episodes(rng, noise.shape, 2, (2, 4), night_only=True, hours=hour),
                              rng.uniform(26, 32, (n, 1)), 0)
            emit(ids, "noise", np.clip(noise, 30, None), 1)
        elif kind == "visitors":
            shape = np.clip(np.sin(np.pi * (hour - 8) / 13), 0, None) ** 1.5
            mult = np.where(holiday, 2.6, np.where(dow >= 5, 1.6, 1.0))
            scale = rng.uniform(150, 1200, (n, 1))
            lam = scale * shape * mult * (1 + 0.15 * rng.normal(size=(n, len(t))).clip(-3, 3))
            emit(ids, "visitors", rng.poisson(np.clip(lam, 0, None)).astype(float), 0)
        del params
    if not frames:
        return pd.DataFrame({"station_id": pd.Series(dtype="int64"), "parameter": [],
                             "observed_at": pd.Series(dtype="datetime64[ns, UTC]"),
                             "value": pd.Series(dtype=float)})
    return pd.concat(frames, ignore_index=True)


# About one micro-grid workroom for every two grids (436 for Tongxiang's 944).
WORKROOM_SHARE = 436 / 944
_HOURS = ("周一至周五 8:30-17:00", "每天 8:00-20:00", "周一至周六 9:00-17:30",
          "周一至周五 8:30-17:00，周六上午")


def build_workrooms(units: Units, land: Land, seed: int) -> pd.DataFrame:
    """Micro-grid workrooms (微网格工作室): in about half the grids (and in at least one grid
    of every village), one room in a building of the grid serving its micro-grids; code,
    name, opening hours, served micro-grid codes and a METRIC_CRS x/y."""
    rng = rng_for(seed, "workrooms", len(units.mg_ids))
    code = {r["id"]: r["code"] for r in units.rows}
    name = {r["id"]: r["name"] for r in units.rows}
    village_of = dict(zip(units.mg_grid.tolist(), units.mg_village.tolist(), strict=False))
    grids = sorted(set(units.mg_grid.tolist()))
    homes_of = {g: np.flatnonzero(np.isin(land.b_mg, np.flatnonzero(units.mg_grid == g))
                                  & (land.b_use == "residential")) for g in grids}
    chosen = [g for g in grids if rng.random() < WORKROOM_SHARE and len(homes_of[g])]
    served = {village_of[g] for g in chosen}
    for village in sorted(set(village_of.values()) - served):  # one room in every village
        inhabited = [g for g in grids if village_of[g] == village and len(homes_of[g])]
        if inhabited:
            chosen.append(max(inhabited, key=lambda g: len(homes_of[g])))
    rows = []
    for grid in sorted(chosen):
        mgs = np.flatnonzero(units.mg_grid == grid)
        x, y = building_point(land, rng.choice(homes_of[grid], size=1), rng)[0]
        rows.append((f"{code[grid]}W1", f"{name[grid]}微网格工作室",
                     _HOURS[int(rng.integers(len(_HOURS)))],
                     [code[int(units.mg_ids[i])] for i in mgs], x, y))
    return pd.DataFrame(rows, columns=["code", "name", "opening_hours", "serves", "x", "y"])
