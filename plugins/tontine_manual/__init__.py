"""The manual plugin."""
