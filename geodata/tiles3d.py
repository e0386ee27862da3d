"""OGC 3D Tiles written from meshes: glTF binary (glb) in Batched 3D Model (b3dm) tiles under
a ``tileset.json`` placed on the globe by an east-north-up frame.

The meshes are in local metres of that frame (x east, y north, z up), which keeps float32
vertices exact to a millimetre across a county. Each tile's glb turns them to glTF's Y-up
(x east, y up, z south); the tileset's ``root.transform`` takes the frame to Earth-centred
coordinates (ECEF, WGS 84), as deck.gl's Tile3DLayer and every 3D Tiles client expect.

Plain geometry only: no Draco, no KTX2, no textures (a material per colour), so a browser
draws the tiles with nothing but the tiles themselves (no decoder from any other host).

References: 3D Tiles 1.0 (OGC 22-025r4) for b3dm and tileset.json; glTF 2.0 for glb.
"""

from __future__ import annotations

import json
import stat
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
from pyproj import Transformer

from geodata.errors import GeodataError

GLB_MAGIC = b"glTF"
B3DM_MAGIC = b"b3dm"
FLOAT, UINT32 = 5126, 5125  # glTF componentType
ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER = 34962, 34963

_TO_ECEF = Transformer.from_crs("EPSG:4979", "EPSG:4978", always_xy=True)


@dataclass
class Mesh:
    """Triangles in local metres (x east, y north, z up) with a colour per vertex (0–1)."""

    positions: list[np.ndarray] = field(default_factory=list)  # (n, 3) per part
    colors: list[np.ndarray] = field(default_factory=list)  # (n, 3) per part

    def add(self, triangles: np.ndarray, color: tuple[float, float, float]) -> None:
        """Add triangles given as an (m, 3, 3) array of corners, all of one colour."""
        tri = np.asarray(triangles, dtype=np.float64).reshape(-1, 3, 3)
        if len(tri):
            self.positions.append(tri.reshape(-1, 3))
            self.colors.append(np.tile(np.asarray(color, dtype=np.float32), (len(tri) * 3, 1)))

    def __len__(self) -> int:
        return sum(len(p) for p in self.positions) // 3

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        xyz = np.concatenate(self.positions)
        return xyz.min(axis=0), xyz.max(axis=0)


def enu_frame(lon: float, lat: float, height: float = 0.0) -> np.ndarray:
    """The 4×4 matrix taking east-north-up metres at (lon, lat, height) to ECEF."""
    lam, phi = np.radians(lon), np.radians(lat)
    east = [-np.sin(lam), np.cos(lam), 0.0]
    north = [-np.sin(phi) * np.cos(lam), -np.sin(phi) * np.sin(lam), np.cos(phi)]
    up = [np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)]
    origin = _TO_ECEF.transform(lon, lat, height)
    m = np.identity(4)
    m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = east, north, up, origin
    return m


def to_enu(lon: np.ndarray, lat: np.ndarray, height: np.ndarray,
           frame: np.ndarray) -> np.ndarray:
    """Geographic points (WGS 84, ellipsoidal height) as east-north-up metres of ``frame``."""
    x, y, z = _TO_ECEF.transform(np.asarray(lon, float), np.asarray(lat, float),
                                 np.asarray(height, float))
    ecef = np.column_stack([x, y, z]) - frame[:3, 3]
    return ecef @ frame[:3, :3]  # the frame's axes are orthonormal: its inverse is its transpose


def _flat_normals(xyz: np.ndarray) -> np.ndarray:
    tri = xyz.reshape(-1, 3, 3)
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    length = np.linalg.norm(n, axis=1, keepdims=True)
    n = np.divide(n, length, out=np.zeros_like(n), where=length > 0)
    return np.repeat(n, 3, axis=0)


def _pad(data: bytes, to: int, fill: bytes) -> bytes:
    return data + fill * (-len(data) % to)


def glb(mesh: Mesh) -> bytes:
    """The mesh as one glTF binary: one node, one primitive per colour with a matte material
    of that colour (metallic 0, drawn from both sides), flat normals."""
    enu = np.concatenate(mesh.positions)
    yup = np.column_stack([enu[:, 0], enu[:, 2], -enu[:, 1]]).astype(np.float32)
    normals = _flat_normals(yup.astype(np.float64)).astype(np.float32)
    colors = np.concatenate(mesh.colors).astype(np.float32)
    palette, which = np.unique(colors[::3], axis=0, return_inverse=True)  # per triangle
    order = np.argsort(which.ravel(), kind="stable")
    corners = (order[:, None] * 3 + np.arange(3)).ravel()
    yup, normals = yup[corners], normals[corners]
    counts = np.bincount(which.ravel(), minlength=len(palette)) * 3
    arrays = [yup.tobytes(), normals.tobytes()]
    views = [{"buffer": 0, "byteOffset": 0, "byteLength": len(arrays[0]),
              "target": ARRAY_BUFFER},
             {"buffer": 0, "byteOffset": len(arrays[0]), "byteLength": len(arrays[1]),
              "target": ARRAY_BUFFER}]
    accessors, primitives, materials, start = [], [], [], 0
    for i, (rgb, count) in enumerate(zip(palette, counts, strict=True)):
        part = yup[start:start + count]
        for view, extra in ((0, {"min": part.min(axis=0).tolist(),
                                 "max": part.max(axis=0).tolist()}), (1, {})):
            accessors.append({"bufferView": view, "byteOffset": int(start) * 12,
                              "componentType": FLOAT, "count": int(count), "type": "VEC3",
                              **extra})
        primitives.append({"attributes": {"POSITION": 2 * i, "NORMAL": 2 * i + 1},
                           "material": i, "mode": 4})
        materials.append({"pbrMetallicRoughness": {
            "baseColorFactor": [*map(float, rgb), 1.0], "metallicFactor": 0,
            "roughnessFactor": 1}, "doubleSided": True})
        start += count
    doc = {
        "asset": {"version": "2.0", "generator": "Village Twin"},
        "scene": 0, "scenes": [{"nodes": [0]}], "nodes": [{"mesh": 0}],
        "meshes": [{"primitives": primitives}], "materials": materials,
        "accessors": accessors, "bufferViews": views,
        "buffers": [{"byteLength": len(arrays[0]) + len(arrays[1])}],
    }
    body = _pad(b"".join(arrays), 4, b"\x00")
    text = _pad(json.dumps(doc, separators=(",", ":")).encode(), 4, b" ")
    total = 12 + 8 + len(text) + 8 + len(body)
    return (struct.pack("<4sII", GLB_MAGIC, 2, total)
            + struct.pack("<I4s", len(text), b"JSON") + text
            + struct.pack("<I4s", len(body), b"BIN\x00") + body)


def b3dm(glb_bytes: bytes) -> bytes:
    """A glb as a Batched 3D Model tile (no batch table): the header, a feature table padded
    so the glb starts on an 8-byte boundary, and the glb padded to one."""
    table = _pad(b'{"BATCH_LENGTH":0}', 8, b" ")
    while (28 + len(table)) % 8:
        table += b" "
    model = _pad(glb_bytes, 8, b"\x00")
    total = 28 + len(table) + len(model)
    return struct.pack("<4sIIIIII", B3DM_MAGIC, 1, total, len(table), 0, 0, 0) + table + model


def box(lo: np.ndarray, hi: np.ndarray) -> list[float]:
    """A 3D Tiles bounding ``box`` (centre and half-axes) of local bounds."""
    centre, half = (lo + hi) / 2, np.maximum((hi - lo) / 2, 0.01)
    return [*centre.tolist(), half[0], 0, 0, 0, half[1], 0, 0, 0, half[2]]


def tileset(frame: np.ndarray, tiles: list[tuple[str, Mesh]],
            error: float = 200.0) -> dict:
    """The ``tileset.json`` of leaf tiles (content URI, mesh) under one root placed by
    ``frame``: the client fetches a tile only when it is in view and close enough (its
    screen-space error), never the whole model."""
    children, lows, highs = [], [], []
    for uri, mesh in tiles:
        lo, hi = mesh.bounds()
        lows.append(lo)
        highs.append(hi)
        children.append({"boundingVolume": {"box": box(lo, hi)}, "geometricError": 0,
                         "content": {"uri": uri}})
    lo, hi = np.min(lows, axis=0), np.max(highs, axis=0)
    return {
        "asset": {"version": "1.0", "generator": "Village Twin"},
        "geometricError": error,
        "root": {"transform": frame.T.reshape(-1).tolist(),  # column-major
                 "boundingVolume": {"box": box(lo, hi)}, "geometricError": error / 4,
                 "refine": "ADD", "children": children},
    }


def write_tileset(folder: Path, frame: np.ndarray, models: list[tuple[str, Mesh]],
                  cell: float = 200.0) -> int:
    """Write ``models`` (id, mesh) as a tileset in ``folder``: one b3dm per ``cell`` metres
    square (by each model's centre), under one root. Returns the number of tiles."""
    groups: dict[tuple[int, int], Mesh] = {}
    for _, mesh in models:
        lo, hi = mesh.bounds()
        key = (int((lo[0] + hi[0]) / 2 // cell), int((lo[1] + hi[1]) / 2 // cell))
        group = groups.setdefault(key, Mesh())
        group.positions += mesh.positions
        group.colors += mesh.colors
    (folder / "tiles").mkdir(parents=True, exist_ok=True)
    tiles = []
    for i, (_, mesh) in enumerate(sorted(groups.items())):
        uri = f"tiles/{i}.b3dm"
        (folder / uri).write_bytes(b3dm(glb(mesh)))
        tiles.append((uri, mesh))
    span = max(float(np.ptp(np.concatenate([m.bounds() for _, m in tiles]), axis=0)[:2].max()),
               cell)
    doc = tileset(frame, tiles, error=span / 2)
    (folder / "tileset.json").write_text(json.dumps(doc, separators=(",", ":")),
                                         encoding="utf-8")
    return len(tiles)


# --- Reading a tileset someone hands in -------------------------------------------------

class TilesetError(GeodataError):
    """A tileset (or its zip) that is refused, with the file and the reason."""


CONTENT = (".b3dm", ".glb", ".i3dm", ".cmpt", ".pnts", ".json")
VERSIONS = ("0.0", "1.0", "1.1")
# glTF extensions a browser could only draw with a decoder fetched from another host
NEEDS_DECODER = {"KHR_draco_mesh_compression": "Draco-compressed meshes",
                 "KHR_texture_basisu": "KTX2/Basis textures",
                 "3DTILES_draco_point_compression": "Draco-compressed points"}
MAX_JSON = 64 << 20
MAX_TILES = 1_000_000
MAX_DEPTH = 64


@dataclass
class TilesetInfo:
    """What a checked tileset holds and where it stands."""

    files: int
    bytes: int
    bounds: tuple[float, float, float, float]  # lon/lat west, south, east, north


def _inside(folder: Path, uri: str, where: str) -> Path:
    """The file a relative URI names inside ``folder``, refusing any other place."""
    parts = urlsplit(uri)
    if parts.scheme or parts.netloc or uri.startswith(("/", "\\")) or ":" in parts.path:
        raise TilesetError(f"{where}: {uri!r} points at another place (a URL or an "
                           "absolute path); a tileset may only name files in its folder")
    target = (folder / unquote(parts.path)).resolve()
    if not target.is_relative_to(folder.resolve()):
        raise TilesetError(f"{where}: {uri!r} points outside the tileset's folder")
    if not target.is_file():
        raise TilesetError(f"{where}: {uri!r} is not in the tileset")
    return target


def _gltf_json(data: bytes, name: str) -> dict | None:
    """The glTF JSON inside a glb or b3dm (None for other tile formats)."""
    start = 0
    if data[:4] == B3DM_MAGIC:
        if len(data) < 28:
            raise TilesetError(f"{name}: a b3dm shorter than its header")
        _, _, _, ftj, ftb, btj, btb = struct.unpack_from("<4sIIIIII", data)
        start = 28 + ftj + ftb + btj + btb
    if data[start:start + 4] != GLB_MAGIC:
        return None
    try:
        length, kind = struct.unpack_from("<I4s", data, start + 12)
        return json.loads(data[start + 20:start + 20 + length]) if kind == b"JSON" else None
    except (struct.error, UnicodeDecodeError, json.JSONDecodeError):
        raise TilesetError(f"{name}: its glTF is not readable") from None


def _check_content(path: Path, folder: Path) -> None:
    name = str(path.relative_to(folder))
    doc = _gltf_json(path.read_bytes(), name)
    if doc is None:
        return
    for ext in doc.get("extensionsUsed") or []:
        if ext in NEEDS_DECODER:
            raise TilesetError(f"{name}: {NEEDS_DECODER[ext]} ({ext}) would need a decoder "
                               "from another host: convert the tiles without it")
    for kind in ("buffers", "images"):
        for item in doc.get(kind) or []:
            uri = item.get("uri")
            if uri and not uri.startswith("data:"):
                _inside(path.parent, uri, name)


def _region_bounds(region: list[float]) -> tuple[float, float, float, float]:
    w, s, e, n = (float(np.degrees(v)) for v in region[:4])
    return w, s, e, n


def _box_bounds(volume: dict, transform: np.ndarray) -> tuple[float, float, float, float]:
    if "box" in volume:
        c, axes = np.asarray(volume["box"][:3], float), np.asarray(volume["box"][3:12],
                                                                   float).reshape(3, 3)
        corners = [c + sx * axes[0] + sy * axes[1] + sz * axes[2]
                   for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)]
    else:  # a sphere
        c, r = np.asarray(volume["sphere"][:3], float), float(volume["sphere"][3])
        corners = [c + r * np.asarray(d) for d in np.vstack([np.identity(3), -np.identity(3)])]
    ecef = (transform @ np.column_stack([corners, np.ones(len(corners))]).T)[:3]
    lon, lat, _ = Transformer.from_crs("EPSG:4978", "EPSG:4979", always_xy=True).transform(
        *ecef)
    return float(np.min(lon)), float(np.min(lat)), float(np.max(lon)), float(np.max(lat))


def check_tileset(folder: Path, max_bytes: int) -> TilesetInfo:
    """Check a tileset in ``folder`` (its ``tileset.json`` at the top) before anything of it
    is kept: every file it names lies in the folder, no content needs a decoder from
    another host, the whole is under ``max_bytes``; and say where it stands."""
    folder = Path(folder)
    top = folder / "tileset.json"
    if not top.is_file():
        raise TilesetError(f"{folder.name}: no tileset.json at its top")
    files = [p for p in folder.rglob("*") if p.is_file() or p.is_symlink()]
    if any(p.is_symlink() for p in files):
        raise TilesetError(f"{folder.name}: holds a symbolic link; a tileset holds files only")
    total = sum(p.stat().st_size for p in files)
    if total > max_bytes:
        raise TilesetError(f"{folder.name}: {total / 2**30:.1f} GB is more than a scene may "
                           f"hold here ({max_bytes / 2**30:.1f} GB)")
    seen: set[Path] = set()
    tiles = 0

    def read(path: Path) -> dict:
        name = str(path.relative_to(folder))
        if path.stat().st_size > MAX_JSON:
            raise TilesetError(f"{name}: a tileset JSON over {MAX_JSON >> 20} MB")
        try:
            doc = json.loads(path.read_bytes())
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise TilesetError(f"{name}: not JSON ({exc})") from None
        version = str((doc.get("asset") or {}).get("version", ""))
        if version not in VERSIONS:
            raise TilesetError(f"{name}: asset.version {version!r} is not 3D Tiles "
                               f"({', '.join(VERSIONS)})")
        if not isinstance(doc.get("root"), dict):
            raise TilesetError(f"{name}: no root tile")
        return doc

    def walk(tile: dict, path: Path, depth: int) -> None:
        nonlocal tiles
        name = str(path.relative_to(folder))
        tiles += 1
        if depth > MAX_DEPTH or tiles > MAX_TILES:
            raise TilesetError(f"{name}: deeper than {MAX_DEPTH} levels or over {MAX_TILES:,} "
                               "tiles")
        if "implicitTiling" in tile:
            raise TilesetError(f"{name}: implicit tiling (3D Tiles 1.1 subtrees) is not read "
                               "here yet: export explicit tiles")
        contents = list(tile.get("contents") or []) + (
            [tile["content"]] if isinstance(tile.get("content"), dict) else [])
        for content in contents:
            uri = content.get("uri") or content.get("url") or ""
            target = _inside(path.parent, uri, name)
            if target.suffix.lower() not in CONTENT:
                raise TilesetError(f"{name}: {uri!r} is not tile content "
                                   f"({', '.join(CONTENT)})")
            if target.suffix.lower() == ".json":
                if target in seen:
                    raise TilesetError(f"{name}: {uri!r} is named twice (a loop of tilesets)")
                seen.add(target)
                walk(read(target)["root"], target, depth + 1)
            else:
                _check_content(target, folder)
        for child in tile.get("children") or []:
            walk(child, path, depth + 1)

    doc = read(top)
    seen.add(top.resolve())
    walk(doc["root"], top, 0)
    volume = doc["root"].get("boundingVolume") or {}
    transform = np.asarray(doc["root"].get("transform") or np.identity(4).T.reshape(-1),
                           float).reshape(4, 4).T
    if "region" in volume:
        bounds = _region_bounds(volume["region"])
    elif "box" in volume or "sphere" in volume:
        bounds = _box_bounds(volume, transform)
    else:
        raise TilesetError("tileset.json: the root has no bounding volume")
    return TilesetInfo(len(files), total, bounds)


def unpack_zip(archive: Path, dest: Path, max_bytes: int, max_files: int = 200_000) -> Path:
    """Unpack a zipped tileset into ``dest`` after checking its whole table of contents:
    no entry outside ``dest`` (zip-slip), no link, no more than ``max_bytes`` claimed or
    written. Returns the folder holding ``tileset.json``."""
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError):
        raise TilesetError(f"{archive.name}: not a zip file") from None
    with zf:
        entries = zf.infolist()
        if len(entries) > max_files:
            raise TilesetError(f"{archive.name}: {len(entries):,} entries, more than "
                               f"{max_files:,}")
        claimed = sum(e.file_size for e in entries)
        if claimed > max_bytes:
            raise TilesetError(f"{archive.name}: its files claim {claimed / 2**30:.1f} GB, more "
                               f"than a scene may hold here ({max_bytes / 2**30:.1f} GB)")
        root = dest.resolve()
        for e in entries:
            target = (dest / e.filename).resolve()
            if (e.filename.startswith(("/", "\\")) or ".." in Path(e.filename).parts
                    or not target.is_relative_to(root)):
                raise TilesetError(f"{archive.name}: the entry {e.filename!r} points outside "
                                   "the archive's folder")
            if stat.S_ISLNK(e.external_attr >> 16):
                raise TilesetError(f"{archive.name}: the entry {e.filename!r} is a link")
        written = 0
        for e in entries:
            target = dest / e.filename
            if e.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(e) as src, target.open("wb") as out:
                while chunk := src.read(1 << 20):
                    written += len(chunk)
                    if written > max_bytes:
                        raise TilesetError(f"{archive.name}: unpacks to more than it claims")
                    out.write(chunk)
    tops = [p.parent for p in dest.rglob("tileset.json")]
    if not tops:
        raise TilesetError(f"{archive.name}: no tileset.json in the archive")
    return min(tops, key=lambda p: len(p.parts))
