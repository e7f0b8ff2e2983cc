"""``tontine network serve``: the shipped instances together on loopback, following each other.

The local demo of federation (``make run``). Every instance folder next to ``--instance`` whose
``plugins`` include ``federation`` is prepared (``init``, ``demo-data``) in a var folder of its
own — never the single-site demo's ``var/`` — then served with ``tontine serve`` on the next
port from ``--base-port``, each made to follow the others with ``tontine federation follow``.
``TONTINE_FEDERATION_ALLOW_LOOPBACK=1`` is set in the children's environment only. This
process only supervises: it touches no database, and Ctrl-C (or SIGTERM) stops every child.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import click
from flask.cli import with_appcontext

#: Variables of the caller's environment that belong to one site and must not reach the others.
SITE_VARIABLES = (
    "TONTINE_INSTANCE",
    "TONTINE_BASE_URL",
    "TONTINE_DATABASE_URL",
    "TONTINE_VAR_PATH",
    "TONTINE_SECRET_KEY",
    "TONTINE_SECRET_KEY_FILE",
    "TONTINE_FEDERATION_KEY",
    "TONTINE_FEDERATION_KEY_FILE",
    "TONTINE_BIND",
)
HOST = "127.0.0.1"  # a demo: loopback only (the peers' loopback exception is for it)
STOP_SECONDS = 15.0  # how long a child may take to stop before it is killed


@dataclass(frozen=True)
class Site:
    """One instance of the network: its folder, where it keeps its state, where it answers."""

    name: str
    folder: Path
    var: Path
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def env(self, base: dict[str, str]) -> dict[str, str]:
        return {**base, "TONTINE_VAR_PATH": str(self.var), "TONTINE_BASE_URL": self.url}


class Stop(Exception):
    """Ctrl-C, SIGTERM or SIGHUP: stop every child, then exit."""


def federated_folders(instances: Path) -> list[Path]:
    """Instance folders (sorted by name) whose ``config.toml`` enables the federation plugin."""
    found = []
    for folder in sorted(p for p in instances.iterdir() if (p / "config.toml").is_file()):
        with (folder / "config.toml").open("rb") as fh:
            try:
                plugins = tomllib.load(fh).get("plugins", [])
            except tomllib.TOMLDecodeError as exc:
                raise click.ClickException(f"{folder / 'config.toml'}: {exc}") from exc
        if "federation" in plugins:
            found.append(folder)
    return found


#: Written into each site's var folder: the origin its database was made for.
ORIGIN_FILE = "network_origin"


def prepare_var(site: Site, say: Callable[[str], None]) -> None:
    """Create the site's var folder; one this command made for another origin starts afresh.

    Every id a site publishes and stores is built from its origin, so a run on other ports
    (``--base-port``) cannot reuse the last one's database: its peers would be the old ports.
    Only a folder holding our marker is ever removed.
    """
    marker = site.var / ORIGIN_FILE
    if marker.is_file() and marker.read_text().strip() != site.url:
        say(f"{site.name}: {site.var} was made for {marker.read_text().strip()}; starting afresh")
        shutil.rmtree(site.var)
    site.var.mkdir(parents=True, exist_ok=True)
    marker.write_text(site.url + "\n")


def port_is_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


class Children:
    """Every process this command starts, each in its own session so that it is stopped whole.

    Their output is copied to ours, each line prefixed with the site's name.
    """

    def __init__(self, width: int) -> None:
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.copiers: list[threading.Thread] = []
        self.width = width
        self.lock = threading.Lock()

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            args,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs.append((name, proc))
        assert proc.stdout is not None
        copier = threading.Thread(target=self._copy, args=(name, proc.stdout), daemon=True)
        copier.start()
        self.copiers.append(copier)
        return proc

    def _copy(self, name: str, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            line = raw.decode(errors="replace").rstrip()
            with self.lock:
                click.echo(f"{name:<{self.width}} | {line}")
        stream.close()

    def say(self, message: str) -> None:
        with self.lock:
            click.echo(message)

    def stop_all(self) -> None:
        """SIGTERM to each running child's process group, SIGKILL to what lingers or is left."""
        running = [proc for _name, proc in self.procs if proc.poll() is None]
        for proc in running:
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for proc in running:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait()
        for _name, proc in self.procs:
            _signal_group(proc, signal.SIGKILL)  # a gunicorn worker left behind by its master
        for copier in self.copiers:
            copier.join(timeout=2)


def _signal_group(proc: subprocess.Popen[bytes], signum: int) -> None:
    try:
        os.killpg(proc.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@contextmanager
def _stopped_by_signals() -> Iterator[None]:
    def stop(_signum: int, _frame: Any) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # stopping once is enough
        raise Stop

    previous = {
        sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
    }
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _run_all(children: Children, steps: list[tuple[str, list[str], dict[str, str]]]) -> None:
    """Run commands in parallel; the first failure stops the network."""
    procs = [(name, args, children.start(name, args, env)) for name, args, env in steps]
    for name, args, proc in procs:
        if proc.wait() != 0:
            raise click.ClickException(f"{name}: `{' '.join(args[1:])}` failed (see above)")


def _wait_until(sites: list[Site], servers: list[subprocess.Popen[bytes]], timeout: float) -> None:
    """Until every site answers; a server that stops, or one still silent at ``timeout``, fails."""
    deadline = time.monotonic() + timeout
    waiting = list(zip(sites, servers, strict=True))
    while waiting:
        for site, server in list(waiting):
            if server.poll() is not None:
                raise click.ClickException(f"{site.name}: the server stopped (see above)")
            if _answers(f"{site.url}/nodeinfo/2.1"):
                waiting.remove((site, server))
        if waiting and time.monotonic() > deadline:
            names = ", ".join(site.name for site, _server in waiting)
            raise click.ClickException(f"{names}: no answer after {timeout:.0f} s")
        if waiting:
            time.sleep(0.3)


@click.group("network")
def network() -> None:
    """Several instances together on this machine (the local federation demo)."""


@network.command("serve")
@click.option(
    "--instances",
    "instances_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="The folder of instance folders (default: the one holding --instance).",
)
@click.option(
    "--base-port",
    default=5001,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="The first instance (by folder name) answers here, the next one on the next port…",
)
@click.option(
    "--var-root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Each instance keeps its state in VAR_ROOT/<name> (default: <instance>/var/network).",
)
@click.option(
    "--start-timeout",
    default=120.0,
    show_default=True,
    help="Seconds each server and each follow may take to come up.",
)
@with_appcontext
def serve(
    instances_dir: Path | None,
    base_port: int,
    var_root: Path | None,
    start_timeout: float,
) -> None:
    """Serve every instance that enables federation, each following the others, with demo data.

    Loopback peers are allowed for these processes only (TONTINE_FEDERATION_ALLOW_LOOPBACK=1).
    Ctrl-C stops them all.
    """
    from flask import current_app

    if current_app.config.get("ENV") == "production":
        raise click.ClickException(
            "the demo network is not for production (TONTINE_ENV=production)"
        )
    instances = (instances_dir or Path(current_app.instance_path).parent).resolve()
    folders = federated_folders(instances)
    if not folders:
        raise click.ClickException(f"no instance in {instances} enables the federation plugin")
    sites = [
        Site(
            name=folder.name,
            folder=folder,
            var=(var_root.resolve() / folder.name) if var_root else folder / "var" / "network",
            host=HOST,
            port=base_port + index,
        )
        for index, folder in enumerate(folders)
    ]
    if sites[-1].port > 65535:
        raise click.ClickException(f"{len(sites)} instances need ports up to {sites[-1].port}")
    busy = [str(site.port) for site in sites if not port_is_free(HOST, site.port)]
    if busy:
        raise click.ClickException(
            f"port(s) {', '.join(busy)} on {HOST} already in use (choose others with --base-port)"
        )
    base = {k: v for k, v in os.environ.items() if k not in SITE_VARIABLES}
    base["TONTINE_FEDERATION_ALLOW_LOOPBACK"] = "1"  # this demo's processes only
    base.setdefault("TONTINE_THREADS", "4")  # a site answers its peers while it calls them
    base["PYTHONUNBUFFERED"] = "1"
    tontine = tontine_command()
    children = Children(max(len(site.name) for site in sites))
    with _stopped_by_signals():
        try:
            _network(children, sites, base, tontine, start_timeout)
        except Stop:
            children.say("stopping…")
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut this short
            children.stop_all()
    children.say("stopped")


def _network(
    children: Children,
    sites: list[Site],
    base: dict[str, str],
    tontine: list[str],
    start_timeout: float,
) -> None:
    def command(site: Site, *args: str) -> tuple[str, list[str], dict[str, str]]:
        return site.name, [*tontine, "--instance", str(site.folder), *args], site.env(base)

    for site in sites:
        children.say(f"preparing {site.name} on {site.url} (its state: {site.var})")
        prepare_var(site, children.say)
    _run_all(children, [command(site, "init") for site in sites])
    _run_all(children, [command(site, "demo-data") for site in sites])
    servers = [
        children.start(*command(site, "serve", "--host", site.host, "--port", str(site.port)))
        for site in sites
    ]
    _wait_until(sites, servers, start_timeout)
    wait = str(int(start_timeout))
    _run_all(
        children,
        [
            command(site, "federation", "follow", f"{other.url}/actor", "--wait", wait)
            for site in sites
            for other in sites
            if other is not site
        ],
    )
    lines = [
        f"  {site.name:<{children.width}}  {site.url}/   across the network: {site.url}/network"
        for site in sites
    ]
    children.say(
        "\nThe network is up; each site follows the others (listings arrive within a minute):\n"
        + "\n".join(lines)
        + "\nPress Ctrl-C to stop them all.\n"
    )
    _supervise(children, servers)


def _supervise(
    children: Children, servers: list[subprocess.Popen[bytes]], poll: float = 0.5
) -> None:
    """Wait for Ctrl-C; a server that stops on its own stops the network."""
    while True:
        for name, proc in children.procs:
            if proc in servers and proc.poll() is not None:
                raise click.ClickException(f"{name}: the server stopped (exit {proc.returncode})")
        time.sleep(poll)


def tontine_command() -> list[str]:
    """The ``tontine`` script installed with this interpreter (else the one on PATH)."""
    script = Path(sys.executable).parent / "tontine"
    return [str(script)] if script.exists() else [shutil.which("tontine") or "tontine"]
