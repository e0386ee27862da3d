"""OGC 3D Tiles written from meshes: glTF binary (glb) in Batched 3D Model (b3dm) tiles under
a ``tileset.json`` placed on the globe by an east-north-up frame.

The meshes are in local metres of that frame (x east, y north, z up), which keeps float32
vertices exact to a millimetre across a county. Each tile's glb turns them to glTF's Y-up
(x east, y up, z south); the tileset's ``root.transform`` takes the frame to Earth-centred
coordinates (ECEF, WGS 84), as deck.gl's Tile3DLayer and every 3D Tiles client expect.

Plain geometry only: no Draco, no KTX2, no textures (colours per vertex), so a browser
draws the tiles with nothing but the tiles themselves (no decoder from any other host).

References: 3D Tiles 1.0 (OGC 22-025r4) for b3dm and tileset.json; glTF 2.0 for glb.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field

import numpy as np
from pyproj import Transformer

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
    """The mesh as one glTF binary: one node, one primitive, flat normals, vertex colours, a
    matte material (metallic 0, drawn from both sides)."""
    enu = np.concatenate(mesh.positions)
    yup = np.column_stack([enu[:, 0], enu[:, 2], -enu[:, 1]]).astype(np.float32)
    normals = _flat_normals(yup.astype(np.float64)).astype(np.float32)
    colors = np.concatenate(mesh.colors).astype(np.float32)
    arrays = [yup.tobytes(), normals.tobytes(), colors.tobytes()]
    views, offset = [], 0
    for data in arrays:
        views.append({"buffer": 0, "byteOffset": offset, "byteLength": len(data),
                      "target": ARRAY_BUFFER})
        offset += len(data)
    count = len(yup)
    doc = {
        "asset": {"version": "2.0", "generator": "Village Twin"},
        "scene": 0, "scenes": [{"nodes": [0]}], "nodes": [{"mesh": 0}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0, "NORMAL": 1, "COLOR_0": 2},
                                    "material": 0, "mode": 4}]}],
        "materials": [{"pbrMetallicRoughness": {"baseColorFactor": [1, 1, 1, 1],
                                                "metallicFactor": 0, "roughnessFactor": 1},
                       "doubleSided": True}],
        "accessors": [
            {"bufferView": 0, "componentType": FLOAT, "count": count, "type": "VEC3",
             "min": yup.min(axis=0).tolist(), "max": yup.max(axis=0).tolist()},
            {"bufferView": 1, "componentType": FLOAT, "count": count, "type": "VEC3"},
            {"bufferView": 2, "componentType": FLOAT, "count": count, "type": "VEC3"}],
        "bufferViews": views,
        "buffers": [{"byteLength": offset}],
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
