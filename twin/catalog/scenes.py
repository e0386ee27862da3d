"""Real-scene 3D (三维实景): the 3D Tiles models the map draws (served from files, not tiles
of this catalogue; the rows say which version of each is current and where it stands)."""

from __future__ import annotations

from twin.catalog.model import Columns, Element

SCENES = Element(
    name="scenes", table="scenes", kind="geography",
    columns=Columns(public=("id", "name", "title", "kind", "version", "files", "bytes",
                            "footprint", "imported_at"), internal=("imported_by",)),
)
