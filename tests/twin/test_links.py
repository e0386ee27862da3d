"""Field links: signed, scoped, expiring, revocable; photos checked and stored clean."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import sqlalchemy as sa
from PIL import Image

from twin.domain import links
from twin.domain import workflow as wf
from twin.errors import NotFound

T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def engine(sample_db):
    """A database of its own (these tests write), holding the village sample."""
    return sample_db("links")


@pytest.fixture
def field_settings(settings, tmp_path):
    return settings.model_copy(update={"data_dir": tmp_path, "link_key": "test-link-key-0123"})


@pytest.fixture
def event(engine, village_sample):
    micro = village_sample.units[village_sample.units["level"] == "microgrid"].iloc[0]
    p = micro.geometry.representative_point()
    return wf.report(engine, category="safety", title="电线老化", lon=p.x, lat=p.y,
                     source="grid_worker", actor="网格员", now=T0)


def test_a_link_opens_its_event_until_it_expires(engine, field_settings, event):
    token = links.create(engine, field_settings, "event", event.id, "镇综治中心", now=T0)
    link = links.verify(engine, field_settings, token, now=T0 + dt.timedelta(hours=71))
    assert (link.scope, link.scope_id) == ("event", event.id)
    assert link.expires_at == T0 + dt.timedelta(hours=72)  # the default lifetime
    assert [e["id"] for e in links.events_in_scope(engine, link)] == [event.id]
    assert links.covers(engine, link, event.id) and not links.covers(engine, link, 1)
    with pytest.raises(links.LinkError, match="expired at 2026-11-05 09:00"):
        links.verify(engine, field_settings, token, now=T0 + dt.timedelta(hours=72))


def test_tampered_and_revoked_links_are_refused(engine, field_settings, event):
    token = links.create(engine, field_settings, "event", event.id, "镇综治中心", now=T0)
    link_id, expires, mac = token.split(".")
    for bad in (f"{int(link_id) + 1}.{expires}.{mac}", f"{link_id}.{int(expires) + 9999}.{mac}",
                f"{link_id}.{expires}.{mac[:-2]}xx"):
        with pytest.raises(links.LinkError, match="altered"):
            links.verify(engine, field_settings, bad, now=T0)
    for broken in ("", "abc", "1.2", "x.y.z"):
        with pytest.raises(links.LinkError, match="incomplete or damaged"):
            links.verify(engine, field_settings, broken, now=T0)
    other_key = field_settings.model_copy(update={"link_key": "another-installation"})
    with pytest.raises(links.LinkError, match="altered"):
        links.verify(engine, other_key, token, now=T0)
    links.revoke(engine, int(link_id), now=T0)
    with pytest.raises(links.LinkError, match="withdrawn"):
        links.verify(engine, field_settings, token, now=T0)
    with pytest.raises(NotFound):
        links.revoke(engine, int(link_id))


def test_a_grid_link_opens_the_grids_open_events_only(engine, field_settings, event):
    with engine.connect() as conn:
        grid_id = conn.execute(sa.text("SELECT grid_id FROM events WHERE id = :id"),
                               {"id": event.id}).scalar()
        elsewhere = conn.execute(sa.text(
            "SELECT id FROM events WHERE grid_id <> :g LIMIT 1"), {"g": grid_id}).scalar()
    token = links.create(engine, field_settings, "grid", grid_id, "村网格长", now=T0)
    link = links.verify(engine, field_settings, token, now=T0)
    opened = {e["id"] for e in links.events_in_scope(engine, link)}
    assert event.id in opened and elsewhere not in opened
    assert all(e["status"] in wf.OPEN for e in links.events_in_scope(engine, link))
    assert links.covers(engine, link, event.id) and not links.covers(engine, link, elsewhere)
    with pytest.raises(NotFound, match="no grid with id"):
        links.create(engine, field_settings, "grid", event.id * 0 + 10**9, "x", now=T0)
    with pytest.raises(links.LinkError, match="not 'town'"):
        links.create(engine, field_settings, "town", 1, "x", now=T0)


def _jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (3000, 1500), (120, 160, 90))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def test_photos_are_checked_shrunk_and_stored_without_metadata(engine, field_settings, event):
    path = links.save_photo(engine, field_settings, event.id, _jpeg_with_gps(), "link:1")
    stored = Image.open(path)
    assert stored.format == "JPEG" and max(stored.size) == 2048
    assert not stored.getexif()  # no device or place tags kept
    assert path.parent == field_settings.data_dir / "photos" / str(event.id)
    again = links.save_photo(engine, field_settings, event.id, _jpeg_with_gps(), "link:1")
    assert again == path
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM event_photos WHERE event_id = :e"),
                            {"e": event.id}).scalar() == 1
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, format="GIF")
    with pytest.raises(links.PhotoError, match="GIF files are not accepted"):
        links.save_photo(engine, field_settings, event.id, gif.getvalue(), "x")
    with pytest.raises(links.PhotoError, match="not a photo"):
        links.save_photo(engine, field_settings, event.id, b"<script>alert(1)</script>", "x")
    with pytest.raises(links.PhotoError, match="at most 8 MB"):
        links.save_photo(engine, field_settings, event.id, b"\xff" * (9 << 20), "x")


def test_the_command_line_makes_and_withdraws_links(engine, field_settings, event):
    from click.testing import CliRunner

    from twin.runtime.cli import main

    url = engine.url.render_as_string(hide_password=False)
    cfg = field_settings.model_copy(update={"database_url": url})

    def run(*args):
        return CliRunner().invoke(main, list(args), obj={"settings": cfg})

    made = run("link", "create", "--event", event.code, "--by", "镇综治中心", "--hours", "2",
               "--base-url", "http://127.0.0.1:8501")
    assert made.exit_code == 0, made.output
    token = made.output.strip().split("?link=")[1]
    link = links.verify(engine, cfg, token)
    assert link.scope_id == event.id and link.created_by == "镇综治中心"
    assert run("link", "revoke", str(link.id)).exit_code == 0
    with pytest.raises(links.LinkError, match="withdrawn"):
        links.verify(engine, cfg, token)
    both = run("link", "create", "--by", "x")
    assert both.exit_code == 2 and "one of --event, --grid or --leader" in both.output
    unknown = run("link", "create", "--grid", "999", "--by", "x")
    assert unknown.exit_code == 2 and "no grid with code '999'" in unknown.output
    # a micro-grid leader's page: the link opens it, and only it
    with engine.connect() as conn:
        microgrid, leader = conn.execute(sa.text(
            "SELECT m.code, l.id FROM microgrid_leaders l JOIN units m ON m.id = "
            "l.microgrid_id WHERE l.relieved_on IS NULL ORDER BY l.id LIMIT 1")).one()
    made = run("link", "create", "--leader", microgrid, "--by", "镇党委",
               "--base-url", "http://127.0.0.1:8501")
    assert made.exit_code == 0, made.output
    token = made.output.strip().split("/api/leader/")[1]
    assert links.verify(engine, cfg, token, scopes=("leader",)).scope_id == leader
    nobody = run("link", "create", "--leader", "999", "--by", "x")
    assert nobody.exit_code != 0 and "no serving leader" in nobody.output
