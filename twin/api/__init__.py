"""The HTTP API under ``/api`` (FastAPI): ``create_api`` (``twin.api.app``) builds it from
one router module per area; ``twin.api.deps`` holds what the routers depend on."""

from twin.api.app import create_api

__all__ = ["create_api"]
