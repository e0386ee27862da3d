"""The applications of the one map: one registry, each a description of layers, legend, KPIs."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil

import pydeck as pdk
import pytest

import layers
from layers.application import Application, MapContext
from layers.registry import APPLICATIONS, Registry, parse
from twin.domain.summary import rollup
from twin.i18n import CATALOG, t

SCENE = {"name": "old-town", "title": "old town", "version": "0123456789abcdef",
         "w": 120.48, "s": 30.73, "e": 120.50, "n": 30.75}
CTX = MapContext(versions={name: "7" for app in APPLICATIONS for name in app.tile_layers},
                 on_terrain=True, scenes=[SCENE])


def test_registry_lists_every_application_module_once():
    found = set()
    for info in pkgutil.iter_modules(layers.__path__):
        module = importlib.import_module(f"layers.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Application) and cls is not Application and \
                    cls.__module__ == module.__name__:
                found.add(cls.name)
    assert found == set(APPLICATIONS.names())
    assert set(APPLICATIONS.names()) >= {"governance", "environment", "tourism", "base"}


def test_registry_refuses_a_silent_overwrite():
    reg = Registry()
    reg.register(APPLICATIONS.get("tourism"))
    with pytest.raises(ValueError, match="already registered"):
        reg.register(APPLICATIONS.get("tourism"))


def test_url_token_parsing():
    assert parse("tourism,nope,environment") == ["tourism", "environment"]
    assert parse(None) == parse("nope") == ["governance", "base"]


@pytest.mark.parametrize("name", APPLICATIONS.names())
def test_application_layers_are_local_versioned_and_serialisable(name):
    app = APPLICATIONS.get(name)
    spec = json.loads(pdk.Deck(layers=app.layers(CTX), map_provider=None).to_json())
    assert spec["layers"]
    text = json.dumps(spec)
    assert "http" not in text
    for layer in spec["layers"]:
        if layer["@@type"] == "Tile3DLayer":  # a real-scene model: its version in its path
            assert layer["data"] == "/api/scenes/old-town/0123456789abcdef/tileset.json"
            assert layer["pickable"] is False  # a picked 3D tile cannot go back to the page
            continue
        assert layer["data"].startswith("/api/") and layer["data"].endswith("?v=7")
        if layer["@@type"] == "MVTLayer":
            assert layer["data"].startswith("/api/tiles/")
            assert layer["loadOptions"]["mvt"]["workerUrl"].startswith("/api/static/")
        else:  # small sets sent whole
            assert layer["@@type"] == "GeoJsonLayer", layer["id"]
        assert layer["extensions"] == [{"@@type": "_TerrainExtension"}]
        # pydeck turns bare strings into JS expressions: only accessors may be expressions
        for key, value in layer.items():
            if isinstance(value, str) and value.startswith("@@="):
                assert key.startswith("get"), (name, key, value)


@pytest.mark.parametrize("name", APPLICATIONS.names())
def test_legend_and_kpis_in_both_languages(name, sample_engine):
    app = APPLICATIONS.get(name)
    assert app.title_key in CATALOG
    summary = rollup(sample_engine)
    for lang in ("zh", "en"):
        legend = app.legend(lang)
        assert legend.entries and all(e.label and "." not in e.label for e in legend.entries)
        kpis = app.kpis(summary, lang)
        assert kpis and all(k.label and "." not in k.label for k in kpis)
    assert app.legend("zh").entries[0].label != app.legend("en").entries[0].label


def test_governance_counts_and_no_second_resolution_rate(sample_engine, village_sample):
    """The sidebar shows the unit's counts; the resolution rate is a measure of a period,
    shown once (the charts and the wall): test_app checks that they agree."""
    kpis = APPLICATIONS.get("governance").kpis(rollup(sample_engine), "en")
    assert "Resolution rate" not in {k.label for k in kpis}
    ev = village_sample.events
    closed = next(k for k in kpis if k.label == t("kpi.events_closed", "en"))
    assert closed.value == ev["status"].isin(["resolved", "closed"]).sum()


def test_terrain_layer_has_literals_not_expressions():
    from surfaces.deck import terrain_layer

    info = {"version": "3", "minzoom": 8, "maxzoom": 15, "bounds": [120.4, 30.6, 120.6, 30.8]}
    spec = json.loads(pdk.Deck(layers=[terrain_layer(info, info)], map_provider=None).to_json())
    layer = spec["layers"][0]
    assert layer["operation"] == "terrain+draw"
    assert layer["elevationData"] == "/api/terrain/{z}/{x}/{y}.png?v=3"
    assert layer["texture"] == "/api/imagery/{z}/{x}/{y}.webp?v=3"
    assert not [k for k, v in layer.items() if isinstance(v, str) and v.startswith("@@=")]


def test_overview_draws_the_terrain_beneath_instead_of_draping(tmp_path, village_sample):
    from surfaces.deck import DRAPE_MIN_ZOOM, twin_basemap
    from twin.sample.raster import write_sample_rasters

    assert twin_basemap(tmp_path, 14) == ([], False)  # no rasters: no terrain, nothing draped
    write_sample_rasters(village_sample, tmp_path / "rasters")
    near, draped = twin_basemap(tmp_path, DRAPE_MIN_ZOOM)
    far, flat = twin_basemap(tmp_path, DRAPE_MIN_ZOOM - 2)
    assert draped and not flat
    near, far = (json.loads(pdk.Deck(layers=x, map_provider=None).to_json())["layers"][0]
                 for x in (near, far))
    assert near["operation"] == "terrain+draw" and "parameters" not in near
    assert far["operation"] == "draw" and far["parameters"] == {"depthWriteEnabled": False}
    county, on = twin_basemap(tmp_path, 9.5)  # the whole county: one picture, no terrain
    layer = json.loads(pdk.Deck(layers=county, map_provider=None).to_json())["layers"][0]
    assert not on and layer["@@type"] == "BitmapLayer"
    assert layer["image"].startswith("/api/imagery/overview.webp?v=")
    assert len(layer["bounds"]) == 4


def test_units_carry_counts_and_governance_shades_them(sample_engine):
    from twin.domain.units import units_geojson

    micro = units_geojson(sample_engine, "microgrid")
    for f in micro["features"][:10]:
        summary = rollup(sample_engine, f["properties"]["id"])
        n = summary["residents"]  # a count from 1 to 4 is null: "fewer than five"
        assert f["properties"]["residents"] == (n if n == 0 or n >= 5 else None)
        assert f["properties"]["events_open"] == summary["events_open"]
        assert set(f["properties"]) == {"id", "code", "name", "level", "area_km2",
                                        "residents", "events_open"}
    governance = APPLICATIONS.get("governance")
    fill = governance.unit_fill(micro)
    assert any(f["properties"]["events_open"] for f in micro["features"])  # the sample has some
    assert fill.startswith("properties.events_open > ")
    quiet = {"features": [{"properties": {"events_open": 0}}]}
    assert governance.unit_fill(quiet) is None
    assert APPLICATIONS.get("tourism").unit_fill(micro) is None


def test_filters_choose_only_known_literals_and_the_heat_map_follows_the_period():
    from dataclasses import replace

    from layers.governance import Governance

    ctx = replace(CTX, time_range=(1_780_000_000, 1_780_086_400),
                  filters={"status": ("handling",), "category": ("fire", "flood"),
                           "view": ("both",)})
    layers = {layer.id: layer for layer in Governance().layers(ctx)}
    heat = layers["governance-heat"]
    assert heat.type == "ColumnLayer"
    assert heat.data == "/api/heat/events.json?from=1780000000&to=1780086400&v=7"
    fill = json.loads(pdk.Deck(layers=[layers["governance-events"]]).to_json())[
        "layers"][0]["getFillColor"]
    assert "'handling'" in fill and "'reported'" not in fill
    assert "properties.category === 'fire' || properties.category === 'flood'" in fill
    only_points = replace(ctx, filters={"view": ("points",)})
    assert [layer.id for layer in Governance().layers(only_points)] == ["governance-events"]


@pytest.mark.parametrize("name", APPLICATIONS.names())
def test_every_filter_option_has_text_in_both_languages(name):
    from twin.i18n import CATALOG

    for f in APPLICATIONS.get(name).filters:
        for key in (f.label_key, *(f.option_prefix + o for o in f.options)):
            assert set(CATALOG[key]) == {"zh", "en"}, key
