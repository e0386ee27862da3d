"""One error tree for the twin; the CLI, the UI and the API turn these into messages."""


class TwinError(Exception):
    """Base class of every error the twin raises on purpose."""


class ConfigError(TwinError):
    """A setting is missing or wrong."""


class ClusterError(TwinError):
    """The project's own PostgreSQL cluster could not be created, started or stopped."""


class DatabaseError(TwinError):
    """The database cannot be reached or lacks what the twin needs (PostGIS, migrations)."""


class NotFound(TwinError):
    """A unit or element that was asked for does not exist."""


class LoadError(TwinError):
    """Rows could not be written; nothing of the batch was kept."""
