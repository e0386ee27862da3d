"""Backup and restore: every row survives the round trip, a newer schema is refused, a twin
is replaced only when asked (and saved first), and a broken file changes nothing."""

from __future__ import annotations

import io
import json
import tarfile

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from PIL import Image

from twin.domain.links import save_photo
from twin.domain.scenes import scene_folder
from twin.ingest.scene import keep_models
from twin.runtime.cli import main
from twin.sample.scene import old_town
from twin.store.backup import BackupError, backup, read_manifest, restore, row_counts


def _fingerprint(engine) -> dict[str, str]:
    """An md5 of every table's rows in a stable order (geometries as EWKB)."""
    out = {}
    with engine.connect() as conn:
        for table in row_counts(engine):
            out[table] = conn.execute(sa.text(
                f'SELECT md5(string_agg(t::text, \'|\' ORDER BY t::text)) FROM "{table}" t'  # noqa: S608
            )).scalar()
    return out


def test_every_row_survives_a_round_trip(sample_db, db_factory, settings, tmp_path,
                                         village_sample):
    source = sample_db("backup_source")
    rasters = tmp_path / "src" / "rasters"
    rasters.mkdir(parents=True)
    (rasters / "dem.tif").write_bytes(b"II*\x00fake-tiff")
    src_settings = settings.model_copy(update={"data_dir": tmp_path / "src"})
    with source.connect() as conn:  # a photo of an event is part of the twin
        event_id = conn.execute(sa.text("SELECT min(id) FROM events")).scalar()
    jpeg = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 90, 40)).save(jpeg, format="JPEG")
    photo = save_photo(source, src_settings, event_id, jpeg.getvalue(), "test")
    frame, models = old_town(village_sample.buildings, radius_m=80.0)  # a real-scene model
    scene = keep_models(source, src_settings.data_dir, frame, models, name="old-town",
                        title="old town", actor="test")
    tileset = scene_folder(src_settings.data_dir, "old-town", scene.version) / "tileset.json"
    archive = tmp_path / "twin.tar"
    manifest = backup(source, src_settings, archive)
    assert manifest["rows"]["people"] == len(village_sample.people)
    assert read_manifest(archive)["revision"] == manifest["revision"]
    with tarfile.open(archive) as tar:
        assert {"manifest.json", "twin.dump", "rasters/dem.tif",
                f"photos/{event_id}/{photo.name}",
                f"scenes/old-town/{scene.version}/tileset.json"} <= set(tar.getnames())
        assert any(n.endswith(".b3dm") for n in tar.getnames())
    with pytest.raises(BackupError, match="exists already"):
        backup(source, src_settings, archive)

    target = db_factory("backup_target")  # migrated, empty
    dst_settings = settings.model_copy(update={"data_dir": tmp_path / "dst"})
    restore(target, dst_settings, archive)
    assert _fingerprint(target) == _fingerprint(source)
    assert (tmp_path / "dst" / "rasters" / "dem.tif").read_bytes() == b"II*\x00fake-tiff"
    assert (tmp_path / "dst" / "photos" / str(event_id) / photo.name).read_bytes() == \
        photo.read_bytes()
    restored = scene_folder(dst_settings.data_dir, "old-town", scene.version)
    assert (restored / "tileset.json").read_bytes() == tileset.read_bytes()
    assert sorted(p.relative_to(restored) for p in restored.rglob("*")) == \
        sorted(p.relative_to(tileset.parent) for p in tileset.parent.rglob("*"))

    # a twin is there now: only --replace, and what it held is saved first
    with pytest.raises(BackupError, match="holds a twin"):
        restore(target, dst_settings, archive)
    cfg = dst_settings.model_copy(update={
        "database_url": target.url.render_as_string(hide_password=False)})
    out = CliRunner().invoke(main, ["restore", str(archive), "--replace"],
                             obj={"settings": cfg})
    assert out.exit_code == 0, out.output
    assert list(tmp_path.glob("twin.replaced-*.tar"))
    assert _fingerprint(target) == _fingerprint(source)


def test_a_newer_or_broken_backup_is_refused(sample_db, settings, tmp_path):
    engine = sample_db("backup_refuse")
    before = row_counts(engine)
    newer = tmp_path / "newer.tar"
    data = json.dumps({"format": "village-twin-backup/1", "revision": "9999",
                       "rows": {}}).encode()
    with tarfile.open(newer, "w") as tar:
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        import io

        tar.addfile(info, io.BytesIO(data))
    with pytest.raises(BackupError, match="newer version of the twin"):
        restore(engine, settings, newer, replace=True)
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar at all")
    with pytest.raises(BackupError, match="not a backup of the twin"):
        restore(engine, settings, junk, replace=True)
    assert row_counts(engine) == before
