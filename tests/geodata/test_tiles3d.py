"""3D Tiles written from meshes, and CityJSON buildings read into them."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
from pyproj import Transformer

from geodata.cityjson import CityJsonError, read_buildings, triangulate
from geodata.tiles3d import Mesh, b3dm, enu_frame, glb, tileset, to_enu

DATA = Path(__file__).resolve().parents[1] / "data"


def _area(triangles: np.ndarray) -> float:
    return float(sum(np.linalg.norm(np.cross(t[1] - t[0], t[2] - t[0])) / 2 for t in triangles))


def _read_glb(data: bytes) -> tuple[dict, bytes]:
    magic, version, total = struct.unpack_from("<4sII", data)
    assert (magic, version, total) == (b"glTF", 2, len(data))
    length, kind = struct.unpack_from("<I4s", data, 12)
    assert kind == b"JSON" and length % 4 == 0
    doc = json.loads(data[20:20 + length])
    blength, bkind = struct.unpack_from("<I4s", data, 20 + length)
    assert bkind == b"BIN\x00" and blength % 4 == 0
    return doc, data[28 + length:28 + length + blength]


def test_a_wall_with_a_window_is_triangulated_around_the_hole():
    wall = np.array([[0, 0, 0], [10, 0, 0], [10, 0, 10], [0, 0, 10]], float)
    window = np.array([[3, 0, 3], [3, 0, 7], [7, 0, 7], [7, 0, 3]], float)
    triangles = triangulate([wall, window])
    assert _area(triangles) == pytest.approx(100 - 16)
    normal = np.cross(triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0])
    assert (normal[:, 1] < 0).all()  # every triangle keeps the face's winding
    assert len(triangulate([np.array([[0, 0, 0], [1, 1, 1], [2, 2, 2]], float)])) == 0


def test_a_box_becomes_a_b3dm_tile_placed_on_the_globe():
    mesh = Mesh()
    floor = np.array([[[0, 0, 0], [4, 0, 0], [4, 3, 0]], [[0, 0, 0], [4, 3, 0], [0, 3, 0]]])
    mesh.add(floor + [0, 0, 6], (0.2, 0.2, 0.3))  # a flat roof 6 m up
    mesh.add(floor, (0.5, 0.5, 0.5))
    model = glb(mesh)
    doc, body = _read_glb(model)
    position = doc["accessors"][0]
    assert position["count"] == 12 and doc["materials"][0]["pbrMetallicRoughness"][
        "metallicFactor"] == 0
    xyz = np.frombuffer(body[:12 * 12], dtype=np.float32).reshape(-1, 3)
    assert xyz[:, 1].max() == 6 and xyz[:, 2].min() == -3  # Y up, Z south
    assert position["max"][1] == 6
    tile = b3dm(model)
    magic, version, total, table, *_ = struct.unpack_from("<4sIIIIII", tile)
    assert (magic, version, total) == (b"b3dm", 1, len(tile)) and len(tile) % 8 == 0
    assert (28 + table) % 8 == 0 and json.loads(tile[28:28 + table]) == {"BATCH_LENGTH": 0}
    assert tile[28 + table:32 + table] == b"glTF"
    # the frame takes the local origin to the point it was made for, and up to up
    frame = enu_frame(120.4865, 30.7442, 0)
    ts = tileset(frame, [("tiles/0.b3dm", mesh)])
    matrix = np.array(ts["root"]["transform"]).reshape(4, 4).T  # column-major
    to_geo = Transformer.from_crs("EPSG:4978", "EPSG:4979", always_xy=True)
    lon, lat, h = to_geo.transform(*(matrix @ [0, 0, 10, 1])[:3])
    assert (lon, lat, h) == pytest.approx((120.4865, 30.7442, 10), abs=1e-6)
    assert ts["asset"]["version"] == "1.0" and ts["root"]["refine"] == "ADD"
    child = ts["root"]["children"][0]
    assert child["content"]["uri"] == "tiles/0.b3dm" and child["geometricError"] == 0
    assert child["boundingVolume"]["box"][:3] == [2, 1.5, 3]
    east = to_enu(np.array([120.4875]), np.array([30.7442]), np.array([0.0]), frame)[0]
    assert east[0] == pytest.approx(95.7, abs=0.1) and abs(east[1]) < 0.01


def test_the_delft_buildings_are_read_from_cityjson_into_meshes():
    scene = read_buildings(DATA / "delft.city.json")
    assert len(scene.buildings) == 160
    assert scene.centre == pytest.approx((4.3667, 52.0118), abs=1e-3)  # Delft, not RD metres
    lows, highs = zip(*(mesh.bounds() for _, mesh in scene.buildings), strict=True)
    assert min(lo[2] for lo in lows) == pytest.approx(0, abs=0.01)  # standing on the ground
    assert 5 < max(hi[2] for hi in highs) < 40
    assert np.abs(np.array(lows)[:, :2]).max() < 300  # a few hundred metres around the centre
    colors = np.unique(np.concatenate([np.concatenate(m.colors) for _, m in scene.buildings]),
                       axis=0)
    assert len(colors) >= 2  # LoD1 blocks: roofs and walls told apart by where they face


def test_cityjson_that_cannot_be_placed_or_read_is_refused(tmp_path):
    unplaced = tmp_path / "no-crs.city.json"
    unplaced.write_text(json.dumps({"type": "CityJSON", "version": "2.0", "vertices": [[0, 0, 0]],
                                    "CityObjects": {}}))
    with pytest.raises(CityJsonError, match="no-crs.city.json: metadata.referenceSystem"):
        read_buildings(unplaced)
    other = tmp_path / "feature.json"
    other.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    with pytest.raises(CityJsonError, match="not a CityJSON file"):
        read_buildings(other)
    broken = tmp_path / "broken.city.json"
    broken.write_bytes(b"{\"type\": \"CityJSON\", ")
    with pytest.raises(CityJsonError, match="broken.city.json: not JSON"):
        read_buildings(broken)
