"""Contributions, payments, refunds and payouts; the core owns their states."""
