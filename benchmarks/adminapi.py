"""Admin API speed: requests/s over mTLS with keep-alive, and the p99 latency of an approve call.

The server (App + admin API, the job queue not started, so approved trials
stay queued instead of rendering) runs in its own process pinned to one
core; this process is the client, pinned to another core where there is
one. Before the server starts, this process builds a fresh data dir: a CA,
an operator enrolled through the real Authority, and N Free users who each
asked for their trial (N pending approvals).

1. ``GET /admin/whoami`` for ``--seconds`` from ``--concurrency`` workers over
   as many keep-alive TLS 1.3 connections: every request still does the
   per-request revocation lookup and the RBAC check.
2. ``POST /admin/approvals/<id>/approve`` for each pending approval, one at
   a time: the orchestrator path (RBAC, audit x3, approval, job, mirror).

    python benchmarks/adminapi.py [--seconds 5] [--concurrency 4] [--approvals 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from core.adminapi.authority import Authority
from core.adminapi.client import AdminClient, Credentials
from core.app import App
from core.commands import Actor, RequestTrial
from core.config import load_settings
from core.models import Role
from core.pki import PkiPaths, generate_key, make_csr, write_bytes, write_private_key
from core.store import users


def _cpus() -> tuple[int | None, int | None]:
    """(server cpu, client cpu): two different cores when there are two, else the same one."""
    if not hasattr(os, "sched_getaffinity"):
        return None, None
    available = sorted(os.sched_getaffinity(0))
    return available[0], available[1 % len(available)]


def _pin(cpu: int | None) -> str:
    """Pin this process to one CPU when the OS lets us; say what happened."""
    if cpu is None:
        return "not pinned (no sched_setaffinity)"
    os.sched_setaffinity(0, {cpu})
    return f"pinned to cpu {cpu}"


async def _prepare(data_dir: Path, approvals: int) -> tuple[Credentials, list[str]]:
    settings = load_settings(data_dir=data_dir)
    app = await App.create(settings)
    try:
        authority = Authority(app.db, app.audit, PkiPaths(settings.pki_dir))
        bootstrap = await authority.init([])
        await users.upsert_user_with_identity(
            app.db, connector="console", external_id="bench", display_name="Bench", now=time.time(),
            role=Role.OPERATOR, user_id="bench",
        )
        overlord = await users.get(app.db, bootstrap.user_id)
        assert overlord is not None
        ticket = await authority.create_enrollment(overlord, "bench")
        key = generate_key()
        issued = await authority.enroll(ticket.secret, make_csr(key))
        creds = Credentials(data_dir / "client")
        write_private_key(creds.key, key)
        write_bytes(creds.cert, issued.certificate_pem.encode())
        write_bytes(creds.ca, issued.ca_pem.encode())
        ids = []
        for n in range(approvals):
            reply = await app.orchestrator.execute(
                RequestTrial(Actor("console", f"free-{n}", f"Free {n}", f"chat-{n}"), prompt="a blue circle")
            )
            assert reply.data is not None
            ids.append(str(reply.data["approval_id"]))
        return creds, ids
    finally:
        await app.stop()


async def _serve(data_dir: Path, port_file: Path) -> None:
    from core.adminapi.server import start_admin_api

    app = await App.create(load_settings(data_dir=data_dir))
    server = await start_admin_api(app, port=0, enroll_port=0)
    port_file.write_text(str(server.port))
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await server.stop()
    await app.stop()


async def _whoami_rate(url: str, creds: Credentials, seconds: float, concurrency: int) -> tuple[int, float]:
    async with AdminClient(url, creds) as client:
        await client.whoami()  # warm: TLS handshakes happen outside the timed window
        deadline = time.perf_counter() + seconds
        count = 0

        async def worker() -> None:
            nonlocal count
            while time.perf_counter() < deadline:
                await client.whoami()
                count += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return count, time.perf_counter() - started


async def _approve_latencies(url: str, creds: Credentials, ids: list[str]) -> list[float]:
    latencies = []
    async with AdminClient(url, creds) as client:
        await client.whoami()
        for approval_id in ids:
            started = time.perf_counter()
            await client.approve(approval_id)
            latencies.append(time.perf_counter() - started)
    return latencies


async def _wait_for_port(port_file: Path, proc: subprocess.Popen[bytes]) -> int:
    for _ in range(300):
        if port_file.is_file() and port_file.read_text():
            return int(port_file.read_text())
        if proc.poll() is not None:
            raise SystemExit("the server process exited early")
        await asyncio.sleep(0.1)
    raise SystemExit("the server did not start within 30 s")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="framecast-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        print(f"preparing {args.approvals} pending approvals ...", flush=True)
        creds, ids = await _prepare(data_dir, args.approvals)
        port_file = Path(tmp) / "port"
        server_cpu, client_cpu = _cpus()
        proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(data_dir), str(port_file), str(server_cpu)]
        )
        client_note = _pin(client_cpu)
        try:
            url = f"https://127.0.0.1:{await _wait_for_port(port_file, proc)}"
            count, elapsed = await _whoami_rate(url, creds, args.seconds, args.concurrency)
            latencies = await _approve_latencies(url, creds, ids)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
    print(f"client {client_note}")
    print(f"GET /admin/whoami over mTLS, keep-alive, {args.concurrency} connections: "
          f"{count / elapsed:,.0f} requests/s ({count} in {elapsed:.1f} s)")
    print(f"POST /admin/approvals/<id>/approve x{len(latencies)}: p50 {statistics.median(latencies) * 1000:.1f} ms, "
          f"p99 {_percentile(latencies, 0.99) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--serve":
        print(f"server {_pin(None if sys.argv[4] == 'None' else int(sys.argv[4]))}", flush=True)
        asyncio.run(_serve(Path(sys.argv[2]), Path(sys.argv[3])))
    else:
        parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        parser.add_argument("--seconds", type=float, default=5.0, help="How long to fire whoami requests.")
        parser.add_argument("--concurrency", type=int, default=4, help="Concurrent keep-alive connections.")
        parser.add_argument("--approvals", type=int, default=200, help="Pending approvals to approve, one by one.")
        asyncio.run(_main(parser.parse_args()))
