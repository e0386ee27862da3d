"""Coordinate reference systems used by the twin.

Geometry is stored in :data:`STORAGE_CRS` (WGS84 longitude/latitude, within about a
metre of CGCS2000) and measured in :data:`METRIC_CRS` (CGCS2000 3-degree Gauss-Kruger,
central meridian 120°E, metres, no zone prefix).

:data:`to_metric` and :data:`to_storage` are built on first use and cached; use them
either as a transformer (``to_metric.transform(lon, lat)``) or call them to get the
underlying :class:`pyproj.Transformer` (``to_metric()``). Both are ``always_xy``.
"""

from __future__ import annotations

import threading
from typing import Any

from pyproj import Transformer

STORAGE_CRS = "EPSG:4326"
METRIC_CRS = "EPSG:4549"


class _CachedTransformer:
    """A lazily built, cached ``always_xy`` transformer between two CRSs."""

    def __init__(self, source: str, target: str) -> None:
        self.source = source
        self.target = target
        self._transformer: Transformer | None = None
        self._lock = threading.Lock()

    def __call__(self) -> Transformer:
        """Return the cached :class:`pyproj.Transformer`."""
        if self._transformer is None:
            with self._lock:
                if self._transformer is None:
                    self._transformer = Transformer.from_crs(
                        self.source, self.target, always_xy=True
                    )
        return self._transformer

    def __getattr__(self, name: str) -> Any:
        return getattr(self(), name)

    def __repr__(self) -> str:
        return f"<cached transformer {self.source} -> {self.target}>"


to_metric = _CachedTransformer(STORAGE_CRS, METRIC_CRS)
"""Longitude/latitude in :data:`STORAGE_CRS` → x/y metres in :data:`METRIC_CRS`."""

to_storage = _CachedTransformer(METRIC_CRS, STORAGE_CRS)
"""x/y metres in :data:`METRIC_CRS` → longitude/latitude in :data:`STORAGE_CRS`."""
