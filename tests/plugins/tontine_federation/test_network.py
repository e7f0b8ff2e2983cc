"""``make run``'s network: the shipped instances served together, each following the others.

Runs ``tontine network serve`` as ``make run`` does (on other ports, with its state in a
temporary folder), waits for both sites, then for each one's "Across the network" page to
list the other's open listings with links back to the origin; stops it and checks that no
process it started is left.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from tontine.testing import free_port, wait_for
from tontine_federation.network import Site, federated_folders, prepare_var

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[3]
TONTINE = str(Path(sys.executable).parent / "tontine")


def _get(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode()
    except OSError:
        return ""


def _two_free_ports() -> int:
    """A port P such that P and P + 1 are free (the network takes consecutive ports)."""
    for _ in range(50):
        port = free_port()
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise AssertionError("no two consecutive free ports")


def _stat(pid: int) -> tuple[int, str, str] | None:
    """(parent pid, state, start time) of a process, None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), fields[0], fields[19]


def _descendants(root: int) -> dict[int, str]:
    """Every process under ``root`` (any depth), with its start time."""
    parents: dict[int, tuple[int, str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (found := _stat(int(entry.name))) is not None:
            parents[int(entry.name)] = (found[0], found[2])
    tree: dict[int, str] = {}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, started) in parents.items():
            if ppid == parent and pid not in tree:
                tree[pid] = started
                frontier.append(pid)
    return tree


def _alive(pid: int, started: str) -> bool:
    found = _stat(pid)
    return found is not None and found[2] == started and found[1] != "Z"


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


@dataclass
class Network:
    proc: subprocess.Popen[bytes]
    ports: dict[str, int]
    var_root: Path
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]


@pytest.fixture
def network(tmp_path: Path) -> Iterator[Network]:
    base = _two_free_ports()
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("TONTINE_") or name.startswith(("TONTINE_TEST", "TONTINE_REQUIRE"))
    }
    env["TONTINE_ACCESS_LOG"] = "/dev/null"
    # The command itself only supervises; its own state (the app it loads) stays in tmp too.
    env["TONTINE_VAR_PATH"] = str(tmp_path / "supervisor")
    log = tmp_path / "network.log"
    var_root = tmp_path / "network"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                TONTINE,
                "--instance",
                str(REPO / "instances" / "dreams"),
                "network",
                "serve",
                "--instances",
                str(REPO / "instances"),
                "--base-port",
                str(base),
                "--var-root",
                str(var_root),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    started = Network(proc, {"dreams": base, "microloans": base + 1}, var_root, log)
    try:
        yield started
    finally:
        if proc.poll() is None:  # the test failed half-way: leave nothing running
            children = _descendants(proc.pid)
            proc.kill()
            proc.wait()
            for pid, started in children.items():
                if _alive(pid, started):
                    os.kill(pid, signal.SIGKILL)


def _open_listings(port: int) -> set[str]:
    page = _get(f"http://127.0.0.1:{port}/projects/?state=open")
    return set(re.findall(r'href="/projects/(\d+)"', page))


def _shows(site: int, origin: int, ids: set[str]) -> bool:
    page = _get(f"http://127.0.0.1:{site}/network")
    listed = set(re.findall(rf'href="http://127\.0\.0\.1:{origin}/projects/(\d+)"', page))
    contribute = set(re.findall(rf'href="http://127\.0\.0\.1:{origin}/projects/(\d+)/give"', page))
    photos = re.findall(rf'<img class="card-photo" src="http://127\.0\.0\.1:{origin}/media/', page)
    return ids <= listed and ids <= contribute and bool(photos) and "<progress" in page


def test_make_run_serves_the_shipped_instances_following_each_other(network: Network) -> None:
    dreams, microloans = network.ports["dreams"], network.ports["microloans"]
    began = time.monotonic()
    for port in (dreams, microloans):
        try:
            wait_for(
                lambda port=port: _get(f"http://127.0.0.1:{port}/nodeinfo/2.1"),
                timeout=90,
                interval=0.5,
            )
        except AssertionError:
            pytest.fail(f"127.0.0.1:{port} never answered:\n{network.output()}")
    answered = time.monotonic()
    open_dreams, open_loans = _open_listings(dreams), _open_listings(microloans)
    assert open_dreams and open_loans, "the demo data has open listings on both sites"

    try:
        wait_for(lambda: _shows(dreams, microloans, open_loans), timeout=90, interval=1)
        wait_for(lambda: _shows(microloans, dreams, open_dreams), timeout=90, interval=1)
    except AssertionError:
        pytest.fail(f"the network pages never filled:\n{network.output()}")
    assert time.monotonic() - answered < 60, "each site shows the other's listings within a minute"
    print(f"up in {answered - began:.0f} s, listings across in {time.monotonic() - answered:.0f} s")

    # Each site has its own database in the network's folder, and loopback peers are
    # allowed in the served processes' environment only.
    for name in ("dreams", "microloans"):
        assert (network.var_root / name / "tontine.db").exists()
    children = _descendants(network.proc.pid)
    servers = [pid for pid in children if "gunicorn" in Path(f"/proc/{pid}/cmdline").read_text()]
    assert len(servers) >= 2, children
    for pid in servers:
        environ = _environ(pid)
        assert environ["TONTINE_FEDERATION_ALLOW_LOOPBACK"] == "1"
        assert environ["TONTINE_VAR_PATH"].startswith(str(network.var_root))
    assert f"http://127.0.0.1:{dreams}/network" in network.output()

    network.proc.terminate()  # as Ctrl-C does: every child is stopped
    assert network.proc.wait(timeout=30) == 0, network.output()
    left = [pid for pid, started in children.items() if _alive(pid, started)]
    assert not left, f"still running after the network stopped: {left}"
    assert network.output().rstrip().endswith("stopped")


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """``tontine network serve`` in this process; --instance's variables are restored after."""
    from tontine.cli import main

    monkeypatch.setenv("TONTINE_INSTANCE", str(REPO / "instances" / "dreams"))
    monkeypatch.setenv("TONTINE_VAR_PATH", str(tmp_path / "supervisor"))

    def run(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(
            main, ["--instance", str(REPO / "instances" / "dreams"), "network", "serve", *args]
        )
        return result.exit_code, result.output

    return run


def _instances(tmp_path: Path) -> Path:
    folder = tmp_path / "instances"
    for name, plugins in (
        ("zeta", '["gift", "sandbox", "federation"]'),
        ("alpha", '["gift", "sandbox", "federation"]'),
        ("alone", '["gift", "sandbox"]'),
    ):
        (folder / name).mkdir(parents=True)
        (folder / name / "config.toml").write_text(f"plugins = {plugins}\n")
    (folder / "notes").mkdir()
    return folder


def test_the_network_is_every_folder_enabling_federation_in_name_order(tmp_path: Path) -> None:
    folders = federated_folders(_instances(tmp_path))
    assert [f.name for f in folders] == ["alpha", "zeta"]
    shipped = [f.name for f in federated_folders(REPO / "instances")]
    assert shipped[:2] == ["dreams", "microloans"]  # :5001 and :5002 with make run


def test_a_busy_port_is_a_clear_error_and_nothing_starts(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base = _two_free_ports()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", base + 1))
        taken.listen()
        code, output = cli(
            "--instances",
            str(_instances(tmp_path)),
            "--base-port",
            str(base),
            "--var-root",
            str(tmp_path / "net"),
        )
    assert code == 1
    assert f"port(s) {base + 1} on 127.0.0.1 already in use" in output
    assert not (tmp_path / "net").exists()


def test_a_folder_without_federated_instances_is_a_clear_error(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    empty = tmp_path / "none"
    empty.mkdir()
    code, output = cli("--instances", str(empty))
    assert code == 1 and "no instance in" in output and "enables the federation plugin" in output


def test_the_demo_network_refuses_production(
    cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TONTINE_ENV", "production")
    monkeypatch.setenv("TONTINE_SECRET_KEY", "x" * 40)
    monkeypatch.setenv("TONTINE_FEDERATION_KEY_FILE", str(tmp_path / "key.pem"))
    (tmp_path / "key.pem").write_text("not read: the command stops before")
    code, output = cli("--instances", str(_instances(tmp_path)))
    assert code == 1 and "not for production" in output


def test_state_made_for_other_ports_starts_afresh(tmp_path: Path) -> None:
    said: list[str] = []
    site = Site("alpha", tmp_path / "alpha", tmp_path / "net" / "alpha", "127.0.0.1", 5001)
    prepare_var(site, said.append)
    (site.var / "tontine.db").write_text("the 5001 network")
    prepare_var(site, said.append)
    assert (site.var / "tontine.db").exists() and not said  # same origin: kept

    moved = Site("alpha", site.folder, site.var, "127.0.0.1", 6001)
    prepare_var(moved, said.append)
    assert not (site.var / "tontine.db").exists()
    assert said == [f"alpha: {site.var} was made for http://127.0.0.1:5001; starting afresh"]

    foreign = tmp_path / "mine"  # a folder this command did not make is never removed
    (foreign / "alpha").mkdir(parents=True)
    (foreign / "alpha" / "keep").write_text("mine")
    prepare_var(Site("alpha", site.folder, foreign / "alpha", "127.0.0.1", 7001), said.append)
    assert (foreign / "alpha" / "keep").read_text() == "mine"
