"""What comes in: file imports, registers, the bulk loader."""

RASTER_KINDS = ("dem", "imagery")  # the rasters a file can be imported as (twin.ingest.importer)
