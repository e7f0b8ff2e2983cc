"""Demo dreams (placeholder)."""


def load() -> str:
    return "gift: nothing yet"
