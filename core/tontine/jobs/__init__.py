"""Background jobs: rows claimed with a lease, run at least once with an exactly-once effect."""
