"""Real-scene 3D (三维实景): 3D Tiles folders and zips, and CityJSON converted, checked before
anything is kept, recorded with their version, and served to the map."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from pyproj import Transformer

from geodata.tiles3d import enu_frame, write_tileset
from tests.conftest import signed_clients
from twin.domain.scenes import current_scenes, scene_folder
from twin.errors import LoadError
from twin.ingest.scene import import_scene, keep_models
from twin.sample.scene import old_town

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def engine(accounts_db):
    return accounts_db("scenes")


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


def _rows(engine) -> list[tuple]:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT name, version, kind FROM scenes ORDER BY name")).all()


def _old_town_folder(village_sample, folder: Path, radius: float = 120.0) -> Path:
    frame, models = old_town(village_sample.buildings, radius_m=radius)
    folder.mkdir(parents=True)
    write_tileset(folder, frame, models)
    return folder


def _lod2_house(path: Path, lon: float, lat: float) -> Path:
    """A CityJSON 2.0 house in CGCS2000 Gauss–Krüger (EPSG:4549) metres: walls, a gable roof
    as semantic surfaces, and a door cut into the front wall (a hole)."""
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:4549", always_xy=True).transform(lon, lat)
    v = [[0, 0, 0], [10, 0, 0], [10, 6, 0], [0, 6, 0], [0, 0, 6], [10, 0, 6], [10, 6, 6],
         [0, 6, 6], [0, 3, 9], [10, 3, 9], [4, 0, 0.5], [6, 0, 0.5], [6, 0, 2.5], [4, 0, 2.5]]
    surfaces = [[[0, 3, 2, 1]],                       # ground
                [[0, 1, 5, 4], [10, 13, 12, 11]],     # front wall with its door
                [[1, 2, 6, 5]], [[2, 3, 7, 6]], [[3, 0, 4, 7]],
                [[4, 5, 9, 8]], [[6, 7, 8, 9]],       # roof
                [[5, 6, 9]], [[7, 4, 8]]]             # gables
    doc = {"type": "CityJSON", "version": "2.0",
           "transform": {"scale": [0.001, 0.001, 0.001], "translate": [x, y, 3.0]},
           "metadata": {"referenceSystem": "https://www.opengis.net/def/crs/EPSG/0/4549"},
           "vertices": [[round(a * 1000), round(b * 1000), round(c * 1000)] for a, b, c in v],
           "CityObjects": {"house-1": {"type": "Building", "geometry": [{
               "type": "Solid", "lod": "2.2", "boundaries": [surfaces],
               "semantics": {"surfaces": [{"type": "GroundSurface"}, {"type": "WallSurface"},
                                          {"type": "RoofSurface"}],
                             "values": [[0, 1, 1, 1, 1, 2, 2, 1, 1]]}}]}}}
    path.write_text(json.dumps(doc))
    return path


def test_a_tileset_folder_and_its_zip_are_kept_as_versions(engine, village_sample, data_dir,
                                                           tmp_path):
    folder = _old_town_folder(village_sample, tmp_path / "old-town")
    first = import_scene(engine, data_dir, folder, actor="t-admin", name="old-town")
    assert (first.kind, first.files) == ("3dtiles", len(list(folder.rglob("*.b3dm"))) + 1)
    kept = scene_folder(data_dir, "old-town", first.version)
    assert (kept / "tileset.json").read_bytes() == (folder / "tileset.json").read_bytes()
    assert import_scene(engine, data_dir, folder, actor="t-admin",
                        name="old-town").version == first.version  # the same model
    zipped = tmp_path / "old-town.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        for f in _old_town_folder(village_sample, tmp_path / "bigger", radius=200).rglob("*"):
            zf.write(f, "model/" + str(f.relative_to(tmp_path / "bigger")))
    second = import_scene(engine, data_dir, zipped, actor="t-admin", name="old-town")
    assert second.version != first.version and second.files > first.files
    assert ("old-town", second.version, "3dtiles") in _rows(engine)
    scenes = {s["name"]: s for s in current_scenes(engine)}
    assert scenes["old-town"]["version"] == second.version
    assert scene_folder(data_dir, "old-town", first.version).exists()  # cached clients


def test_cityjson_in_the_county_is_converted_and_delft_is_refused(engine, village_sample,
                                                                  data_dir, tmp_path):
    lon, lat = village_sample.buildings.geometry.union_all().centroid.coords[0]
    house = _lod2_house(tmp_path / "house.city.json", lon, lat)
    report = import_scene(engine, data_dir, house, actor="t-admin")
    assert (report.name, report.kind, report.files) == ("house", "cityjson", 2)
    west, south, east, north = report.bounds
    assert west <= lon <= east + 1e-4 and south <= lat <= north + 1e-4
    tiles = list(scene_folder(data_dir, "house", report.version).rglob("*.b3dm"))
    assert len(tiles) == 1 and tiles[0].stat().st_size > 1000
    before = _rows(engine)
    with pytest.raises(LoadError, match=r"delft.city.json: the model stands at 4.36\d+, "
                                        r"52.01\d+, outside the county"):
        import_scene(engine, data_dir, DATA / "delft.city.json", actor="t-admin")
    assert _rows(engine) == before and not (data_dir / "scenes" / "delft").exists()
    assert not [p for p in (data_dir / "scenes").iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("change,why", [
    (lambda ts: ts["root"]["children"][0]["content"].update(uri="../../secret.b3dm"),
     "points outside the tileset's folder"),
    (lambda ts: ts["root"]["children"][0]["content"].update(uri="http://example.com/a.b3dm"),
     "points at another place"),
    (lambda ts: ts["root"].update(transform=enu_frame(4.3667, 52.0118).T.reshape(-1).tolist()),
     "outside the county"),
])
def test_a_hostile_or_misplaced_tileset_writes_nothing(engine, village_sample, data_dir,
                                                       tmp_path, change, why):
    folder = _old_town_folder(village_sample, tmp_path / "bad")
    ts = json.loads((folder / "tileset.json").read_text())
    change(ts)
    (folder / "tileset.json").write_text(json.dumps(ts))
    before = _rows(engine)
    with pytest.raises(LoadError, match=why):
        import_scene(engine, data_dir, folder, actor="t-admin", name="bad")
    assert _rows(engine) == before
    assert not (data_dir / "scenes" / "bad").exists()
    assert not [p for p in (data_dir / "scenes").iterdir() if p.name.startswith(".")]


def test_scenes_are_served_to_readers_with_their_version(engine, village_sample, settings,
                                                         tmp_path):
    data = Path(settings.data_dir)
    frame, models = old_town(village_sample.buildings, radius_m=80)
    report = keep_models(engine, data, frame, models, name="served", title="served",
                         actor="test")
    base = f"/scenes/served/{report.version}"
    with signed_clients(engine, settings, ["t-planner", "t-screen", "anonymous"]) as c:
        tileset = c["t-planner"].get(f"{base}/tileset.json")
        assert tileset.status_code == 200 and "immutable" in tileset.headers["cache-control"]
        uri = tileset.json()["root"]["children"][0]["content"]["uri"]
        tile = c["t-screen"].get(f"{base}/{uri}")
        assert tile.status_code == 200 and tile.content[:4] == b"b3dm"
        assert c["anonymous"].get(f"{base}/tileset.json").status_code == 401
        for bad in (f"{base}/../../../etc/passwd", f"{base}/%2e%2e/%2e%2e/pii.key",
                    f"/scenes/served/{'0' * 16}/tileset.json", "/scenes/nope/"
                    f"{report.version}/tileset.json", f"{base}/tiles/none.b3dm"):
            assert c["t-planner"].get(bad).status_code == 404, bad


def test_hostile_zips_are_refused_by_the_import_and_leave_nothing(engine, data_dir, tmp_path):
    import struct

    slip = tmp_path / "slip.zip"
    with zipfile.ZipFile(slip, "w") as zf:
        zf.writestr("tileset.json", "{}")
        zf.writestr("../../../escaped.txt", "x")
    huge = tmp_path / "huge.zip"  # its table of contents claims 10 GB
    with zipfile.ZipFile(huge, "w") as zf:
        for i in range(3):
            zf.writestr(f"tiles/{i}.b3dm", "b3dm")
    raw = bytearray(huge.read_bytes())
    at = 0
    while (at := raw.find(b"PK\x01\x02", at)) >= 0:  # each entry in the central directory
        raw[at + 24:at + 28] = struct.pack("<I", 0xD0000000)  # ~3.3 GB each
        at += 4
    huge.write_bytes(bytes(raw))
    before = _rows(engine)
    with pytest.raises(LoadError, match="slip.zip: the entry '../../../escaped.txt' points "
                                        "outside the archive's folder"):
        import_scene(engine, data_dir, slip, actor="t-admin")
    with pytest.raises(LoadError, match=r"huge.zip: its files claim 9.8 GB, more than a scene "
                                        r"may hold here \(2.0 GB\)"):
        import_scene(engine, data_dir, huge, actor="t-admin")
    assert _rows(engine) == before
    assert not (tmp_path / "escaped.txt").exists() and not (data_dir / "escaped.txt").exists()
    assert not [p for p in (data_dir / "scenes").rglob("*")]  # nothing unpacked stays
