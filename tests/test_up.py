"""The newcomer's command on the embedded default: `priemnaya up --demo` serves a ready app with
the demo region, SIGTERM leaves no process behind, data survives a restart, a busy port fails."""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from email import policy
from email.parser import BytesParser
from pathlib import Path

import httpx2 as httpx
import psutil
import pytest

PRIEMNAYA = str(Path(sys.executable).with_name("priemnaya"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def home_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRIEMNAYA_")}
    env["PRIEMNAYA_HOME"] = str(tmp_path / "home")
    yield env
    subprocess.run([PRIEMNAYA, "db", "stop"], env=env, capture_output=True, check=False)


def postgres_processes(pgdata: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if any(str(pgdata) in part for part in cmdline):
            found.append(process)
    return found


def start_up(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [PRIEMNAYA, "up", "--demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def wait_ready(url: str, process: subprocess.Popen[bytes], seconds: float = 90) -> httpx.Response:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "priemnaya up exited early"
        try:
            response = httpx.get(f"{url}/readyz", timeout=2)
            if response.status_code == 200:
                return response
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError("not ready in time")


@contextlib.contextmanager
def serving(env: dict[str, str], log: Path) -> Iterator[str]:
    """`priemnaya serve` on a free port in this environment, logging to ``log``: its URL once
    it is ready; stopped with SIGTERM afterwards."""
    port = free_port()
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [PRIEMNAYA, "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_ready(url, server)
            yield url
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)


def test_up_demo_serves_then_stops_cleanly(home_env: dict[str, str]) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    pgdata = Path(home_env["PRIEMNAYA_HOME"]).resolve() / "pgdata"
    up = start_up(home_env, port)
    try:
        wait_ready(url, up)
        tree = httpx.get(f"{url}/api/v1/tenants/demo-oblast/tree").json()
        municipalities = [c for c in tree["children"] if c["kind"] == "municipality"]
        ministries = [c for c in tree["children"] if c["kind"] == "ministry"]
        assert len(municipalities) == 3
        assert len(ministries) == 2
        for municipality in municipalities:
            assert {c["kind"] for c in municipality["children"]} == {"school", "clinic"}
        with httpx.Client(base_url=url) as browser:
            signed = browser.post(
                "/auth/sign-in",
                json={"email": "coordinator@demo.example.ru", "password": "demo-password"},
            )
            assert signed.status_code == 200, signed.text
            assert browser.get("/api/v1/me").json()["grants"]
            # The coordinator's cabinet has the demo's citizens' messages to work.
            inbox = browser.get("/api/v1/tenants/demo-minobr/messages").json()
            assert [m["status"] for m in inbox["items"]] == ["new", "new"]
            assert "Нет меню на неделю" in browser.get("/cabinet/demo-minobr").text
            # A citizen finds the demo town on the form and sees its topics.
            found = browser.get("/write", params={"q": "Северный"})
            assert 'href="/write?territory=99701000"' in found.text
            assert browser.get("/write", params={"territory": "99701000"}).status_code == 200
        assert postgres_processes(pgdata)
        spawned = psutil.Process(up.pid).children(recursive=True)
        assert spawned, "the worker runs as a child process"
    finally:
        up.send_signal(signal.SIGTERM)
        out, err = up.communicate(timeout=60)
    assert up.returncode == 0, err.decode()
    assert url in out.decode()
    assert "Demo region" in out.decode()
    assert "/write" in out.decode()
    assert [p.pid for p in spawned if p.is_running() and p.status() != "zombie"] == []
    deadline = time.monotonic() + 10
    while postgres_processes(pgdata) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert postgres_processes(pgdata) == []

    # The data survives: any command starts the embedded database again on its own.
    listed = subprocess.run(
        [PRIEMNAYA, "tenant", "list", "--json"], env=home_env, capture_output=True, check=True
    )
    assert len(json.loads(listed.stdout)) == 12

    # Seeding again is a no-op.
    second = start_up(home_env, port)
    try:
        wait_ready(url, second)
        assert len(httpx.get(f"{url}/api/v1/tenants").json()) == 12
    finally:
        second.send_signal(signal.SIGTERM)
        _, err = second.communicate(timeout=60)
    assert "demo region present" in err.decode()


def test_busy_port_is_a_clear_error(home_env: dict[str, str]) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        result = subprocess.run(
            [PRIEMNAYA, "up", "--port", str(port)],
            env=home_env,
            capture_output=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr.decode()


HEATING = {
    "topic": "heating",
    "territory": "99701101",
    "address": "город Северный, ул. Центральная, 1",
    "summary": "Нет отопления в квартире",
    "text": "Вторую неделю холодные батареи во всём подъезде.",
    "applicant": {"name": "Иван Петров", "email": "ivan@mail.example.ru"},
    "consent": True,
}


def worker_of(up: subprocess.Popen[bytes]) -> psutil.Process | None:
    for child in psutil.Process(up.pid).children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if "worker" in child.cmdline() and child.status() != psutil.STATUS_ZOMBIE:
                return child
    return None


def test_a_killed_worker_is_back_within_10_s_and_delivers_what_waited(
    home_env: dict[str, str],
) -> None:
    """Also: without PRIEMNAYA_BASE_URL, the citizen's links point at the port `up` serves."""
    from cabinets.notifications.mail import MAIL_SINK

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    sink = Path(home_env["PRIEMNAYA_HOME"]).resolve() / MAIL_SINK
    up = start_up(home_env, port)
    try:
        wait_ready(url, up)
        first = worker_of(up)
        assert first is not None
        first.kill()  # kill -9
        killed_at = time.monotonic()
        receipt = httpx.post(f"{url}/api/v1/messages", json=HEATING, timeout=10)
        assert receipt.status_code == 201, receipt.text
        assert receipt.json()["status_url"].startswith(f"{url}/track/")

        second = None
        while second is None and time.monotonic() - killed_at < 10:
            time.sleep(0.2)
            found = worker_of(up)
            second = found if found is not None and found.pid != first.pid else None
        assert second is not None, "no new worker within 10 s"
        deadline = time.monotonic() + 30
        while not list(sink.glob("*.eml")) and time.monotonic() < deadline:
            time.sleep(0.3)
        letters = [
            BytesParser(policy=policy.default).parsebytes(path.read_bytes())
            for path in sink.glob("*.eml")
        ]
        assert any(receipt.json()["number"] in str(letter["subject"]) for letter in letters)
        assert not [
            p for p in psutil.Process(up.pid).children() if p.status() == psutil.STATUS_ZOMBIE
        ]
    finally:
        up.send_signal(signal.SIGTERM)
        _, err = up.communicate(timeout=60)
    assert up.returncode == 0, err.decode()
    log = err.decode()
    assert "the worker killed by SIGKILL; starting it again" in log
    assert "the worker started again" in log
