"""``tontine --instance PATH federation follow|unfollow|approve|refuse|block|unblock|peers``.

Each command writes to the instance's database; its running worker sends what follows.
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from tontine.errors import DomainError


@click.group("federation")
def federation() -> None:
    """Follow other instances, approve followers, block domains."""


def _run(action, target: str) -> None:  # type: ignore[no-untyped-def]
    try:
        action(target)
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc


@federation.command()
@click.argument("target")
@click.option(
    "--wait",
    type=float,
    default=0.0,
    help="Keep trying this many seconds while the other instance is not up yet.",
)
@with_appcontext
def follow(target: str, wait: float) -> None:
    """Follow an instance by URL or @name@host."""
    import time

    from tontine_federation import peers

    deadline = time.monotonic() + wait
    while True:
        try:
            peers.follow(target)
            break
        except DomainError as exc:
            if time.monotonic() >= deadline or exc.status == 403:
                raise click.ClickException(exc.message) from exc
            time.sleep(1)
    click.echo(f"asked to follow {target}")


@federation.command()
@click.argument("target")
@with_appcontext
def unfollow(target: str) -> None:
    """Stop following an instance (by actor URL or handle)."""
    from tontine_federation import peers

    _run(peers.unfollow, target)
    click.echo(f"unfollowed {target}")


@federation.command()
@click.argument("target")
@with_appcontext
def approve(target: str) -> None:
    """Accept a pending follow request."""
    from tontine_federation import peers

    _run(peers.approve, target)
    click.echo(f"approved {target}")


@federation.command()
@click.argument("target")
@with_appcontext
def refuse(target: str) -> None:
    """Reject a pending follow request."""
    from tontine_federation import peers

    _run(peers.refuse, target)
    click.echo(f"refused {target}")


@federation.command()
@click.argument("domain")
@click.option("--reason", default="")
@with_appcontext
def block(domain: str, reason: str) -> None:
    """Block a domain and its subdomains."""
    from tontine_federation import peers

    _run(lambda d: peers.block(d, reason), domain)
    click.echo(f"blocked {domain}")


@federation.command()
@click.argument("domain")
@with_appcontext
def unblock(domain: str) -> None:
    """Unblock a domain."""
    from tontine_federation import peers

    _run(peers.unblock, domain)
    click.echo(f"unblocked {domain}")


@federation.command("peers")
@with_appcontext
def list_peers() -> None:
    """Each peer's state: following, followed, last delivery, failing since, unavailable."""
    from tontine_federation import peers

    rows = peers.peer_rows()
    if not rows:
        click.echo("no peers yet")
    for row in rows:
        flags = " ".join(
            f for f, on in (("UNAVAILABLE", row["unavailable"]), ("BLOCKED", row["blocked"])) if on
        )
        click.echo(
            f"{row['handle'] or row['actor']}  following={row['following']} "
            f"followed={row['followed']} last_delivery={row['last_delivery'] or '-'} "
            f"failing_since={row['failing_since'] or '-'} {flags}".rstrip()
        )
