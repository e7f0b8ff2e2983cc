"""Benchmark: a month's repayment batch for many loans, against bare inserts of its postings.

    TONTINE_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        python bench/repayments.py --loans 10000 --lenders 25

It builds a fresh database ``<name>_bench`` (dropped and recreated) with ``--loans`` running
loans of ``--lenders`` lenders each, then records one month's repayment for every loan with
``tontine_loan.repayments.record_repayments`` (in chunks of ``--chunk`` loans, one
transaction each), and prints the time and its ratio to a bare SQL insert of the same
ledger transactions and postings. The goal is a ratio within 3×. ``--linearity`` runs the
batch again with twice the lenders per loan and prints how the time per posting changed
(about 1.0 means linear in the number of lenders).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path


def build(url: str, loans: int, lenders: int, pool: int):  # type: ignore[no-untyped-def]
    """A migrated site with ``loans`` disbursed loans, each shared by ``lenders`` lenders."""
    import sqlalchemy as sa

    from tontine import create_app
    from tontine.migrate import upgrade

    base = sa.make_url(url)
    name = f"{base.database or 'test'}_bench"
    admin_engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin_engine.dispose()
    instance = Path(tempfile.mkdtemp(prefix="tontine-bench-"))
    (instance / "config.toml").write_text(
        'name = "Bench"\nplugins = ["loan"]\npayment_providers = []\n'
    )
    app = create_app(
        instance,
        {
            "DATABASE_URL": base.set(database=name).render_as_string(hide_password=False),
            "SECRET_KEY": "bench",
            "FEDERATION_KEY": "bench",
            "JOBS_IN_PROCESS": False,
        },
    )
    upgrade(app)
    with app.app_context():
        from sqlalchemy import insert

        from tontine.accounts.models import Organization, RoleAssignment, User
        from tontine.db import db
        from tontine.projects.models import Person, Project
        from tontine_loan.models import FieldPartner, Instalment, LenderShare, Loan

        session = db.session
        session.execute(
            insert(User),
            [
                {
                    "id": 1,
                    "email": "admin@bench",
                    "display_name": "Admin",
                    "security_stamp": "",
                    "kyc_status": "none",
                    "active": True,
                }
            ],
        )
        session.execute(insert(RoleAssignment), [{"user_id": 1, "role": "admin"}])
        session.execute(
            insert(User),
            [
                {
                    "id": 10 + i,
                    "email": f"l{i}@bench",
                    "display_name": f"Lender {i}",
                    "security_stamp": "",
                    "kyc_status": "none",
                    "active": True,
                }
                for i in range(pool)
            ],
        )
        session.execute(insert(Organization), [{"id": 1, "kind": "partner", "name": "Bench MFI"}])
        session.execute(
            insert(FieldPartner),
            [
                {
                    "id": 1,
                    "organization_id": 1,
                    "country": "SN",
                    "borrower_rate": Decimal(24),
                    "active": True,
                }
            ],
        )
        start = date.today() - timedelta(days=40)
        goal = lenders * 2500
        for first in range(0, loans, 2000):
            ids = range(first + 1, min(loans, first + 2000) + 1)
            session.execute(
                insert(Person), [{"id": i, "name": f"Borrower {i}", "town": "Thiès"} for i in ids]
            )
            session.execute(
                insert(Project),
                [
                    {
                        "id": i,
                        "owner_id": 1,
                        "organization_id": 1,
                        "person_id": i,
                        "title": f"Loan {i}",
                        "goal_amount": goal,
                        "currency": "EUR",
                        "funding_model": "loan",
                        "state": "running",
                        "terms": {
                            "term_months": 10,
                            "partner_id": 1,
                            "method": "zero_interest",
                            "lender_rate": "0",
                        },
                    }
                    for i in ids
                ],
            )
            session.execute(
                insert(Loan),
                [
                    {
                        "project_id": i,
                        "partner_id": 1,
                        "principal": goal,
                        "currency": "EUR",
                        "method": "zero_interest",
                        "annual_rate": Decimal(0),
                        "term_months": 10,
                        "grace_months": 0,
                        "frequency": "monthly",
                        "day_count": "30/360",
                        "loss_liability": "lenders",
                        "currency_risk": "partner_covers",
                        "disbursed_on": start,
                    }
                    for i in ids
                ],
            )
            session.execute(
                insert(LenderShare),
                [
                    {"project_id": i, "lender_id": 10 + (i * 7 + k * 13) % pool, "amount": 2500}
                    for i in ids
                    for k in range(lenders)
                ],
            )
            session.execute(
                insert(Instalment),
                [
                    {
                        "project_id": i,
                        "number": n,
                        "due": start + timedelta(days=30 * n),
                        "principal": goal // 10,
                        "interest": 0,
                    }
                    for i in ids
                    for n in range(1, 11)
                ],
            )
        session.commit()
    return app


def run_batch(app, loans: int, chunk: int) -> float:  # type: ignore[no-untyped-def]
    from tontine.accounts.models import User
    from tontine.db import db
    from tontine_loan.models import Loan
    from tontine_loan.repayments import RepaymentEntry, record_repayments

    with app.app_context():
        admin = db.session.get(User, 1)
        principal = db.session.get(Loan, 1).principal
        amount = str(Decimal(principal // 10) / 100)
        paid = date.today()
        began = time.perf_counter()
        for first in range(1, loans + 1, chunk):
            entries = [
                RepaymentEntry(i, paid, f"bench-{paid.isoformat()}", amount=amount)
                for i in range(first, min(loans, first + chunk - 1) + 1)
            ]
            record_repayments(admin, entries)
        elapsed = time.perf_counter() - began
        db.session.remove()
    return elapsed


def run_bare(app, loans: int, lenders: int) -> float:  # type: ignore[no-untyped-def]
    """The same transactions and postings, inserted with plain multi-row INSERTs (then undone)."""
    from sqlalchemy import insert, select

    from tontine.db import db
    from tontine.ledger.models import LedgerAccount, LedgerTransaction, Posting

    with app.app_context():
        accounts = db.session.scalars(select(LedgerAccount.id).limit(lenders + 1)).all()
        with db.engine.connect() as conn:
            trans = conn.begin()
            now = datetime.now(UTC).replace(tzinfo=None)
            began = time.perf_counter()
            ids = (
                conn.execute(
                    insert(LedgerTransaction.__table__).returning(
                        LedgerTransaction.__table__.c.id, sort_by_parameter_order=True
                    ),
                    [
                        {"kind": "bare", "memo": "", "cause": f"bare-{i}", "created_at": now}
                        for i in range(loans)
                    ],
                )
                .scalars()
                .all()
            )
            rows = [
                {
                    "transaction_id": t,
                    "account_id": accounts[k % len(accounts)],
                    "amount": 1,
                    "currency": "EUR",
                }
                for t in ids
                for k in range(lenders + 1)
            ]
            for first in range(0, len(rows), 20_000):
                conn.execute(insert(Posting.__table__), rows[first : first + 20_000])
            elapsed = time.perf_counter() - began
            trans.rollback()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--loans", type=int, default=10_000)
    parser.add_argument("--lenders", type=int, default=25)
    parser.add_argument("--chunk", type=int, default=1000, help="loans per transaction")
    parser.add_argument("--linearity", action="store_true", help="run again with twice the lenders")
    parser.add_argument("--database-url", default=os.environ.get("TONTINE_TEST_DATABASE_URL"))
    args = parser.parse_args()
    if not args.database_url or not args.database_url.startswith("postgresql"):
        print("needs PostgreSQL: --database-url or TONTINE_TEST_DATABASE_URL", file=sys.stderr)
        return 2
    results = []
    for lenders in [args.lenders, args.lenders * 2] if args.linearity else [args.lenders]:
        pool = max(lenders * 4, args.loans * lenders // 20)
        began = time.perf_counter()
        app = build(args.database_url, args.loans, lenders, pool)
        setup = time.perf_counter() - began
        batch = run_batch(app, args.loans, args.chunk)
        bare = run_bare(app, args.loans, lenders)
        postings = args.loans * (lenders + 1)
        results.append((lenders, batch, postings))
        print(f"{args.loans} loans × {lenders} lenders ({postings} postings; set-up {setup:.1f} s)")
        print(f"  batch: {batch:.2f} s ({batch / args.loans * 1000:.2f} ms per loan)")
        print(f"  bare inserts of the same postings: {bare:.2f} s")
        print(f"  ratio: {batch / bare:.2f}× (goal: within 3×)")
    if len(results) == 2:
        (l1, t1, p1), (l2, t2, p2) = results
        print(f"time per posting, {l2} vs {l1} lenders: {(t2 / p2) / (t1 / p1):.2f} (1.0 = linear)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
