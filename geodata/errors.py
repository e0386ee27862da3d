"""The one error tree of ``geodata`` (it imports nothing of the twin): a file that cannot be
read or written as geodata, with the file and the reason in the message."""


class GeodataError(ValueError):
    """Base class of every error geodata raises on purpose."""
