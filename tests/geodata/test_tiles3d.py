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
    primitives = doc["meshes"][0]["primitives"]
    assert len(primitives) == 2  # one per colour, each with its own matte material
    colors = sorted(m["pbrMetallicRoughness"]["baseColorFactor"] for m in doc["materials"])
    assert colors == [pytest.approx([0.2, 0.2, 0.3, 1]), pytest.approx([0.5, 0.5, 0.5, 1])]
    assert all(m["pbrMetallicRoughness"]["metallicFactor"] == 0 for m in doc["materials"])
    assert sum(doc["accessors"][p["attributes"]["POSITION"]]["count"] for p in primitives) == 12
    xyz = np.frombuffer(body[:12 * 12], dtype=np.float32).reshape(-1, 3)
    assert xyz[:, 1].max() == 6 and xyz[:, 2].min() == -3  # Y up, Z south
    assert max(doc["accessors"][p["attributes"]["POSITION"]]["max"][1]
               for p in primitives) == 6
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


def _write_tileset(folder: Path, content_uri: str = "tiles/0.b3dm", **root) -> None:
    """A small tileset near Wuzhen: one box tile."""
    mesh = Mesh()
    mesh.add(np.array([[[0, 0, 0], [4, 0, 0], [4, 3, 5]]]), (0.5, 0.5, 0.5))
    (folder / "tiles").mkdir(parents=True, exist_ok=True)
    (folder / "tiles" / "0.b3dm").write_bytes(b3dm(glb(mesh)))
    ts = tileset(enu_frame(120.4865, 30.7442), [(content_uri, mesh)])
    ts["root"].update(root)
    (folder / "tileset.json").write_text(json.dumps(ts))


def test_a_tileset_folder_is_checked_and_placed(tmp_path):
    from geodata.tiles3d import check_tileset

    _write_tileset(tmp_path)
    info = check_tileset(tmp_path, max_bytes=1 << 20)
    assert info.files == 2 and info.bytes > 100
    west, south, east, north = info.bounds
    assert (west, south) == pytest.approx((120.4865, 30.7442), abs=1e-7)  # the frame's origin
    assert 0 < east - west < 0.0001 and 0 < north - south < 0.0001  # the box: a few metres


@pytest.mark.parametrize("uri,why", [
    ("../outside.b3dm", "points outside the tileset's folder"),
    ("https://example.com/0.b3dm", "points at another place"),
    ("/etc/passwd", "points at another place"),
    ("tiles/missing.b3dm", "is not in the tileset"),
])
def test_a_tileset_naming_files_elsewhere_is_refused(tmp_path, uri, why):
    from geodata.tiles3d import TilesetError, check_tileset

    (tmp_path / "outside.b3dm").write_bytes(b"b3dm")
    folder = tmp_path / "scene"
    _write_tileset(folder, uri)
    with pytest.raises(TilesetError, match=why):
        check_tileset(folder, max_bytes=1 << 20)


@pytest.mark.parametrize("extension,what", [
    ("KHR_draco_mesh_compression", "Draco-compressed meshes"),
    ("KHR_texture_basisu", "KTX2/Basis textures")])
def test_tiles_that_need_a_decoder_from_another_host_are_refused(tmp_path, extension, what):
    from geodata.tiles3d import TilesetError, check_tileset

    _write_tileset(tmp_path)
    doc = {"asset": {"version": "2.0"}, "extensionsUsed": [extension]}
    text = json.dumps(doc).encode()
    text += b" " * (-len(text) % 4)
    model = struct.pack("<4sII", b"glTF", 2, 20 + len(text)) + struct.pack(
        "<I4s", len(text), b"JSON") + text
    (tmp_path / "tiles" / "0.b3dm").write_bytes(b3dm(model))
    with pytest.raises(TilesetError, match=f"tiles/0.b3dm: {what}"):
        check_tileset(tmp_path, max_bytes=1 << 20)


def test_hostile_zips_are_refused_before_anything_is_written(tmp_path):
    import zipfile

    from geodata.tiles3d import TilesetError, unpack_zip

    slip = tmp_path / "slip.zip"
    with zipfile.ZipFile(slip, "w") as zf:
        zf.writestr("tileset.json", "{}")
        zf.writestr("../../evil.txt", "x")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(TilesetError, match="points outside the archive's folder"):
        unpack_zip(slip, out, max_bytes=1 << 20)
    assert list(out.iterdir()) == [] and not (tmp_path / "evil.txt").exists()
    huge = tmp_path / "huge.zip"  # a table of contents that claims 10 GB
    with zipfile.ZipFile(huge, "w") as zf:
        zf.writestr("tileset.json", "{}")
    raw = bytearray(huge.read_bytes())
    central = raw.rfind(b"PK\x01\x02")  # the entry's uncompressed size in the directory
    raw[central + 24:central + 28] = struct.pack("<I", 0xFFFFFFF0)
    huge.write_bytes(bytes(raw))
    with pytest.raises(TilesetError, match="claim"):
        unpack_zip(huge, out, max_bytes=10 << 30 >> 4)
    assert list(out.iterdir()) == []
    good = tmp_path / "good.zip"
    scene = tmp_path / "scene"
    _write_tileset(scene)
    with zipfile.ZipFile(good, "w") as zf:
        for f in scene.rglob("*"):
            zf.write(f, "wuzhen/" + str(f.relative_to(scene)))
    assert unpack_zip(good, out, max_bytes=1 << 20) == out / "wuzhen"


def test_a_tileset_with_a_link_a_loop_or_too_many_bytes_is_refused(tmp_path):
    from geodata.tiles3d import TilesetError, check_tileset

    _write_tileset(tmp_path)
    with pytest.raises(TilesetError, match="more than a scene may hold"):
        check_tileset(tmp_path, max_bytes=100)
    loop = json.loads((tmp_path / "tileset.json").read_text())
    loop["root"]["children"].append({"boundingVolume": loop["root"]["boundingVolume"],
                                     "geometricError": 0, "content": {"uri": "tileset.json"}})
    (tmp_path / "tileset.json").write_text(json.dumps(loop))
    with pytest.raises(TilesetError, match="named twice"):
        check_tileset(tmp_path, max_bytes=1 << 20)
    _write_tileset(tmp_path)
    (tmp_path / "tiles" / "passwd.b3dm").symlink_to("/etc/passwd")
    with pytest.raises(TilesetError, match="symbolic link"):
        check_tileset(tmp_path, max_bytes=1 << 20)
