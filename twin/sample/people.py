"""Households and residents of the sample twin (vectorised with numpy)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from faker.providers.person.zh_CN import Provider as _ZhPerson

from twin.sample.common import rng_for
from twin.sample.land import Land
from twin.sample.units import COUNTY_CODE, Units

HOUSEHOLD_SIZE_P = (0.48, 0.32, 0.11, 0.07, 0.02)
ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
ID_CHECK = "10X98765432"
MOBILE_PREFIXES = np.array(
    [130, 131, 132, 133, 135, 136, 137, 138, 139, 150, 151, 152, 153, 155, 157, 158, 159,
     177, 180, 181, 182, 183, 186, 187, 188, 189, 199]
)

_SURNAMES = np.array(list(_ZhPerson.last_names.keys()), dtype=object)
_SURNAME_P = np.array(list(_ZhPerson.last_names.values()), dtype=float)
_SURNAME_P /= _SURNAME_P.sum()
_MALE = np.array(_ZhPerson.first_names_male, dtype=object)
_FEMALE = np.array(_ZhPerson.first_names_female, dtype=object)


def id_check_digit(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of an 18-digit resident ID's first 17 digits."""
    total = sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK[total % 11]


def given_names(rng: np.random.Generator, male: np.ndarray) -> np.ndarray:
    """One- or two-character given names by sex (vectorised)."""
    n = len(male)
    a = np.where(male, _MALE[rng.integers(len(_MALE), size=n)],
                 _FEMALE[rng.integers(len(_FEMALE), size=n)])
    b = np.where(male, _MALE[rng.integers(len(_MALE), size=n)],
                 _FEMALE[rng.integers(len(_FEMALE), size=n)])
    one_char = np.vectorize(len, otypes=[int])
    two = (rng.random(n) < 0.55) & (one_char(a) == 1) & (one_char(b) == 1)
    return np.where(two, a + b, a)


def build_households(units: Units, land: Land, seed: int) -> pd.DataFrame:
    """Households (METRIC_CRS x/y) in residential buildings: 1 per house, floors×2 per flat block."""
    res = np.flatnonzero(land.b_use == "residential")
    apt = land.b_kind[res] == "apartment"
    n_hh = np.where(apt, land.b_floors[res] * 2, 1)
    b = np.repeat(res, n_hh)
    k = np.arange(n_hh.sum()) - np.repeat(np.cumsum(n_hh) - n_hh, n_hh)
    rng = rng_for(seed, "households", len(land.b_geom))
    u = rng.uniform(-0.35, 0.35, len(b)) * land.b_w[b]
    v = rng.uniform(-0.35, 0.35, len(b)) * land.b_d[b]
    th = land.b_angle[b]
    x = land.b_centre[b, 0] + u * np.cos(th) - v * np.sin(th)
    y = land.b_centre[b, 1] + u * np.sin(th) + v * np.cos(th)
    village = units.mg_village[land.b_mg[b]]
    vinfo = {vv["id"]: vv for vv in units.villages}
    # house number: running number of residential buildings within the village
    bvill = units.mg_village[land.b_mg[res]]
    house_no = pd.Series(bvill).groupby(bvill).cumcount().to_numpy() + 1
    no = np.repeat(house_no, n_hh)
    prefix = np.array([vinfo[i]["town_name"] + vinfo[i]["name"] for i in village], dtype=object)
    is_apt = np.repeat(apt, n_hh)
    floor = k // 2 + 1
    room = floor * 100 + k % 2 + 1
    no_s = no.astype(str).astype(object)
    address = np.where(is_apt, prefix + no_s + "幢" + room.astype(str).astype(object) + "室",
                       prefix + no_s + "号")
    seq = pd.Series(village).groupby(village).cumcount().to_numpy() + 1
    vcode = np.array([vinfo[i]["code"] for i in village], dtype=object)
    code = vcode + pd.Series(seq).map("{:05d}".format).to_numpy(dtype=object)
    return pd.DataFrame({
        "building_index": b, "x": x, "y": y, "address": address, "code": code,
        "village_id": village, "apartment": is_apt,
    })


def build_people(households: pd.DataFrame, seed: int, end: dt.datetime) -> pd.DataFrame:
    """Residents of each household: names, sex, birth date, relation, tags, ID and phone."""
    rng = rng_for(seed, "people", len(households))
    nh = len(households)
    size = rng.choice(np.arange(1, 6), size=nh, p=HOUSEHOLD_SIZE_P)
    hh = np.repeat(np.arange(nh), size)
    pos = np.arange(size.sum()) - np.repeat(np.cumsum(size) - size, size)
    n = len(hh)
    head_age = np.where(size == 1, rng.normal(59, 14, nh), rng.normal(52, 14, nh))
    head_age = np.clip(head_age, 22, 96)
    head_male = rng.random(nh) < 0.72
    r = rng.random(n)
    rel = np.full(n, "其他", dtype=object)
    rel[pos == 0] = "户主"
    spouse = (pos == 1) & (r < 0.8)
    rel[spouse] = "配偶"
    other = (pos >= 1) & ~spouse
    r2 = rng.random(n)
    rel[other & (r2 < 0.72)] = "子女"
    rel[other & (r2 >= 0.72) & (r2 < 0.9)] = "父母"
    ha = head_age[hh]
    age = ha.copy()
    age = np.where(rel == "配偶", ha + rng.normal(-2, 3, n), age)
    age = np.where(rel == "子女", ha - rng.uniform(22, 36, n), age)
    age = np.where(rel == "父母", ha + rng.uniform(22, 32, n), age)
    age = np.where(rel == "其他", rng.uniform(3, 85, n), age)
    age = np.clip(age, 0.1, 101.0)
    male = rng.random(n) < 0.5
    male = np.where(pos == 0, head_male[hh], male)
    male = np.where(rel == "配偶", ~head_male[hh], male)
    ref = pd.Timestamp(end.date() if isinstance(end, dt.datetime) else end)
    birth = ref - pd.to_timedelta(np.round(age * 365.25).astype(np.int64), unit="D")
    birth_np = birth.to_numpy().astype("datetime64[D]")
    exact_age = (ref.to_numpy().astype("datetime64[D]") - birth_np).astype(np.int64) / 365.25
    # names: children and parents of the head share the household surname
    hh_surname = rng.choice(_SURNAMES, size=nh, p=_SURNAME_P)
    own = rng.choice(_SURNAMES, size=n, p=_SURNAME_P)
    same = np.isin(rel, ["户主", "子女", "父母"])
    surname = np.where(same, hh_surname[hh], own)
    name = surname + given_names(rng, male)
    # tags
    adult = exact_age >= 18
    elderly = exact_age >= 60
    party = adult & (rng.random(n) < 0.105)
    disability = rng.random(n) < 0.02
    low_income = rng.random(n) < np.where(elderly, 0.028, 0.01)
    veteran = male & adult & (rng.random(n) < 0.024)
    left_behind = (exact_age < 16) & (rng.random(n) < 0.08)
    flags = [("elderly", elderly), ("party_member", party), ("disability", disability),
             ("low_income", low_income), ("veteran", veteran),
             ("left_behind_child", left_behind)]
    tags: list[list[str]] = [[] for _ in range(n)]
    for label, mask in flags:
        for i in np.flatnonzero(mask):
            tags[i].append(label)
    return pd.DataFrame({
        "id": np.arange(1, n + 1, dtype=np.int64),
        "household_id": hh.astype(np.int64) + 1,
        "name": name,
        "sex": np.where(male, "M", "F").astype(object),
        "birth_date": pd.DatetimeIndex(birth_np).date,
        "relation": rel,
        "tags": tags,
        "id_number": id_numbers(rng, birth_np, male),
        "phone": phones(rng, n),
    })


def id_numbers(rng: np.random.Generator, birth: np.ndarray, male: np.ndarray) -> np.ndarray:
    """Unique, syntactically valid fake resident IDs: 330483 + YYYYMMDD + seq + check."""
    n = len(birth)
    ymd = pd.DatetimeIndex(birth).strftime("%Y%m%d").to_numpy(dtype=object)
    key = pd.Series(ymd) + np.where(male, "M", "F")
    k = key.groupby(key).cumcount().to_numpy()
    start = rng.integers(0, 499, n)
    start = pd.Series(start).groupby(key).transform("first").to_numpy()
    seq = 2 * ((start + k) % 499) + np.where(male, 1, 2)
    first17 = COUNTY_CODE + ymd + pd.Series(seq).map("{:03d}".format).to_numpy(dtype=object)
    digits = np.frombuffer("".join(first17).encode("ascii"), dtype=np.uint8).reshape(n, 17)
    total = ((digits - 48).astype(np.int64) * ID_WEIGHTS).sum(1)
    check = np.array(list(ID_CHECK), dtype=object)[total % 11]
    return (first17 + check).astype(object)


def phones(rng: np.random.Generator, n: int) -> np.ndarray:
    """Unique, valid-looking 11-digit mobile numbers."""
    num = MOBILE_PREFIXES[rng.integers(len(MOBILE_PREFIXES), size=n)] * 10**8 + rng.integers(
        0, 10**8, n)
    for _ in range(20):
        _, first = np.unique(num, return_index=True)
        dup = np.ones(n, bool)
        dup[first] = False
        if not dup.any():
            break
        num[dup] = MOBILE_PREFIXES[rng.integers(len(MOBILE_PREFIXES), size=dup.sum())] * 10**8 \
            + rng.integers(0, 10**8, dup.sum())
    return num.astype(str).astype(object)
