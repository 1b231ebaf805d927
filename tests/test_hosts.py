"""Workers on separate hosts: network namespaces (``ip netns``), each with its own
address on a veth pair to this machine, against one PostgreSQL.  The server
listens on 127.0.0.1 only, so each host reaches it through a TCP forward on the
host-side veth address (tests/proxy.py); the shared server is not reconfigured.

One host's link is cut (``ip link set … down``) mid-drain: the other carries on;
the cut host's jobs are rescued after the heartbeat timeout (its sessions stay
open on the server, so only the timeout can tell), nothing is lost, duplicates
only among its in-flight jobs.  When the link comes back that worker notices its
jobs were taken, stops them and rejoins, and writes no stale outcome."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

import pgq_sa

from .procs import PGQ_SA, ROOT, query, wait_until
from .proxy import BlackholeProxy

pytestmark = [
    pytest.mark.slow,  # about a minute: jobs of 30 s outlive the cut
    pytest.mark.skipif(os.geteuid() != 0 or shutil.which("ip") is None,
                       reason="needs root and iproute2 (CI runs as root)"),
]

APP = "tests.apps.topologies:registry"
HEARTBEAT_TIMEOUT = 4.0
RUNS = ("CREATE TABLE runs (job_id bigint, attempt int, pid int, host text, "
        "at timestamptz DEFAULT clock_timestamp())")


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@dataclass
class Host:
    name: str  # the namespace
    veth: str  # the host-side end
    address: str  # the host-side address, where the namespace reaches PostgreSQL
    proxy: BlackholeProxy | None = None
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log else ""


@pytest.fixture
def hosts(dsn: str) -> Iterator[list[Host]]:
    tag = uuid.uuid4().hex[:6]
    made: list[Host] = []
    url = make_url(dsn)
    try:
        for i in (1, 2):
            # a /30 per host in 10.213.0.0/16, picked by the tag (tests may overlap)
            third = (int(tag, 16) * 2 + i) % 250 + 1
            host = Host(f"pgq{tag}h{i}", f"pgq{tag}v{i}", f"10.213.{third}.1")
            made.append(host)
            ip("netns", "add", host.name)
            ip("link", "add", host.veth, "type", "veth", "peer", "name", f"pgq{tag}n{i}")
            ip("link", "set", f"pgq{tag}n{i}", "netns", host.name)
            ip("addr", "add", f"{host.address}/30", "dev", host.veth)
            ip("link", "set", host.veth, "up")
            ip("-n", host.name, "addr", "add", f"10.213.{third}.2/30", "dev", f"pgq{tag}n{i}")
            ip("-n", host.name, "link", "set", f"pgq{tag}n{i}", "up")
            ip("-n", host.name, "link", "set", "lo", "up")
            host.proxy = BlackholeProxy(url.host or "127.0.0.1", url.port or 5432,
                                        listen_host=host.address)
        yield made
    finally:
        for host in made:
            if host.proc is not None and host.proc.poll() is None:
                host.proc.kill()
                host.proc.wait(10)
            if host.proxy is not None:
                host.proxy.close()
            subprocess.run(["ip", "link", "del", host.veth], capture_output=True)
            subprocess.run(["ip", "netns", "del", host.name], capture_output=True)
            if host.log is not None:
                host.log.unlink(missing_ok=True)


def start_worker(host: Host, dsn: str, tmp: Path, concurrency: int) -> str:
    """``pgq-sa worker`` inside ``host``'s namespace; returns its worker id."""
    assert host.proxy is not None
    via = make_url(dsn).set(host=host.address, port=host.proxy.port).render_as_string(
        hide_password=False)
    host.log = tmp / f"{host.name}.log"
    env = {**os.environ, "PGQ_SA_DSN": via, "HOST_LABEL": host.name,
           "TOPOLOGY_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT), "PYTHONUNBUFFERED": "1"}
    host.proc = subprocess.Popen(
        ["ip", "netns", "exec", host.name, PGQ_SA, "worker", APP, "--dsn", via,
         "-c", str(concurrency), "--poll-interval", "0.5", "--log-level", "INFO"],
        cwd=ROOT, env=env, stdout=open(host.log, "wb"), stderr=subprocess.STDOUT)  # noqa: SIM115
    proc = host.proc

    def registered() -> str | None:
        if proc.poll() is not None:
            raise AssertionError(f"worker on {host.name} exited:\n{host.output()}")
        rows = query(dsn, "SELECT id FROM pgq_workers WHERE pid = %s", (proc.pid,))
        return rows[0][0] if rows else None

    return str(wait_until(registered, 30, message=f"the worker on {host.name}"))


def test_a_host_cut_off_mid_drain(dsn, sync_engine, hosts, tmp_path):
    query(dsn, RUNS)
    one, two = hosts
    # ten long jobs (they outlive the cut) fill the first host, ten more run on the
    # second, which has room for the first host's too
    one_id = start_worker(one, dsn, tmp_path, concurrency=10)
    pgq_sa.enqueue_many_sync(sync_engine, [("hold", {"seconds": 30})] * 10)
    wait_until(lambda: query(dsn, "SELECT count(*) FROM runs WHERE host = %s",
                             (one.name,)) == [(10,)], 30, message="ten jobs on the first")
    two_id = start_worker(two, dsn, tmp_path, concurrency=30)
    pgq_sa.enqueue_many_sync(sync_engine, [("hold", {"seconds": 30})] * 10)
    wait_until(lambda: query(dsn, "SELECT count(DISTINCT host), count(*) FROM runs")
               == [(2, 20)], 30, message="ten jobs running on each host")
    cut_off = {r[0] for r in query(dsn, "SELECT id FROM pgq_jobs WHERE status = 'running' "
                                        "AND worker_id = %s", (one_id,))}
    assert len(cut_off) == 10
    ip("link", "set", one.veth, "down")
    t0 = time.monotonic()
    # the other host rescues them once the heartbeat timeout has passed, and runs them
    wait_until(lambda: query(dsn, "SELECT count(*) FROM pgq_jobs WHERE id = ANY(%s) "
                                  "AND worker_id = %s", (list(cut_off), two_id))[0][0] == 10
               or query(dsn, "SELECT count(*) FROM runs WHERE attempt = 2")[0][0] == 10,
               60, message="the cut host's jobs to be rescued and rerun on the other")
    assert time.monotonic() - t0 >= HEARTBEAT_TIMEOUT * 0.9
    assert two.proc is not None and two.proc.poll() is None
    # the link comes back while the cut host's copies still run
    ip("link", "set", one.veth, "up")
    wait_until(lambda: one.output().count("is no longer held by this worker") == 10, 60,
               message="the cut worker to stop the jobs taken from it")
    wait_until(lambda: query(dsn, "SELECT count(*) FROM pgq_jobs WHERE status = "
                                  "'succeeded'")[0][0] == 20, 90,
               message="every job to succeed")
    # it rejoins: it takes new jobs again (more than the other host has room for,
    # so that one claim there cannot take them all)
    pgq_sa.enqueue_many_sync(sync_engine, [("hold", {"seconds": 1})] * 60)
    wait_until(lambda: query(dsn, "SELECT count(*) FROM runs WHERE host = %s AND "
                                  "job_id > (SELECT max(id) - 60 FROM pgq_jobs)",
                             (one.name,))[0][0] > 0, 60,
               message="the cut host to run new jobs")
    wait_until(lambda: query(dsn, "SELECT count(*) FROM pgq_jobs WHERE status = "
                                  "'succeeded'")[0][0] == 80, 60, message="the new jobs")
    for host in hosts:
        assert host.proc is not None and host.proc.poll() is None, host.output()
        host.proc.send_signal(signal.SIGTERM)
        assert host.proc.wait(40) == 0, host.output()

    # nothing lost, duplicates only among the cut host's in-flight jobs, no stale outcome
    rows = query(dsn, "SELECT id, status, attempts, errors FROM pgq_jobs")
    assert len(rows) == 80 and {r[1] for r in rows} == {"succeeded"}
    runs = query(dsn, "SELECT job_id, attempt, host FROM runs ORDER BY at")
    twice = {j for j in {r[0] for r in runs} if sum(r[0] == j for r in runs) > 1}
    assert twice == cut_off
    for job_id, _, attempts, errors in rows:
        if job_id in cut_off:
            assert attempts == 2
            assert [e["type"] for e in errors] == ["WorkerLost"]
            assert f"no heartbeat from worker {one_id}" in errors[0]["message"]
            assert [(r[1], r[2]) for r in runs if r[0] == job_id] == [(1, one.name),
                                                                     (2, two.name)]
        else:
            assert attempts == 1 and errors == []
    assert "Traceback" not in one.output(), one.output()
