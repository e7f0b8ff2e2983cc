"""Tontine: a kit for running a solidarity-funding site that federates its listings."""

from tontine.app import create_app

__all__ = ["create_app"]
