"""Two instances started as an operator would: ``tontine --instance PATH serve --port N``."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tontine.testing import free_port, wait_for

pytestmark = pytest.mark.slow
TONTINE = str(Path(sys.executable).parent / "tontine")


def _get(url: str) -> str:
    try:
        return urllib.request.urlopen(url, timeout=5).read().decode()
    except OSError:
        return ""


@pytest.fixture
def instances(tmp_path: Path) -> Iterator[list[tuple[Path, int]]]:
    env = {
        **os.environ,
        "TONTINE_FEDERATION_ALLOW_LOOPBACK": "1",
        "TONTINE_ACCESS_LOG": "/dev/null",
    }
    env.pop("TONTINE_INSTANCE", None)
    env.pop("TONTINE_BASE_URL", None)
    env.pop("TONTINE_DATABASE_URL", None)
    started: list[subprocess.Popen[bytes]] = []
    sites: list[tuple[Path, int]] = []
    for name in ("alpha", "beta"):
        folder, port = tmp_path / name, free_port()
        folder.mkdir()
        (folder / "config.toml").write_text(
            f'name = "{name.title()}"\nplugins = ["gift", "sandbox", "manual", "federation"]\n'
            f'payment_providers = ["sandbox", "manual"]\nlocale = "en"\nlocales = ["en"]\n'
            f'base_url = "http://127.0.0.1:{port}"\n'
        )
        subprocess.run(
            [TONTINE, "--instance", str(folder), "init"], env=env, check=True, capture_output=True
        )
        started.append(
            subprocess.Popen(
                [TONTINE, "--instance", str(folder), "serve", "--port", str(port)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        sites.append((folder, port))
    try:
        for _folder, port in sites:
            wait_for(lambda port=port: _get(f"http://127.0.0.1:{port}/nodeinfo/2.1"), timeout=30)
        yield sites
    finally:
        for proc in started:
            proc.terminate()
            proc.wait(timeout=20)


def tontine(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TONTINE_FEDERATION_ALLOW_LOOPBACK": "1"}
    return subprocess.run([TONTINE, *args], env=env, capture_output=True, text=True, check=False)


def test_served_instances_follow_each_other_from_the_cli(instances) -> None:  # type: ignore[no-untyped-def]
    (alpha, alpha_port), (beta, beta_port) = instances
    loaded = tontine("--instance", str(beta), "demo-data")
    assert loaded.returncode == 0, loaded.stderr
    handle = f"@tontine@127.0.0.1:{beta_port}"
    followed = tontine("--instance", str(alpha), "federation", "follow", handle, "--wait", "20")
    assert followed.returncode == 0, followed.stderr

    def alpha_shows_beta() -> bool:
        return f"127.0.0.1:{beta_port}/projects/" in _get(f"http://127.0.0.1:{alpha_port}/network")

    wait_for(alpha_shows_beta, timeout=60)  # "within a minute"
    peers = tontine("--instance", str(alpha), "federation", "peers")
    assert "following=accepted" in peers.stdout
