"""Tests of the raster code: COG writing, terrain-RGB and imagery tiles, the sample rasters.

Tiny rasters are built in the test (EPSG:4549, EPSG:4326, a WKT-only CRS); two small real
files come from ``tests/data`` (``REAL``). No database, no web framework.
"""

from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import morecantile
import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio import features
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile
from rasterio.warp import transform as warp_transform
from rio_cogeo.cogeo import cog_validate
from rio_tiler.io import Reader

from geodata import raster
from geodata.crs import METRIC_CRS
from geodata.raster import (
    RasterError,
    RasterNotFound,
    TileOutsideBounds,
    decode_terrain_rgb,
    encode_terrain_rgb,
    imagery_tile,
    raster_info,
    terrain_tile,
    to_cog,
)
from tests.conftest import REAL
from twin.sample.generate import SampleTwin, generate
from twin.sample.raster import (
    DEM_NODATA,
    Scene,
    render_dem,
    render_imagery,
    write_sample_rasters,
)

ELEVATION_SF = REAL / "elevation_sf.tif"  # int16, EPSG:4326 (as WKT), nodata -32768
LANDSAT = REAL / "landsat_rgb_utm18n.tif"  # uint8 RGB, EPSG:32618, nodata 0

TMS = morecantile.tms.get("WebMercatorQuad")
LOCAL_TM_WKT = (  # a CRS with no EPSG code: transverse Mercator on Tongxiang
    'PROJCS["Tongxiang local TM",GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",'
    '6378137,298.257223563]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]],'
    'PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",30.6],'
    'PARAMETER["central_meridian",120.5],PARAMETER["scale_factor",1],'
    'PARAMETER["false_easting",1000],PARAMETER["false_northing",1000],UNIT["metre",1]]'
)


# --- helpers --------------------------------------------------------------------------------
def write_tif(path: Path, data: np.ndarray, *, crs, transform: Affine, nodata=None,
              **extra) -> Path:
    """A plain (striped, not cloud-optimized) GeoTIFF."""
    data = data[np.newaxis] if data.ndim == 2 else data
    with rasterio.open(path, "w", driver="GTiff", count=data.shape[0], height=data.shape[1],
                       width=data.shape[2], dtype=data.dtype, crs=crs, transform=transform,
                       nodata=nodata, **extra) as dst:
        dst.write(data)
    return path


def decode_png(data: bytes) -> np.ndarray:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with MemoryFile(data) as mem, mem.open() as src:
            assert src.driver == "PNG"
            return src.read()


def ramp(rows: int, cols: int, *, base: float, dx: float, dy: float) -> np.ndarray:
    r, c = np.mgrid[0:rows, 0:cols]
    return (base + dx * c + dy * r).astype(np.float32)


def tile_pixel_lonlat(tile: morecantile.Tile, cols: np.ndarray, rows: np.ndarray,
                      tilesize: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Longitude/latitude of the centres of tile pixels (col, row)."""
    b = TMS.xy_bounds(tile)
    size = (b.right - b.left) / tilesize
    xs = b.left + (cols + 0.5) * size
    ys = b.top - (rows + 0.5) * size
    lon, lat = warp_transform("EPSG:3857", "EPSG:4326", xs.tolist(), ys.tolist())
    return np.array(lon), np.array(lat)


def bilinear_at(path: Path, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Source heights interpolated bilinearly at lon/lat (NaN where a neighbour is nodata)."""
    with rasterio.open(path) as src:
        a = src.read(1, masked=True).astype(np.float64).filled(np.nan)
        xs, ys = warp_transform("EPSG:4326", src.crs, lon.tolist(), lat.tolist())
        col, row = ~src.transform @ (np.array(xs), np.array(ys))
    fx, fy = col - 0.5, row - 0.5
    c0, r0 = np.floor(fx).astype(int), np.floor(fy).astype(int)
    tx, ty = fx - c0, fy - r0
    c0 = np.clip(c0, 0, a.shape[1] - 2)
    r0 = np.clip(r0, 0, a.shape[0] - 2)
    return ((1 - tx) * (1 - ty) * a[r0, c0] + tx * (1 - ty) * a[r0, c0 + 1]
            + (1 - tx) * ty * a[r0 + 1, c0] + tx * ty * a[r0 + 1, c0 + 1])


def assert_tile_heights(cog: Path, src: Path, lon: float, lat: float, z: int) -> None:
    """The tile over (lon, lat) decodes to the source heights within 0.1 m at 5×5 pixels."""
    tile = TMS.tile(lon, lat, z)
    heights = decode_terrain_rgb(decode_png(terrain_tile(cog, tile.z, tile.x, tile.y)))
    assert heights.shape == (256, 256)
    cols, rows = np.meshgrid(np.arange(28, 256, 50), np.arange(28, 256, 50))
    cols, rows = cols.ravel(), rows.ravel()
    expected = bilinear_at(src, *tile_pixel_lonlat(tile, cols, rows))
    ok = ~np.isnan(expected)
    assert ok.sum() >= 20
    np.testing.assert_allclose(heights[rows, cols][ok], expected[ok], atol=0.1)


# --- fixtures -------------------------------------------------------------------------------
@pytest.fixture
def dem_4549(tmp_path: Path) -> Path:
    """64×48 float32 ramp at 10 m near Tongxiang, nodata in the top-left 8×8 corner."""
    data = ramp(48, 64, base=2.0, dx=0.2, dy=0.15)
    data[:8, :8] = -9999.0
    return write_tif(tmp_path / "dem_4549.tif", data, crs="EPSG:4549", nodata=-9999.0,
                     transform=Affine(10, 0, 545_000, 0, -10, 3_402_000))


@pytest.fixture
def dem_4326(tmp_path: Path) -> Path:
    """40×40 int16 ramp, 0.0001° pixels, nodata -32768."""
    data = ramp(40, 40, base=100, dx=3, dy=-2).astype(np.int16)
    return write_tif(tmp_path / "dem_4326.tif", data, crs="EPSG:4326", nodata=-32768,
                     transform=Affine(0.0001, 0, 120.49, 0, -0.0001, 30.73))


@pytest.fixture
def rgba_4326(tmp_path: Path) -> Path:
    """32×32 RGBA with an alpha of 0 on its left half."""
    data = np.full((4, 32, 32), 120, dtype=np.uint8)
    data[3] = 255
    data[3, :, :16] = 0
    return write_tif(tmp_path / "rgba.tif", data, crs="EPSG:4326", photometric="RGB",
                     extra_samples=[2], transform=Affine(0.0002, 0, 120.49, 0, -0.0002, 30.73))


# --- to_cog ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["dem_4549", "dem_4326"])
def test_to_cog_dem_is_a_valid_float32_cog_keeping_crs_and_nodata(request, tmp_path, name):
    src = request.getfixturevalue(name)
    out = to_cog(src, tmp_path / "out" / "dem.tif", kind="dem")
    valid, errors, _ = cog_validate(str(out))
    assert valid, errors
    with rasterio.open(src) as s, rasterio.open(out) as d:
        assert d.dtypes == ("float32",)
        assert d.crs == s.crs
        assert d.nodata == s.nodata
        assert d.profile["compress"] == "deflate"
        np.testing.assert_array_equal(d.read(1), s.read(1).astype(np.float32))


def test_to_cog_real_files(tmp_path):
    dem = to_cog(ELEVATION_SF, tmp_path / "sf.tif", kind="dem")
    img = to_cog(LANDSAT, tmp_path / "landsat.tif", kind="imagery")
    for path in (dem, img):
        valid, errors, _ = cog_validate(str(path))
        assert valid, errors
    with rasterio.open(dem) as d:
        assert (d.dtypes[0], d.nodata, d.crs.to_epsg()) == ("float32", -32768.0, 4326)
    with rasterio.open(img) as d, rasterio.open(LANDSAT) as s:
        assert (d.count, d.dtypes[0], d.nodata, d.crs.to_epsg()) == (3, "uint8", 0.0, 32618)
        assert d.overviews(1), "a 791×718 image gets overviews"
        np.testing.assert_array_equal(d.read(), s.read())


def test_to_cog_keeps_a_wkt_only_crs(tmp_path):
    src = write_tif(tmp_path / "local.tif", ramp(20, 20, base=3, dx=0.1, dy=0.1),
                    crs=rasterio.CRS.from_wkt(LOCAL_TM_WKT),
                    transform=Affine(5, 0, 900, 0, -5, 1100))
    out = to_cog(src, tmp_path / "local_cog.tif", kind="dem")
    info = raster_info(out)
    assert info["crs"].startswith("PROJCS") or info["crs"].startswith("PROJCRS")
    west, south, east, north = info["bounds"]
    assert west < 120.5 < east and south < 30.6 < north


def test_to_cog_rgba_keeps_alpha(tmp_path, rgba_4326):
    out = to_cog(rgba_4326, tmp_path / "rgba_cog.tif", kind="imagery")
    with rasterio.open(out) as d:
        assert d.count == 4
        assert d.colorinterp[3] == rasterio.enums.ColorInterp.alpha


def test_to_cog_declares_an_untagged_fourth_band_as_alpha(tmp_path):
    data = np.full((4, 16, 16), 90, dtype=np.uint8)
    data[3, :8] = 0
    src = write_tif(tmp_path / "four.tif", data, crs="EPSG:4326",
                    transform=Affine(0.0002, 0, 120.49, 0, -0.0002, 30.73))
    out = to_cog(src, tmp_path / "four_cog.tif", kind="imagery")
    with rasterio.open(out) as d:
        assert d.colorinterp[3] == rasterio.enums.ColorInterp.alpha
        assert not d.dataset_mask()[:8].any() and d.dataset_mask()[8:].all()


# --- bad inputs -----------------------------------------------------------------------------
def test_not_a_raster(tmp_path):
    bad = tmp_path / "notes.tif"
    bad.write_text("not a raster")
    with pytest.raises(RasterError, match=r"notes\.tif: not a raster"):
        to_cog(bad, tmp_path / "x.tif", kind="dem")


def test_missing_file(tmp_path):
    with pytest.raises(RasterNotFound, match="nothing.tif: no such file"):
        to_cog(tmp_path / "nothing.tif", tmp_path / "x.tif", kind="dem")
    with pytest.raises(RasterNotFound):
        terrain_tile(tmp_path / "nothing.tif", 10, 0, 0)


def test_no_crs(tmp_path):
    src = tmp_path / "nocrs.tif"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        dst = rasterio.open(src, "w", driver="GTiff", count=1, height=4, width=4,
                            dtype="float32")
    with dst:
        dst.write(np.ones((1, 4, 4), dtype=np.float32))
    with pytest.raises(RasterError, match=r"nocrs\.tif: no CRS"):
        to_cog(src, tmp_path / "x.tif", kind="dem")


def test_wrong_band_count(tmp_path, dem_4549, rgba_4326):
    with pytest.raises(RasterError, match=r"rgba\.tif: a DEM needs exactly 1 band, found 4"):
        to_cog(rgba_4326, tmp_path / "x.tif", kind="dem")
    with pytest.raises(RasterError, match=r"dem_4549\.tif: imagery needs 3 bands .* found 1"):
        to_cog(dem_4549, tmp_path / "x.tif", kind="imagery")


def test_imagery_must_be_8_bit(tmp_path):
    src = write_tif(tmp_path / "u16.tif", np.ones((3, 8, 8), dtype=np.uint16), crs="EPSG:4326",
                    transform=Affine(0.001, 0, 120, 0, -0.001, 30))
    with pytest.raises(RasterError, match=r"u16\.tif: imagery needs 8-bit bands"):
        to_cog(src, tmp_path / "x.tif", kind="imagery")


def test_empty_raster(tmp_path):
    src = write_tif(tmp_path / "empty.tif", np.full((600, 600), -1.0, dtype=np.float32),
                    crs="EPSG:4549", nodata=-1.0, transform=Affine(10, 0, 545_000, 0, -10, 3.4e6))
    with pytest.raises(RasterError, match=r"empty\.tif: empty raster"):
        to_cog(src, tmp_path / "x.tif", kind="dem")
    assert not (tmp_path / "x.tif").exists()


def test_unknown_kind(tmp_path, dem_4549):
    with pytest.raises(ValueError, match="unknown raster kind"):
        to_cog(dem_4549, tmp_path / "x.tif", kind="lidar")  # type: ignore[arg-type]


# --- terrain-RGB ----------------------------------------------------------------------------
def test_terrain_rgb_encoding_round_trips_to_a_tenth_of_a_metre():
    h = np.array([[-10000.0, -0.05, 0.0, 1.25], [3.14159, 8848.86, 123.456, 2.0]])
    rgb = encode_terrain_rgb(h)
    assert rgb.dtype == np.uint8 and rgb.shape == (3, 2, 4)
    assert tuple(rgb[:, 0, 2]) == (1, 134, 160)  # v = 100000 = 0x0186A0
    np.testing.assert_allclose(decode_terrain_rgb(rgb), h, atol=0.05 + 1e-9)
    d = raster.TERRAIN_RGB_DECODER  # the deck.gl decoder reads the same numbers
    r, g, b = (rgb[i].astype(float) for i in range(3))
    np.testing.assert_allclose(r * d["rScaler"] + g * d["gScaler"] + b * d["bScaler"]
                               + d["offset"], decode_terrain_rgb(rgb), atol=1e-6)


def test_terrain_tile_decodes_to_source_heights_4549(tmp_path, dem_4549):
    cog = to_cog(dem_4549, tmp_path / "dem.tif", kind="dem")
    lon, lat = raster_info(cog)["center"][:2]
    assert_tile_heights(cog, dem_4549, lon, lat, 17)


def test_terrain_tile_decodes_to_source_heights_4326(tmp_path, dem_4326):
    cog = to_cog(dem_4326, tmp_path / "dem.tif", kind="dem")
    assert_tile_heights(cog, dem_4326, 120.4915, 30.7285, 17)


def test_terrain_tile_decodes_to_source_heights_real(tmp_path):
    cog = to_cog(ELEVATION_SF, tmp_path / "sf.tif", kind="dem")
    with rasterio.open(ELEVATION_SF) as src:  # the centres of a few known pixels
        points = [src.xy(r, c) for r, c in ((5, 5), (18, 12), (30, 20))]
    for lon, lat in points:
        assert_tile_heights(cog, ELEVATION_SF, lon, lat, 18)


def test_terrain_tile_nodata_becomes_sea_level(tmp_path, dem_4549):
    cog = to_cog(dem_4549, tmp_path / "dem.tif", kind="dem")
    with rasterio.open(dem_4549) as src:  # the centre of the nodata corner
        lon, lat = warp_transform(src.crs, "EPSG:4326", *map(list, zip(src.xy(3, 3),
                                                                      strict=True)))
    tile = TMS.tile(lon[0], lat[0], 18)
    heights = decode_terrain_rgb(decode_png(terrain_tile(cog, tile.z, tile.x, tile.y)))
    assert (heights == 0).mean() > 0.5
    assert heights.max() < 10


def test_tiles_outside_the_raster_raise(tmp_path, dem_4549, rgba_4326):
    cog = to_cog(dem_4549, tmp_path / "dem.tif", kind="dem")
    img = to_cog(rgba_4326, tmp_path / "img.tif", kind="imagery")
    with pytest.raises(TileOutsideBounds):
        terrain_tile(cog, 12, 0, 0)
    with pytest.raises(TileOutsideBounds):
        imagery_tile(img, 12, 0, 0)
    with pytest.raises(TileOutsideBounds):
        terrain_tile(cog, 3, 8, 0)  # no such tile


def test_readers_pick_up_a_rewritten_file(tmp_path, dem_4549):
    cog = to_cog(dem_4549, tmp_path / "dem.tif", kind="dem")
    lon, lat = raster_info(cog)["center"][:2]
    tile = TMS.tile(lon, lat, 16)
    before = decode_terrain_rgb(decode_png(terrain_tile(cog, tile.z, tile.x, tile.y)))
    with rasterio.open(dem_4549) as src:
        data, profile = src.read(1), src.profile
    data[data != -9999.0] += 1.0
    with rasterio.open(tmp_path / "up.tif", "w", **profile) as dst:
        dst.write(data, 1)
    to_cog(tmp_path / "up.tif", cog, kind="dem")
    st = cog.stat()
    os.utime(cog, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # coarse-mtime filesystems
    after = decode_terrain_rgb(decode_png(terrain_tile(cog, tile.z, tile.x, tile.y)))
    valid = before > 0.5
    np.testing.assert_allclose(after[valid] - before[valid], 1.0, atol=0.11)


def test_tiles_are_the_same_from_many_threads(tmp_path, dem_4549):
    cog = to_cog(dem_4549, tmp_path / "dem.tif", kind="dem")
    lon, lat = raster_info(cog)["center"][:2]
    tiles = [TMS.tile(lon, lat, z) for z in (14, 15, 16, 17)] * 6
    serial = [terrain_tile(cog, t.z, t.x, t.y) for t in tiles]
    with ThreadPoolExecutor(8) as pool:
        parallel = list(pool.map(lambda t: terrain_tile(cog, t.z, t.x, t.y), tiles))
    assert parallel == serial


# --- imagery --------------------------------------------------------------------------------
def test_imagery_tile_alpha_follows_the_alpha_band(tmp_path, rgba_4326):
    img = to_cog(rgba_4326, tmp_path / "img.tif", kind="imagery")
    # the raster spans 120.49–120.4964°E; its left half (west of 120.4932) is transparent
    tile = TMS.tile(120.4932, 30.7268, 17)
    rgba = decode_png(imagery_tile(img, tile.z, tile.x, tile.y))
    assert rgba.shape == (4, 256, 256)
    lon, _ = tile_pixel_lonlat(tile, np.arange(256), np.full(256, 128))
    row = rgba[3, 128]
    assert (row[lon < 120.4930] == 0).all()
    assert (row[(lon > 120.4934) & (lon < 120.4962)] == 255).all()
    assert (rgba[:3, 128][:, row == 255] == 120).all()


def test_imagery_tile_alpha_is_zero_outside_data(tmp_path):
    img = to_cog(LANDSAT, tmp_path / "landsat.tif", kind="imagery")
    with rasterio.open(LANDSAT) as src:
        valid = src.dataset_mask() > 0
        crs, inverse = src.crs, ~src.transform
    # the source mask, shrunk and grown by one pixel: tile pixels there are surely in or out
    pad = np.pad(valid, 1)
    around = [pad[1 + dr:pad.shape[0] - 1 + dr, 1 + dc:pad.shape[1] - 1 + dc]
              for dr in (-1, 0, 1) for dc in (-1, 0, 1)]
    surely_in, surely_out = np.logical_and.reduce(around), ~np.logical_or.reduce(around)
    cols, rows = (a.ravel() for a in np.meshgrid(np.arange(4, 256, 8), np.arange(4, 256, 8)))
    seen = {"in": 0, "out": 0}
    for tile in TMS.tiles(*raster_info(img)["bounds"], zooms=[8]):
        try:
            rgba = decode_png(imagery_tile(img, tile.z, tile.x, tile.y))
        except TileOutsideBounds:
            continue
        lon, lat = tile_pixel_lonlat(tile, cols, rows)
        xs, ys = warp_transform("EPSG:4326", crs, lon.tolist(), lat.tolist())
        c, r = (np.floor(v).astype(int) for v in inverse @ (np.array(xs), np.array(ys)))
        inside = (r >= 0) & (r < valid.shape[0]) & (c >= 0) & (c < valid.shape[1])
        rc, cc = np.clip(r, 0, valid.shape[0] - 1), np.clip(c, 0, valid.shape[1] - 1)
        alpha = rgba[3, rows, cols]
        out = ~inside | surely_out[rc, cc]
        assert (alpha[out] == 0).all()
        assert (alpha[inside & surely_in[rc, cc]] == 255).all()
        seen["in"] += int((inside & surely_in[rc, cc]).sum())
        seen["out"] += int(out.sum())
    assert seen["in"] > 100 and seen["out"] > 100


def test_raster_info(tmp_path, dem_4549):
    cog = to_cog(dem_4549, tmp_path / "dem.tif", kind="dem")
    info = raster_info(cog)
    assert info["crs"] == "EPSG:4549"
    assert (info["count"], info["dtype"], info["nodata"]) == (1, "float32", -9999.0)
    west, south, east, north = info["bounds"]
    assert 120.4 < west < east < 120.6 and 30.6 < south < north < 30.8
    assert 0 <= info["minzoom"] <= info["maxzoom"] <= 22
    assert info["maxzoom"] in (13, 14)  # 10 m pixels
    assert west <= info["center"][0] <= east


# --- the sample's rasters -------------------------------------------------------------------
@pytest.fixture(scope="module")
def village() -> SampleTwin:
    return generate("village", seed=0)


@pytest.fixture(scope="module")
def village_rasters(village, tmp_path_factory) -> dict[str, Path]:
    return write_sample_rasters(village, tmp_path_factory.mktemp("rasters"))


def _rasterize(gdf, src) -> np.ndarray:
    geoms = gdf.to_crs(METRIC_CRS).geometry
    return features.rasterize(((g, 1) for g in geoms), out_shape=src.shape,
                              transform=src.transform, fill=0, dtype="uint8").astype(bool)


def test_sample_rasters_are_cogs_in_the_metric_crs(village_rasters):
    assert set(village_rasters) == {"dem", "imagery"}
    for path in village_rasters.values():
        valid, errors, _ = cog_validate(str(path))
        assert valid, errors
        with rasterio.open(path) as src:
            assert src.crs.to_epsg() == 4549
    with rasterio.open(village_rasters["dem"]) as d, \
            rasterio.open(village_rasters["imagery"]) as i:
        assert d.res == (10.0, 10.0) and d.dtypes[0] == "float32" and d.nodata == DEM_NODATA
        assert i.res == (2.0, 2.0) and i.count == 4 and i.dtypes[0] == "uint8"


def test_sample_dem_is_a_low_plain_with_water_below_land(village, village_rasters):
    with rasterio.open(village_rasters["dem"]) as src:
        h = src.read(1, masked=True)
        land = village.land
        water = _rasterize(land[land["use_class"] == "water"], src)
        dry = _rasterize(land[land["use_class"] != "water"], src)
        county = _rasterize(village.units, src)
    valid = ~np.ma.getmaskarray(h)
    assert valid[county].mean() > 0.98 and not valid[~county].any()
    hv = h.compressed()
    assert 0 < hv.min() and hv.max() < 10
    assert 2.0 < np.median(hv) < 6.0
    w, d = h.data[water & valid], h.data[dry & ~water & valid]
    assert w.size > 20 and d.size > 1000
    assert w.mean() < d.mean() - 1.0
    assert 1.0 <= np.median(w) <= 1.5


def test_sample_imagery_is_opaque_inside_the_county(village, village_rasters):
    with rasterio.open(village_rasters["imagery"]) as src:
        a = src.read()
        county = _rasterize(village.units, src)
    alpha = a[3]
    assert (alpha[county] > 0).mean() > 0.97
    assert (alpha[~county] == 0).mean() > 0.97
    rgb = a[:3][:, alpha > 0].astype(int)
    assert rgb.std(axis=1).min() > 10  # varied, not one flat colour
    green = (rgb[1] > rgb[0]) & (rgb[1] > rgb[2])
    assert 0.2 < green.mean() < 0.9  # fields and trees, and built-up ground


def test_sample_rasters_are_deterministic(village):
    a, b = Scene.from_sample(village), Scene.from_sample(generate("village", seed=0))
    dem_a, t_a = render_dem(a, 10.0)
    dem_b, t_b = render_dem(b, 10.0)
    assert t_a == t_b and dem_a.tobytes() == dem_b.tobytes()
    img_a, _ = render_imagery(a, 4.0)
    img_b, _ = render_imagery(b, 4.0)
    assert img_a.tobytes() == img_b.tobytes()
    other, _ = render_dem(Scene.from_sample(generate("village", seed=1)), 10.0)
    assert other.shape != dem_a.shape or other.tobytes() != dem_a.tobytes()
    assert (dem_a == DEM_NODATA).any()


def test_sample_tiles_match_plain_rio_tiler(village_rasters):
    """EPSG:4549 files are read through an equivalent, faster CRS: same pixels as rio-tiler's."""
    kw = {"resampling_method": "bilinear", "reproject_method": "bilinear"}
    dem, img = village_rasters["dem"], village_rasters["imagery"]
    assert raster_info(dem)["crs"] == "EPSG:4549"
    lon, lat = raster_info(dem)["center"][:2]
    for z in (13, 15, 17):
        t = TMS.tile(lon, lat, z)
        with Reader(str(dem)) as src:
            ref = src.tile(t.x, t.y, t.z, indexes=1, **kw).array[0]
        ours = decode_terrain_rgb(decode_png(terrain_tile(dem, t.z, t.x, t.y)))
        valid = ~np.ma.getmaskarray(ref)
        assert valid.mean() > 0.1
        np.testing.assert_allclose(ours[valid], ref.data[valid], atol=0.051)
        assert (ours[~valid] == 0).all()
        with Reader(str(img)) as src:
            ref_img = src.tile(t.x, t.y, t.z, **kw)
        rgba = decode_png(imagery_tile(img, t.z, t.x, t.y))
        np.testing.assert_array_equal(rgba[3] > 0, ref_img.mask > 0)
        diff = np.abs(rgba[:3].astype(int) - ref_img.array.data[:3].astype(int))
        assert diff[:, rgba[3] > 0].max() <= 1
