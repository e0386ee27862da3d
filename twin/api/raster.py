"""Placeholder: the raster routes arrive in their own change."""

from fastapi import APIRouter

router = APIRouter()
