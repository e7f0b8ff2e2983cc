"""The double-entry ledger.

Design overview
---------------
Every movement of money is a ``LedgerTransaction`` made of ``Posting`` rows. A posting adds
a signed amount (integer minor units) in one currency to one ``LedgerAccount``: positive is
a debit, negative a credit. A transaction must net to zero in every currency; ``post()``
refuses one that does not, and a flush-time check refuses it again for any code path that
bypasses ``post()``. Postings are append-only: a correction is a new transaction.

Accounts are typed (``AccountKind``) and point at what they belong to by id only (an
account id, a project id, a provider key) so the books hold no personal data. A balance is
always the sum of postings, never a stored number.

Sign convention for reading balances: assets (provider clearing) are debit-positive;
liabilities to people (supporter balance, project escrow, payouts in transit) and income
(platform fees, tips) are credit-positive, so ``balance()`` returns them negated.
"""
