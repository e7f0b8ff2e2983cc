"""The sandbox plugin."""
