"""`make run` (scripts/run.sh): starts the proxy on the Config/ defaults, forwarding when an agent
answers on the upstream and in sink mode otherwise, and tells the user where to point apps.

The release build is stood in for by the binary under test (a `swift` stub given through SWIFT),
so this checks the script's own logic in seconds; `make run` itself builds for real."""
from __future__ import annotations

import os
import stat

import requests

from harness import REPO, Fatal, Proc, clean_env, free_port, wait_until


def swift_stub(workdir, binary) -> str:
    stub = workdir / "swift"
    stub.write_text("#!/bin/sh\n# stands in for `swift build -c release [--show-bin-path]`\n"
                    f'case "$*" in *--show-bin-path*) echo "{binary.parent}";; esac\n')
    stub.chmod(stub.stat().st_mode | stat.S_IEXEC)
    return str(stub)


def start_run_script(workdir, binary, upstream: str) -> tuple[Proc, int]:
    port = free_port()
    env = clean_env(SWIFT=swift_stub(workdir, binary), TRACE_COMPAT_LISTEN=f"127.0.0.1:{port}",
                    TRACE_COMPAT_UPSTREAM=upstream, TRACE_COMPAT_REPORT=str(workdir / "report.json"))
    proc = Proc("scripts/run.sh", ["bash", str(REPO / "scripts" / "run.sh")], workdir / "run.log", env=env).start()
    def healthy() -> bool:
        if not proc.alive():
            raise Fatal("scripts/run.sh exited:\n" + proc.log_tail())
        return requests.get(f"http://127.0.0.1:{port}/compat/health", timeout=2).status_code == 200

    wait_until(healthy, 60, "scripts/run.sh to bring /compat/health up", on_timeout=proc.log_tail)
    return proc, port


def test_run_script_falls_back_to_sink_mode(binary, workdir):
    nobody = f"http://127.0.0.1:{free_port()}"
    proc, port = start_run_script(workdir, binary, nobody)
    try:
        log = proc.log_path.read_text()
        assert "SINK MODE" in log and nobody in log, log
        assert f"DD_TRACE_AGENT_URL=http://127.0.0.1:{port}" in log, log
        assert f"http://127.0.0.1:{port}/compat/report.html" in log and "report.json" in log, log
        assert f"The CLI:                 {binary.parent}/trace-compat" in log, log  # how to call it
        assert "TRACE_COMPAT_ARGS=--fresh make run" in log, log
        traces = requests.put(f"http://127.0.0.1:{port}/v0.4/traces", data=b"\x90",
                              headers={"Content-Type": "application/msgpack"}, timeout=10)
        assert traces.status_code == 200 and "rate_by_service" in traces.json(), traces.text
    finally:
        assert proc.stop() == 0, proc.log_tail()
    assert (workdir / "report.json").exists(), "Ctrl-C/SIGTERM should leave the report file"


def test_run_script_forwards_to_a_live_agent(binary, workdir, agent):
    proc, port = start_run_script(workdir, binary, agent.url)
    try:
        log = proc.log_path.read_text()
        assert f"forwarding to the Datadog Agent at {agent.url}" in log and "SINK MODE" not in log, log
        via = requests.get(f"http://127.0.0.1:{port}/info", timeout=10)
        assert via.status_code == 200 and via.content == requests.get(agent.url + "/info", timeout=10).content
    finally:
        proc.stop()
    assert os.path.exists(workdir / "report.json")


def test_second_run_on_a_taken_address_says_so_in_one_line(binary, workdir):
    """A second `make run`: the address is checked before building and before the banner."""
    import socket
    import subprocess
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        env = clean_env(SWIFT=swift_stub(workdir, binary), TRACE_COMPAT_LISTEN=f"127.0.0.1:{port}",
                        TRACE_COMPAT_UPSTREAM="none", TRACE_COMPAT_REPORT=str(workdir / "report.json"))
        r = subprocess.run(["bash", str(REPO / "scripts" / "run.sh")], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1, r
    assert r.stdout == "", r.stdout
    assert r.stderr.splitlines() == [
        f"run: 127.0.0.1:{port} is already in use (another trace-compat running? stop it, "
        "or choose another address: TRACE_COMPAT_LISTEN=127.0.0.1:8137 make run)"], r.stderr
