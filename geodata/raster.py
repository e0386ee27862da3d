"""Rasters of the twin: Cloud-Optimized GeoTIFFs and the web tiles cut from them.

``to_cog`` turns any GeoTIFF (any CRS, EPSG-coded or WKT) into a deflate-compressed COG that
keeps its source CRS: rio-tiler reprojects to web mercator when a tile is read.
``terrain_tile`` answers a DEM tile as a Mapbox terrain-RGB PNG, ``imagery_tile`` an image
tile as an RGBA PNG (alpha = the data mask), ``raster_info`` what a TileJSON needs.

Tiles are addressed in the WebMercatorQuad tile matrix set (XYZ, y down from the north).
Readers are kept open between tiles (:class:`ReaderPool`), keyed by path, mtime and size, so
a rewritten file is picked up on the next request. A CGCS2000-based CRS such as the twin's
EPSG:4549 is read through an equivalent PROJ string (:func:`_fast_equivalent`): with the
EPSG definition, PROJ spends ~40 ms per tile choosing a null datum shift. No web framework
is imported here.

A user's file is opened only as a GeoTIFF, after its path and first bytes are checked
(``geodata.guard``); ``vrt://`` is used only on the COGs the twin wrote itself.
"""

from __future__ import annotations

import io
import math
import threading
import warnings
import zlib
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.enums import ColorInterp
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError
from rasterio.io import MemoryFile
from rasterio.warp import transform as warp_transform
from rio_cogeo.cogeo import cog_translate
from rio_cogeo.profiles import cog_profiles
from rio_tiler.errors import TileOutsideBounds
from rio_tiler.io import Reader

from geodata import guard
from geodata.errors import GeodataError

guard.offline()

__all__ = [
    "NODATA_HEIGHT",
    "TERRAIN_RGB_DECODER",
    "RasterError",
    "RasterKind",
    "RasterNotFound",
    "ReaderPool",
    "TileOutsideBounds",
    "array_to_cog",
    "decode_terrain_rgb",
    "encode_terrain_rgb",
    "file_version",
    "imagery_tile",
    "raster_info",
    "terrain_tile",
    "to_cog",
    "version_tag",
]

RasterKind = Literal["dem", "imagery"]
KINDS: tuple[RasterKind, ...] = ("dem", "imagery")
SUFFIXES = (".tif", ".tiff")  # a user's raster is read as a GeoTIFF, and only as that

TERRAIN_RGB_DECODER = {"rScaler": 6553.6, "gScaler": 25.6, "bScaler": 0.1, "offset": -10000}
"""The deck.gl ``TerrainLayer.elevationDecoder`` of the tiles of :func:`terrain_tile`."""

NODATA_HEIGHT = 0.0
"""Height (m) written where a DEM tile has no data (outside the raster or the county): sea
level, which the deck.gl TerrainLayer draws as flat ground like any other height."""

WGS84 = CRS.from_epsg(4326)
WEB_MERCATOR = CRS.from_epsg(3857)


class RasterError(GeodataError):
    """A raster file cannot be used as asked; the message names the file and the reason."""


class RasterNotFound(RasterError):
    """The raster file does not exist."""


# --- COG writing ---------------------------------------------------------------------------
def _cog_profile(kind: RasterKind) -> dict[str, Any]:
    profile = dict(cog_profiles.get("deflate"))
    profile.update(predictor=3 if kind == "dem" else 2, blockxsize=512, blockysize=512)
    return profile


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown raster kind {kind!r}: choose one of {', '.join(KINDS)}")


def _has_data(src: rasterio.DatasetReader) -> bool:
    """Whether any pixel of ``src`` is valid (a decimated look first, then block by block)."""
    shape = (max(1, min(src.height, 512)), max(1, min(src.width, 512)))
    if src.dataset_mask(out_shape=shape).any():
        return True
    if shape == (src.height, src.width):
        return False
    return any(src.dataset_mask(window=w).any() for _, w in src.block_windows(1))


def _validate_source(src: rasterio.DatasetReader, name: str, kind: RasterKind) -> None:
    if src.width == 0 or src.height == 0:
        raise RasterError(f"{name}: empty raster (size {src.width}×{src.height})")
    if src.crs is None:
        raise RasterError(f"{name}: no CRS; georeference it first (e.g. gdal_edit.py -a_srs)")
    if kind == "dem":
        if src.count != 1:
            raise RasterError(f"{name}: a DEM needs exactly 1 band, found {src.count}")
        if not np.issubdtype(np.dtype(src.dtypes[0]), np.number) or "complex" in src.dtypes[0]:
            raise RasterError(f"{name}: a DEM needs real numbers, found {src.dtypes[0]}")
    else:
        if src.count not in (3, 4):
            raise RasterError(f"{name}: imagery needs 3 bands (RGB) or 4 (RGBA), found "
                              f"{src.count}")
        if src.dtypes[0] != "uint8":
            raise RasterError(f"{name}: imagery needs 8-bit bands, found {src.dtypes[0]}; "
                              "rescale it to 0-255 first")
    if not _has_data(src):
        raise RasterError(f"{name}: empty raster (every pixel is nodata or masked)")


def to_cog(src_path: str | Path, dst_path: str | Path, *, kind: RasterKind) -> Path:
    """Write ``src_path`` (a GeoTIFF with a CRS) as a COG at ``dst_path``.

    ``kind="dem"``: one band, written as float32 with the source nodata kept.
    ``kind="imagery"``: uint8 RGB, or RGBA whose 4th band is taken as alpha; a source nodata
    value or mask is kept. The source CRS is kept. Raises :class:`RasterError` for a file
    that is not a GeoTIFF (by its path, name and first bytes: ``geodata.guard``), has no CRS,
    the wrong bands for ``kind``, or no valid pixel.
    """
    _check_kind(kind)
    src_path, dst_path = guard.plain_path(src_path, RasterError), Path(dst_path)
    if not src_path.is_file():
        raise RasterNotFound(f"{src_path}: no such file")
    guard.check_file(src_path, RasterError, accepted=SUFFIXES,
                     hint="a DEM or image is imported as a GeoTIFF (.tif or .tiff)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            src = rasterio.open(src_path, driver="GTiff")  # the only driver allowed
    except RasterioIOError as exc:
        raise RasterError(f"{src_path}: not a raster GDAL can read ({exc})") from None
    with src:
        _validate_source(src, str(src_path), kind)
        _translate(src, dst_path, kind)
    return dst_path


def _translate(src: rasterio.DatasetReader, dst_path: Path, kind: RasterKind) -> None:
    options: dict[str, Any] = {}
    if kind == "dem":
        options.update(dtype="float32", overview_resampling="average")
    else:
        options.update(overview_resampling="average")
        if src.count == 4 and src.colorinterp[3] != ColorInterp.alpha:
            # a 4th band that GDAL does not know as alpha: declare it, through a VRT in memory
            with MemoryFile() as mem:
                with mem.open(**src.profile) as tmp:
                    tmp.write(src.read())
                    tmp.colorinterp = [ColorInterp.red, ColorInterp.green, ColorInterp.blue,
                                       ColorInterp.alpha]
                with mem.open() as fixed:
                    _translate(fixed, dst_path, kind)
            return
    dst_path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = dst_path.with_name(f".{dst_path.name}.tmp")
    try:
        cog_translate(src, str(tmp_path), _cog_profile(kind), quiet=True, in_memory=True,
                      config={"GDAL_NUM_THREADS": "ALL_CPUS", "GDAL_TIFF_OVR_BLOCKSIZE": "512"},
                      **options)
        tmp_path.replace(dst_path)  # readers never see a half-written file
    finally:
        tmp_path.unlink(missing_ok=True)


def array_to_cog(data: np.ndarray, dst_path: str | Path, *, transform: Affine, crs: Any,
                 kind: RasterKind, nodata: float | None = None) -> Path:
    """Write an array (``(bands, rows, cols)`` or ``(rows, cols)``) as a COG.

    ``transform`` and ``crs`` place it (any CRS rasterio accepts); for imagery a 4th band is
    alpha. Same checks and output as :func:`to_cog`.
    """
    _check_kind(kind)
    data = data[np.newaxis] if data.ndim == 2 else data
    profile = {"driver": "GTiff", "count": data.shape[0], "height": data.shape[1],
               "width": data.shape[2], "dtype": data.dtype, "crs": crs, "transform": transform,
               "nodata": nodata}
    with MemoryFile() as mem:
        with mem.open(**profile) as tmp:
            tmp.write(data)
            if kind == "imagery" and data.shape[0] == 4:
                tmp.colorinterp = [ColorInterp.red, ColorInterp.green, ColorInterp.blue,
                                   ColorInterp.alpha]
        with mem.open() as src:
            _validate_source(src, str(dst_path), kind)
            _translate(src, Path(dst_path), kind)
    return Path(dst_path)


# --- Readers --------------------------------------------------------------------------------
def file_version(path: str | Path) -> tuple[str, int, int]:
    """``(resolved path, mtime_ns, size)`` of a file: it changes whenever the file is rewritten.

    Raises :class:`RasterNotFound` if there is no such file.
    """
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise RasterNotFound(f"{path}: no such file") from None
    return str(path.resolve()), st.st_mtime_ns, st.st_size


def version_tag(key: tuple[str, int, int]) -> str:
    """A short tag of a :func:`file_version` for URLs (``?v=``): hex mtime_ns-size."""
    return f"{key[1]:x}-{key[2]:x}"


class ReaderPool:
    """Open rio-tiler readers kept between calls; thread-safe.

    A GDAL dataset must not be read by two threads at once, so each reader is lent to one
    caller at a time and a busy file gets another reader opened beside it. Readers are keyed
    by :func:`file_version`: a rewritten file gets fresh readers and the stale ones are closed.
    """

    def __init__(self, max_files: int = 8, max_idle_per_file: int = 4) -> None:
        self.max_files = max_files
        self.max_idle_per_file = max_idle_per_file
        self._idle: OrderedDict[tuple[str, int, int], list[Reader]] = OrderedDict()
        self._current: dict[str, tuple[str, int, int]] = {}
        self._lock = threading.Lock()

    @contextmanager
    def reader(self, path: str | Path) -> Iterator[Reader]:
        """Lend a reader of ``path`` for the duration of the ``with`` block."""
        key = file_version(path)
        stale: list[Reader] = []
        with self._lock:
            old = self._current.get(key[0])
            if old is not None and old != key:
                stale = self._idle.pop(old, [])
            self._current[key[0]] = key
            idle = self._idle.get(key)
            reader = idle.pop() if idle else None
        for r in stale:
            r.close()
        if reader is None:
            reader = _open_reader(key[0])
        try:
            yield reader
        finally:
            self._give_back(key, reader)

    def _give_back(self, key: tuple[str, int, int], reader: Reader) -> None:
        to_close: list[Reader] = [reader]
        with self._lock:
            if self._current.get(key[0]) == key:
                idle = self._idle.setdefault(key, [])
                self._idle.move_to_end(key)
                if len(idle) < self.max_idle_per_file:
                    idle.append(reader)
                    to_close.clear()
                while len(self._idle) > self.max_files:
                    old_key, readers = self._idle.popitem(last=False)
                    self._current.pop(old_key[0], None)
                    to_close.extend(readers)
        for r in to_close:
            r.close()

    def clear(self) -> None:
        """Close every idle reader (readers lent out are closed when given back)."""
        with self._lock:
            readers = [r for rs in self._idle.values() for r in rs]
            self._idle.clear()
            self._current.clear()
        for r in readers:
            r.close()


class _PooledReader(Reader):
    """A rio-tiler reader over a dataset it owns but did not open as a context manager.

    ``rasterio.open`` used as a context manager ties a GDAL environment to the opening
    thread, and closing it from another thread fails; a pooled reader may be closed by any.
    ``source_crs`` is the file's own CRS (the dataset may carry a faster equivalent).
    """

    source_crs: CRS | None = None

    def close(self) -> None:
        """Close the dataset (from any thread)."""
        super().close()
        self.dataset.close()


@lru_cache(maxsize=64)
def _fast_equivalent(wkt: str, bounds: tuple[float, float, float, float]) -> str | None:
    """A PROJ string equivalent to ``wkt`` over ``bounds`` for web-mercator tiling, if any.

    PROJ takes ~18 ms to choose an operation between a CGCS2000-based CRS (e.g. EPSG:4549)
    and WGS84 each time rasterio builds a transformation, twice per tile, and then chooses a
    null ("ballpark") datum shift. The same CRS written as a PROJ string without its datum
    name gives the same coordinates at once. The substitute is used only if points across
    ``bounds`` (in the CRS) land within 1 mm of where the original puts them.
    """
    crs = CRS.from_wkt(wkt)
    proj4 = crs.to_proj4().replace("=True", "")
    if "+proj=" not in proj4 or "+proj=longlat" in proj4 or "+proj=merc" in proj4:
        return None  # geographic and mercator CRSs are fast already
    candidate = CRS.from_proj4(proj4)
    west, south, east, north = bounds
    x, y = np.meshgrid(np.linspace(west, east, 5), np.linspace(south, north, 5))
    xs, ys = x.ravel().tolist(), y.ravel().tolist()
    try:
        ref = np.array(warp_transform(crs, WEB_MERCATOR, xs, ys))
        alt = np.array(warp_transform(candidate, WEB_MERCATOR, xs, ys))
    except Exception:  # noqa: BLE001 - any failure: keep the original CRS
        return None
    if not (np.isfinite(ref).all() and np.abs(ref - alt).max() < 1e-3):
        return None
    return proj4


def _open_dataset(path: str) -> tuple[rasterio.DatasetReader, CRS | None]:
    """The dataset of ``path`` (with a faster equivalent CRS when there is one) and its CRS.
    ``path`` is a COG the twin wrote, opened as a GeoTIFF only; ``vrt://`` wraps it here."""
    dataset = rasterio.open(path, driver="GTiff")
    crs = dataset.crs
    if crs is None or "?" in path or "&" in path:
        return dataset, crs
    fast = _fast_equivalent(crs.to_wkt(), tuple(dataset.bounds))
    if fast is None:
        return dataset, crs
    dataset.close()
    return rasterio.open(f"vrt://{path}?a_srs={fast}"), crs


def _open_reader(path: str) -> Reader:
    try:
        dataset, crs = _open_dataset(path)
    except RasterioIOError as exc:
        raise RasterError(f"{path}: not a raster GDAL can read ({exc})") from None
    try:
        reader = _PooledReader(path, dataset=dataset)
    except Exception:
        dataset.close()
        raise
    reader.source_crs = crs
    return reader


POOL = ReaderPool()
"""The process-wide pool used by the tile functions."""


# --- Tiles ----------------------------------------------------------------------------------
def encode_terrain_rgb(heights: np.ndarray) -> np.ndarray:
    """Heights (m, ``(rows, cols)``) → Mapbox terrain-RGB ``(3, rows, cols)`` uint8.

    ``v = round((h + 10000) * 10)``, R, G, B = the bytes of ``v`` (0.1 m steps, −10 km to
    ~1.67 Mm; heights outside that range are clipped).
    """
    v = np.rint((np.asarray(heights, dtype=np.float64) + 10000.0) * 10.0)
    v = np.clip(v, 0, 2**24 - 1).astype(np.uint32)
    return np.stack([(v >> 16) & 0xFF, (v >> 8) & 0xFF, v & 0xFF]).astype(np.uint8)


def decode_terrain_rgb(rgb: np.ndarray) -> np.ndarray:
    """Mapbox terrain-RGB ``(3 or 4, rows, cols)`` uint8 → heights (m, float64)."""
    r, g, b = (rgb[i].astype(np.float64) for i in range(3))
    return -10000.0 + (r * 65536.0 + g * 256.0 + b) * 0.1


PNG_ZLIB_LEVEL = 1
"""zlib level of imagery PNGs: measured on 256² tiles, level 1 takes 1.2 ms (terrain) to 2 ms
(imagery) for files ~35 % larger than level 6, which takes 6–8 ms; row filters did not help."""
TERRAIN_ZLIB_LEVEL = 6
"""Terrain tiles are on every first view (the map cannot draw without them) and are cached
immutably by the browser: the smaller file is worth the milliseconds."""


def _png(data: np.ndarray, level: int = PNG_ZLIB_LEVEL) -> bytes:
    """``(bands, rows, cols)`` uint8 → PNG (grey, grey+alpha, RGB or RGBA; 8 bits)."""
    bands, rows, cols = data.shape
    color_type = {1: 0, 2: 4, 3: 2, 4: 6}[bands]
    lines = np.zeros((rows, cols * bands + 1), dtype=np.uint8)  # filter byte 0: none
    lines[:, 1:] = data.transpose(1, 2, 0).reshape(rows, cols * bands)

    def chunk(tag: bytes, body: bytes) -> bytes:
        return (len(body).to_bytes(4, "big") + tag + body
                + zlib.crc32(tag + body).to_bytes(4, "big"))

    header = (cols.to_bytes(4, "big") + rows.to_bytes(4, "big")
              + bytes([8, color_type, 0, 0, 0]))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(lines.tobytes(), level))
            + chunk(b"IEND", b""))


def _check_tile(z: int, x: int, y: int, tilesize: int) -> None:
    if not 0 <= z <= 30 or not (0 <= x < 2**z and 0 <= y < 2**z):
        raise TileOutsideBounds(f"tile {z}/{x}/{y} does not exist")
    if not 1 <= tilesize <= 4096:
        raise ValueError(f"tilesize must be within 1-4096, got {tilesize}")


def terrain_tile(cog_path: str | Path, z: int, x: int, y: int, tilesize: int = 256, *,
                 nodata_height: float = NODATA_HEIGHT) -> bytes:
    """The DEM tile ``z/x/y`` as a Mapbox terrain-RGB PNG (bilinear resampling).

    Pixels without data become ``nodata_height`` (sea level by default; see
    :data:`TERRAIN_RGB_DECODER`). Raises :class:`TileOutsideBounds` for a tile that misses
    the raster, :class:`RasterNotFound` when the file is missing.
    """
    _check_tile(z, x, y, tilesize)
    with POOL.reader(cog_path) as src:
        img = src.tile(x, y, z, tilesize=tilesize, indexes=1, resampling_method="bilinear",
                       reproject_method="bilinear")
    arr = img.array[0]
    heights = np.where(np.ma.getmaskarray(arr), nodata_height, arr.data)
    return _png(encode_terrain_rgb(heights), TERRAIN_ZLIB_LEVEL)


WEBP_QUALITY = 80
"""Lossy WebP for the map's imagery: a county-view tile of the sample image is ~100 KB as
PNG and ~15 KB as WebP at quality 80, with alpha kept."""


def imagery_tile(cog_path: str | Path, z: int, x: int, y: int, tilesize: int = 256,
                 fmt: str = "png") -> bytes:
    """The image tile ``z/x/y`` as RGBA (PNG, or lossy WebP with ``fmt="webp"``) whose alpha
    is the data mask (bilinear).

    Raises :class:`TileOutsideBounds` for a tile that misses the raster, :class:`RasterError`
    for a raster with fewer than 3 bands.
    """
    _check_tile(z, x, y, tilesize)
    with POOL.reader(cog_path) as src:
        if len(src.dataset.indexes) < 3:
            raise RasterError(f"{cog_path}: imagery needs 3 bands, found {src.dataset.count}")
        img = src.tile(x, y, z, tilesize=tilesize, resampling_method="bilinear",
                       reproject_method="bilinear")
    rgba = _rgba(img)
    if fmt == "webp":
        return _webp(rgba)
    if fmt != "png":
        raise ValueError(f"unknown tile format {fmt!r}: png or webp")
    return _png(rgba)


OVERVIEW_SIZE = 640
OVERVIEW_QUALITY = 55
"""The imagery overview: the whole county as a county view shows it (~450 px on a desktop
map); 640 px at WebP quality 55 is ~35 KB for the county sample, less than the terrain and
imagery tiles it replaces on the first view."""


def _webp(rgba: np.ndarray, quality: int = WEBP_QUALITY) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgba.transpose(1, 2, 0)), "RGBA").save(
        out, format="WEBP", quality=quality, method=4)
    return out.getvalue()


def _rgba(img) -> np.ndarray:
    rgb = img.array.data[:3]
    if rgb.dtype != np.uint8:
        rgb = np.clip(rgb, 0, 255).astype(np.uint8)
    alpha = np.where(np.ma.getmaskarray(img.array).any(axis=0), 0, 255).astype(np.uint8)
    return np.concatenate([rgb, alpha[np.newaxis]])


def imagery_overview(cog_path: str | Path, size: int = OVERVIEW_SIZE) -> bytes:
    """The whole image as one WebP (RGBA) in Web Mercator, at most ``size`` px on its longest
    side, covering exactly the lon/lat ``bounds`` of :func:`raster_info` — one picture for
    a county view instead of a terrain mesh."""
    with POOL.reader(cog_path) as src:
        if len(src.dataset.indexes) < 3:
            raise RasterError(f"{cog_path}: imagery needs 3 bands, found {src.dataset.count}")
        bounds = src.get_geographic_bounds("EPSG:4326")
        img = src.part(bounds, dst_crs=CRS.from_epsg(3857), bounds_crs=CRS.from_epsg(4326),
                       max_size=size, resampling_method="bilinear",
                       reproject_method="bilinear")
    return _webp(_rgba(img), OVERVIEW_QUALITY)


def _fit_zoom(bounds: tuple[float, float, float, float]) -> int:
    """The deepest zoom at which the lon/lat ``bounds`` fit in about one 256-px tile."""
    west, south, east, north = bounds

    def merc_y(lat: float) -> float:
        lat = max(min(lat, 85.0511), -85.0511)
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) / (2 * math.pi)

    span = max((east - west) / 360.0, abs(merc_y(north) - merc_y(south)), 1e-12)
    return max(0, min(22, math.floor(math.log2(1.0 / span))))


def raster_info(cog_path: str | Path) -> dict[str, Any]:
    """What a TileJSON needs: lon/lat ``bounds``, ``center``, ``minzoom``/``maxzoom``, …

    ``maxzoom`` is the zoom of the native resolution (rio-tiler's suggestion); ``minzoom``
    the zoom at which the whole raster fits in one tile, or rio-tiler's if lower.
    """
    key = file_version(cog_path)
    with POOL.reader(cog_path) as src:
        bounds = tuple(float(v) for v in src.get_geographic_bounds("EPSG:4326"))
        maxzoom, minzoom = int(src.maxzoom), int(src.minzoom)
        ds = src.dataset
        crs = getattr(src, "source_crs", None) or ds.crs
        epsg = crs.to_epsg()
        info = {
            "crs": f"EPSG:{epsg}" if epsg else crs.to_wkt(),
            "bounds": list(bounds),
            "count": ds.count,
            "dtype": ds.dtypes[0],
            "nodata": ds.nodata,
            "width": ds.width,
            "height": ds.height,
            "resolution": [abs(ds.res[0]), abs(ds.res[1])],
        }
    minzoom = min(minzoom, _fit_zoom(bounds), maxzoom)
    center_zoom = min(maxzoom, minzoom + 2)
    info.update(
        minzoom=minzoom,
        maxzoom=maxzoom,
        center=[(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, center_zoom],
        version=version_tag(key),
    )
    return info


def height_at(dem_path: str | Path, lon: float, lat: float) -> float | None:
    """The DEM's height at a WGS 84 point (None outside it, or without the file)."""
    from pyproj import Transformer

    try:
        with rasterio.open(dem_path) as src:
            x, y = Transformer.from_crs("EPSG:4326", src.crs, always_xy=True).transform(lon, lat)
            value = next(src.sample([(x, y)], masked=True))[0]
    except (rasterio.errors.RasterioIOError, StopIteration):
        return None
    return None if np.ma.is_masked(value) else float(value)
