"""Accounts, roles and personal data (export and erasure)."""
