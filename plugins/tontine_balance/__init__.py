"""The balance plugin."""
