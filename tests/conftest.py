"""Shared test set-up: the fixtures come from the ``tontine.testing`` pytest plugin."""
