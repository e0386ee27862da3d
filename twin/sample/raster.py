"""The sample twin's rasters: a bare-earth DEM and an aerial-looking image, as COGs.

``write_sample_rasters(sample, folder)`` renders both from the sample's land use and
buildings in :data:`~geodata.crs.METRIC_CRS` (metres) and writes ``dem.tif`` and
``imagery.tif``. The DEM is a Jiangnan water-country plain: land 2–6 m above sea level with
relief of a few metres over kilometres, paddies and ponds flat, the canal network at one
level (~1.1–1.4 m), roads and house plots raised a little. Buildings are not in the DEM (they
are extruded from their footprints); they are roofs, with shadows, in the image. Pixels
outside the county are nodata (DEM) or transparent (image). Same sample → same bytes.
"""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from affine import Affine
from rasterio import features

from geodata.crs import METRIC_CRS
from geodata.raster import array_to_cog
from twin.sample.common import rng_for
from twin.sample.generate import SampleTwin

DEM_NODATA = -9999.0

DEFAULT_RESOLUTION_M = {  # scale → (DEM, imagery) ground resolution in metres
    "village": (10.0, 2.0),
    "town": (10.0, 4.0),
    "county": (20.0, 8.0),
}

_TREND_ORIGIN = (545_000.0, 3_390_000.0)  # METRIC_CRS metres, about Tongxiang's centre

WATER_LEVEL_M = 1.25
"""Mean level of the canal and pond network (m above sea level)."""

_RAISE_M = {"road": 0.6, "homestead": 0.5, "construction": 0.35, "forest": 0.2, "garden": 0.1,
            "farmland": 0.0, "water": 0.0}

_CLASSES = ("farmland", "homestead", "forest", "water", "construction", "road", "garden")

# Base colours (RGB) per land-use class; several per class, one drawn per parcel.
_GROUND = {
    "farmland": [(84, 124, 56), (112, 146, 66), (98, 136, 60), (150, 146, 82), (128, 112, 80),
                 (104, 130, 92)],
    "homestead": [(148, 138, 122), (156, 148, 132), (138, 132, 118)],
    "forest": [(38, 64, 38), (46, 72, 42), (34, 58, 36)],
    "water": [(60, 86, 96), (66, 92, 98), (56, 80, 92)],
    "construction": [(176, 172, 162), (164, 156, 142), (186, 182, 174)],
    "road": [(136, 134, 128), (150, 148, 142)],
    "garden": [(88, 120, 64), (100, 128, 70), (80, 112, 60)],
}
_FARMLAND_WEIGHTS = [0.3, 0.22, 0.2, 0.1, 0.08, 0.1]
_TEXTURE = {"farmland": 6, "forest": 14, "garden": 12, "homestead": 5, "construction": 4,
            "road": 3, "water": 2}  # amplitude (RGB levels) of per-pixel noise

_ROOFS = np.array([(104, 104, 110), (82, 84, 90), (156, 86, 62), (76, 106, 146),
                   (194, 192, 186)], dtype=np.float32)
_ROOF_WEIGHTS = {  # building use → weights over _ROOFS
    "residential": [0.45, 0.2, 0.25, 0.03, 0.07],
    "agricultural": [0.4, 0.2, 0.2, 0.1, 0.1],
    "commercial": [0.25, 0.15, 0.1, 0.2, 0.3],
    "industrial": [0.1, 0.1, 0.05, 0.45, 0.3],
    "public": [0.3, 0.2, 0.2, 0.1, 0.2],
}


def default_resolution(scale: str) -> tuple[float, float]:
    """``(DEM, imagery)`` resolution in metres used for a sample of ``scale``."""
    return DEFAULT_RESOLUTION_M.get(scale, DEFAULT_RESOLUTION_M["county"])


def write_sample_rasters(sample: SampleTwin, folder: str | Path, *,
                         resolution_m: float | None = None,
                         imagery_resolution_m: float | None = None) -> dict[str, Path]:
    """Write ``dem.tif`` and ``imagery.tif`` COGs of ``sample`` into ``folder``.

    ``resolution_m`` is the DEM's and ``imagery_resolution_m`` the image's ground resolution
    in metres (defaults by scale: :data:`DEFAULT_RESOLUTION_M`). Both are in
    :data:`~geodata.crs.METRIC_CRS`. Returns ``{"dem": path, "imagery": path}``.
    """
    folder = Path(folder)
    dem_res, img_res = default_resolution(sample.scale)
    dem_res = float(resolution_m or dem_res)
    img_res = float(imagery_resolution_m or img_res)
    scene = Scene.from_sample(sample)
    dem, dem_transform = render_dem(scene, dem_res)
    dem_path = array_to_cog(dem, folder / "dem.tif", transform=dem_transform, crs=METRIC_CRS,
                            kind="dem", nodata=DEM_NODATA)
    img, img_transform = render_imagery(scene, img_res)
    img_path = array_to_cog(img, folder / "imagery.tif", transform=img_transform,
                            crs=METRIC_CRS, kind="imagery")
    return {"dem": dem_path, "imagery": img_path}


class Scene:
    """The sample's geometry in METRIC_CRS, as the renderers need it (``Scene.from_sample``)."""

    def __init__(self, seed: int, outline: np.ndarray, parcels: np.ndarray,
                 parcel_class: np.ndarray, buildings: np.ndarray, b_height: np.ndarray,
                 b_use: np.ndarray) -> None:
        self.seed = seed
        self.outline = outline
        self.parcels = parcels
        self.parcel_class = parcel_class  # index into _CLASSES
        self.buildings = buildings
        self.b_height = b_height
        self.b_use = b_use
        self.bounds = tuple(float(v) for v in shapely.total_bounds(outline))

    @classmethod
    def from_sample(cls, sample: SampleTwin) -> Scene:
        units = sample.units
        roots = units[units["parent_id"].isna()] if "parent_id" in units else units
        land = sample.land
        class_idx = {c: i for i, c in enumerate(_CLASSES)}
        pclass = np.array([class_idx.get(c, 0) for c in land["use_class"]], dtype=np.int16)
        b = sample.buildings
        return cls(
            seed=sample.seed,
            outline=_metric(roots),
            parcels=_metric(land),
            parcel_class=pclass,
            buildings=_metric(b),
            b_height=b["height_m"].to_numpy(float) if "height_m" in b else np.full(len(b), 8.0),
            b_use=b["use"].to_numpy(object) if "use" in b else np.full(len(b), "residential"),
        )

    def grid(self, res: float) -> tuple[Affine, tuple[int, int]]:
        """Transform and ``(rows, cols)`` of a ``res``-metre grid covering the scene."""
        minx, miny, maxx, maxy = self.bounds
        x0, y1 = math.floor(minx / res) * res, math.ceil(maxy / res) * res
        cols = max(1, math.ceil((maxx - x0) / res))
        rows = max(1, math.ceil((y1 - miny) / res))
        return Affine(res, 0.0, x0, 0.0, -res, y1), (rows, cols)

    def inside(self, transform: Affine, shape: tuple[int, int]) -> np.ndarray:
        """Boolean mask of the pixels inside the county outline."""
        return features.rasterize(((g, 1) for g in self.outline), out_shape=shape,
                                  transform=transform, fill=0, dtype="uint8").astype(bool)

    def parcel_ids(self, transform: Affine, shape: tuple[int, int]) -> np.ndarray:
        """Per pixel: 1 + the index of the land parcel under it (0 = none)."""
        return _rasterize_ids(self.parcels, transform, shape)


def _metric(gdf: gpd.GeoDataFrame) -> np.ndarray:
    return np.asarray(gdf.to_crs(METRIC_CRS).geometry.to_numpy(), dtype=object)


def _rasterize_ids(geoms: np.ndarray, transform: Affine, shape: tuple[int, int]) -> np.ndarray:
    if len(geoms) == 0:
        return np.zeros(shape, dtype=np.int32)
    return features.rasterize(zip(geoms, range(1, len(geoms) + 1), strict=True),
                              out_shape=shape, transform=transform, fill=0, dtype="int32")


def _coords(transform: Affine, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre x (1, cols) and y (rows, 1) in metres, for broadcasting."""
    rows, cols = shape
    x = transform.c + transform.a * (np.arange(cols) + 0.5)
    y = transform.f + transform.e * (np.arange(rows) + 0.5)
    return x[np.newaxis, :], y[:, np.newaxis]


def _relief(seed: int, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Gentle low-frequency relief (m, mostly within ±2) as a function of METRIC_CRS position."""
    rng = rng_for(seed, "raster-relief")
    out = np.zeros(np.broadcast_shapes(x.shape, y.shape), dtype=np.float32)
    for _ in range(6):
        wavelength = rng.uniform(2_000, 12_000)
        theta = rng.uniform(0, 2 * math.pi)
        k = 2 * math.pi / wavelength
        amp = rng.uniform(0.15, 0.4)
        phase = rng.uniform(0, 2 * math.pi)
        # x and y are ~10⁵–10⁶ m: reduce modulo a wavelength in float64 before sin
        out += (amp * np.sin((k * math.cos(theta) * x) % (2 * math.pi)
                             + (k * math.sin(theta) * y) % (2 * math.pi) + phase)
                ).astype(np.float32)
    trend = rng.uniform(-0.6, 0.6, size=2) / 20_000.0  # ±0.6 m per 20 km
    out += (trend[0] * (x - _TREND_ORIGIN[0]) + trend[1] * (y - _TREND_ORIGIN[1])).astype(
        np.float32)
    return out


def render_dem(scene: Scene, res: float) -> tuple[np.ndarray, Affine]:
    """Heights (float32, m above sea level; :data:`DEM_NODATA` outside) and their transform."""
    transform, shape = scene.grid(res)
    inside = scene.inside(transform, shape)
    pid = scene.parcel_ids(transform, shape)
    x, y = _coords(transform, shape)
    land = 3.6 + _relief(scene.seed, x, y)
    n = len(scene.parcels) + 1
    rng = rng_for(scene.seed, "raster-dem", n)
    cls = np.concatenate([[0], scene.parcel_class])  # no parcel → farmland
    # paddies and ponds are flat: their parcel's mean relief plus a small offset
    counts = np.bincount(pid.ravel(), minlength=n)
    mean = np.bincount(pid.ravel(), weights=land.ravel(), minlength=n) / np.maximum(counts, 1)
    raise_m = np.array([_RAISE_M[c] for c in _CLASSES], dtype=np.float32)[cls]
    offset = rng.uniform(-0.12, 0.12, n).astype(np.float32)
    water = cls == _CLASSES.index("water")
    flat = (cls == _CLASSES.index("farmland")) | water
    level = np.where(water, WATER_LEVEL_M + offset, mean + offset + raise_m)
    heights = np.where(flat[pid], level[pid], np.clip(land, 2.2, 6.0) + raise_m[pid])
    heights = np.where(flat[pid] & ~water[pid], np.clip(heights, 2.2, 6.0), heights)
    return np.where(inside, heights, DEM_NODATA).astype(np.float32), transform


def render_imagery(scene: Scene, res: float) -> tuple[np.ndarray, Affine]:
    """An RGBA uint8 ``(4, rows, cols)`` image (alpha 0 outside) and its transform."""
    transform, shape = scene.grid(res)
    inside = scene.inside(transform, shape)
    pid = scene.parcel_ids(transform, shape)
    n = len(scene.parcels) + 1
    rng = rng_for(scene.seed, "raster-imagery", n)
    cls = np.concatenate([[0], scene.parcel_class])

    # one colour per parcel, drawn from its class's palette, with a little jitter
    colour = np.zeros((n, 3), dtype=np.float32)
    for ci, name in enumerate(_CLASSES):
        members = np.flatnonzero(cls == ci)
        palette = np.array(_GROUND[name], dtype=np.float32)
        weights = _FARMLAND_WEIGHTS if name == "farmland" else None
        choice = rng.choice(len(palette), size=len(members), p=weights)
        colour[members] = palette[choice] + rng.uniform(-7, 7, (len(members), 1))
    texture = np.array([_TEXTURE[c] for c in _CLASSES], dtype=np.float32)[cls]

    # crop rows: stripes across each field, in the field's own direction
    x, y = _coords(transform, shape)
    angle = rng.uniform(0, math.pi, n).astype(np.float32)
    period = max(7.0, 3.0 * res)
    farm = (cls == _CLASSES.index("farmland")).astype(np.float32) * 0.07
    xs, ys = (x % 10_000).astype(np.float32), (y % 10_000).astype(np.float32)
    u = np.cos(angle)[pid] * xs
    u += np.sin(angle)[pid] * ys
    u *= np.float32(2 * math.pi / period)
    shade = np.sin(u, out=u)
    shade *= farm[pid]
    shade += 1.0

    noise = rng.standard_normal(shape, dtype=np.float32)
    noise *= 0.5 * texture[pid]
    bid, roof, light = _buildings(scene, transform, shape, res, rng)
    built = bid > 0
    out = np.empty((4, *shape), dtype=np.uint8)
    for c in range(3):  # one band at a time keeps the county's peak memory low
        band = colour[:, c][pid] * shade + noise
        band = np.where(built, roof[:, c][bid], band) * light
        np.clip(np.rint(band), 0, 255, out=band)
        out[c] = np.where(inside, band, 0)
    out[3] = np.where(inside, 255, 0)
    return out, transform


def _buildings(scene: Scene, transform: Affine, shape: tuple[int, int], res: float,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Building ids per pixel (0 = none), roof colours per id, and a light factor per pixel.

    The light factor darkens shadows, cast to the north-east by a sun in the south-west,
    and lights the south edge of a roof and shades its north edge.
    """
    nb = len(scene.buildings)
    bid = _rasterize_ids(scene.buildings, transform, shape)
    light = np.ones(shape, dtype=np.float32)
    roof = np.zeros((nb + 1, 3), dtype=np.float32)
    if nb == 0:
        return bid, roof, light
    uses = np.asarray(scene.b_use, dtype=object)
    for use in np.unique(uses):
        members = np.flatnonzero(uses == use) + 1
        weights = np.array(_ROOF_WEIGHTS.get(use, _ROOF_WEIGHTS["residential"]))
        roof[members] = _ROOFS[rng.choice(len(_ROOFS), size=len(members),
                                          p=weights / weights.sum())]
    roof[1:] *= rng.uniform(0.9, 1.08, (nb, 1)).astype(np.float32)
    height = np.concatenate([[0.0], np.asarray(scene.b_height, dtype=np.float32)])

    h = height[bid].astype(np.float32)
    built = bid > 0
    # a pixel is in shadow if a building k pixels to its south-west is taller than 2·k·res
    shadow = np.zeros(shape, dtype=bool)
    steps = min(12, math.ceil(float(height.max()) * 0.5 / res))
    for k in range(1, steps + 1):
        shadow[:-k, k:] |= h[k:, :-k] * 0.5 >= k * res
    light[shadow & ~built] = 0.62
    edge = built[:-1] & (bid[:-1] != bid[1:])
    light[:-1][edge] = 1.1  # south edge of a roof: facing the sun
    edge = built[1:] & (bid[1:] != bid[:-1])
    light[1:][edge] = 0.85  # north edge: away from it
    return bid, roof, light
