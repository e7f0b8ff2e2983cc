"""The core money path with no shipped plugin: contribute, retry, cap, refund."""

import pytest

from tontine.funding import ContributionRefused
from tontine.ledger.models import AccountKind
from tontine.ledger.services import balance, trial_balance
from tontine.payments import services as pay
from tontine.projects.services import raised
from tontine.testing import InstantSite


def test_contribute_retry_cap_and_refund(make_app, make_user, make_project):
    app = make_app(plugins=[], extra_plugins=[InstantSite()], PAYMENT_PROVIDERS=["instant"])
    with app.app_context():
        project = make_project(funding_model="plain", goal=100)
        supporter = make_user()
        first = {"project_id": project.id, "supporter": supporter, "provider_key": "instant",
                 "idempotency_key": "k1", "return_url": "/"}
        contribution, payment, start = pay.contribute(amount="60", tip="2", **first)
        assert payment.state == "succeeded"
        assert start is not None

        again, _, start_again = pay.contribute(amount="60", **first)
        assert again.id == contribution.id and start_again is None
        assert raised(project).amount == 6000
        assert balance(AccountKind.PROJECT_ESCROW, project.id, "EUR").amount == 6000
        assert balance(AccountKind.DONATIONS, "platform", "EUR").amount == 200
        assert trial_balance() == {"EUR": 0}

        with pytest.raises(ContributionRefused, match="can still be given"):
            pay.contribute(amount="50", **{**first, "idempotency_key": "k2"})

        assert pay.refund_contribution(contribution.id) == "refund requested"
        assert raised(project).amount == 0
        assert balance(AccountKind.PROJECT_ESCROW, project.id, "EUR").amount == 0
        assert balance(AccountKind.DONATIONS, "platform", "EUR").amount == 0
        assert trial_balance() == {"EUR": 0}
