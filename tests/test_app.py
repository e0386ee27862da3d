"""The first map page, run headless with Streamlit's AppTest against the sample database."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from twin.config import PROJECT_ROOT


@pytest.fixture
def app(sample_engine, monkeypatch):
    url = sample_engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("TWIN_DATABASE_URL", url)
    return AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=60)


def charts_json(at: AppTest) -> str:
    return "".join(c.proto.json for c in at.get("deck_gl_json_chart"))


def _deck(at: AppTest) -> dict:
    charts = at.get("deck_gl_json_chart")
    assert len(charts) == 1
    return json.loads(charts[0].proto.json)


def test_map_draws_the_sample_units_offline(app, village_sample):
    at = app.run()
    assert not at.exception
    assert at.title[0].value == "乡村数字孪生"
    deck = _deck(at)
    # no outside basemap: pydeck's sentinel tells Streamlit to draw none
    assert deck.get("mapStyle") == "__MAP_STYLE__" and not deck.get("mapProvider")
    assert "http" not in charts_json(at)
    layer = deck["layers"][0]
    villages = village_sample.units[village_sample.units["level"] == "village"]
    assert layer["id"] == "units-village"
    assert sorted(f["properties"]["code"] for f in layer["data"]["features"]) == sorted(
        villages["code"])
    residents = next(m for m in at.metric if m.label == "居民")
    assert residents.value == f"{len(village_sample.people):,}"


def test_english_is_selectable_by_url(app):
    app.query_params["lang"] = "en"
    at = app.run()
    assert not at.exception
    assert at.title[0].value == "Village Twin"
    assert any(m.label == "Residents" for m in at.metric)


def test_microgrid_level(app, village_sample):
    at = app.run()
    at.selectbox[0].set_value("microgrid").run()
    layer = _deck(at)["layers"][0]
    n = int((village_sample.units["level"] == "microgrid").sum())
    assert layer["id"] == "units-microgrid" and len(layer["data"]["features"]) == n
