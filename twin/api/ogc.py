"""Placeholder: the ogc routes arrive in their own change."""

from fastapi import APIRouter

router = APIRouter()
