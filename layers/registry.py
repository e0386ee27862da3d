"""The one list of the map's applications. Adding an application = one module + one line."""

from __future__ import annotations

from collections.abc import Iterator

from layers.application import Application
from layers.basemap import BaseMap
from layers.environment import Environment
from layers.governance import Governance
from layers.law import RuleOfLaw
from layers.moral import Moral
from layers.party import Party
from layers.scene import RealScene
from layers.selfgov import SelfGovernance
from layers.tourism import Tourism


class Registry:
    """Applications by name; refuses to replace one silently."""

    def __init__(self) -> None:
        self._apps: dict[str, Application] = {}

    def register(self, app: Application) -> Application:
        if not app.name or app.name in self._apps:
            raise ValueError(f"application name {app.name!r} is empty or already registered")
        self._apps[app.name] = app
        return app

    def get(self, name: str) -> Application:
        return self._apps[name]

    def names(self) -> list[str]:
        return list(self._apps)

    def __iter__(self) -> Iterator[Application]:
        return iter(self._apps.values())

    def __contains__(self, name: object) -> bool:
        return name in self._apps


APPLICATIONS = Registry()
for _app in (Governance(), Environment(), Tourism(), BaseMap(), Party(), SelfGovernance(),
             Moral(), RuleOfLaw(), RealScene()):
    APPLICATIONS.register(_app)

DEFAULT = ("governance", "base")


def parse(token: str | None) -> list[str]:
    """Applications named in a URL (``governance,tourism``); unknown names are dropped."""
    if not token:
        return list(DEFAULT)
    chosen = [n for n in token.split(",") if n in APPLICATIONS]
    return chosen or list(DEFAULT)
