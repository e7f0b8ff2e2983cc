from tontine.funding import FundingModel
from tontine.hookspecs import hookimpl
from tontine.payments.provider import PaymentProvider, ProviderEvent, StartResult


class Simple(FundingModel):
    key = "simple"


class Instant(PaymentProvider):
    key = "instant"

    def start(self, payment, return_url):
        ref = f"i{payment.id}"
        return StartResult(
            provider_ref=ref,
            events=[ProviderEvent(event_id=f"e{payment.id}", provider_ref=ref, kind="succeeded")],
        )

    def refund(self, payment, amount, event_id):
        return [
            ProviderEvent(
                event_id=event_id, provider_ref=payment.provider_ref, kind="refund", amount=amount
            )
        ]


class P:
    @hookimpl
    def register_funding_models(self):
        return [Simple()]

    @hookimpl
    def register_payment_providers(self):
        return [Instant()]


def test_flow(make_app, make_user, make_project):
    app = make_app(plugins=[], extra_plugins=[P()], PAYMENT_PROVIDERS=["instant"])
    with app.app_context():
        from tontine.ledger.models import AccountKind
        from tontine.ledger.services import balance, trial_balance
        from tontine.payments import services as pay
        from tontine.projects.services import raised

        p = make_project(funding_model="simple", goal=100)
        u = make_user()
        c, pm, r = pay.contribute(
            project_id=p.id,
            supporter=u,
            amount="60",
            provider_key="instant",
            idempotency_key="k1",
            return_url="/",
            tip="2",
        )
        assert pm.state == "succeeded", pm.state
        c2, _, r2 = pay.contribute(
            project_id=p.id,
            supporter=u,
            amount="60",
            provider_key="instant",
            idempotency_key="k1",
            return_url="/",
        )
        assert c2.id == c.id and r2 is None
        assert raised(p).amount == 6000
        assert trial_balance() == {"EUR": 0}
        assert balance(AccountKind.PROJECT_ESCROW, p.id, "EUR").amount == 6000
        import pytest

        from tontine.funding import ContributionRefused

        with pytest.raises(ContributionRefused):
            pay.contribute(
                project_id=p.id,
                supporter=u,
                amount="50",
                provider_key="instant",
                idempotency_key="k2",
                return_url="/",
            )
        assert pay.refund_contribution(c.id) == "refund requested"
        assert raised(p).amount == 0
        assert balance(AccountKind.PROJECT_ESCROW, p.id, "EUR").amount == 0
        assert trial_balance() == {"EUR": 0}
