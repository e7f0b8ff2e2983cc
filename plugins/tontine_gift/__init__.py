"""The gift plugin."""
