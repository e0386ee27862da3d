"""What the twin publishes, derived from the catalogue: vector tiles, OGC API collections, exports, the Open311 read model."""

EXPORT_FORMATS = ("geojson", "gpkg", "csv", "shp")  # the files an export can be written as
