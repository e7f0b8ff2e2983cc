"""The loan plugin: Babyloan/Kiva-style micro-lending through field partners.

Lenders lend small sums to a borrower vetted by a local field partner, which disburses the
loan and collects the repayments; repayments are split exactly among the lenders and
credited to their Tontine balances, from which they lend again.
"""
