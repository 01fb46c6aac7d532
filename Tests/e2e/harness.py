"""Process harness of the end-to-end suite: the Datadog test agent, the trace-compat proxy, the apps.

Every process started here is registered and killed at the end of the test that started it (and at
interpreter exit); every wait is bounded and fails with the tail of the process's log.
Python here is only a test client: the product under test is the `trace-compat` binary.
"""
from __future__ import annotations

import atexit
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import requests

E2E_DIR = Path(__file__).resolve().parent
REPO = E2E_DIR.parents[1]
APPS = E2E_DIR / "apps"
VENV_BIN = Path(sys.executable).parent

_LIVE: list["Proc"] = []


def free_port() -> int:
    """A free TCP port on loopback (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Fatal(Exception):
    """Raised by a wait_until predicate when waiting longer cannot help (the process exited)."""


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.1,
               on_timeout: Callable[[], str] = lambda: "") -> Any:
    """Polls `predicate` until it returns something truthy; raises after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error: Optional[BaseException] = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Fatal:
            raise
        except Exception as e:  # noqa: BLE001 - the predicate may fail until the thing is up
            last_error = e
        time.sleep(interval)
    detail = on_timeout()
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}"
                       + (f" (last error: {last_error!r})" if last_error else "")
                       + (f"\n{detail}" if detail else ""))


# The proxy renders /compat/report at most once a second (ProxyLimits.adminSnapshotMaxAge) and
# answers from that render meanwhile: the same answer within one second proves nothing.
REPORT_RENDER_MAX_AGE = 1.0


def settle_report(proxy_url: str, get_report: Callable[[], dict], what: str,
                  on_timeout: Callable[[], str] = lambda: "", timeout: float = 30) -> dict:
    """Waits until the proxy at `proxy_url` says analysis is idle (`/compat/health`: nothing queued
    or being analysed) and the report's findings and traffic have stayed the same for longer than one
    render of the report; returns that report. The one settling rule of the e2e and fleet suites."""
    seen: list = []  # (time the stretch started, snapshot)

    def stable():
        health = requests.get(proxy_url + "/compat/health", timeout=5).json()
        analysis = health.get("analysis")
        busy = not analysis["idle"] if analysis else health.get("analysis_queue_depth", 0) > 0
        report = get_report()
        snapshot = json.dumps([report.get("findings"), report.get("traffic")], sort_keys=True)
        if busy:
            seen.clear()  # a stretch starts only once analysis was seen idle
            return None
        if not seen or seen[-1][1] != snapshot:
            seen.append((time.monotonic(), snapshot))  # a new stretch starts here
            return None
        if time.monotonic() - seen[-1][0] > REPORT_RENDER_MAX_AGE + 0.2:
            return report
        return None

    return wait_until(stable, timeout, what, interval=0.25, on_timeout=on_timeout)


def _die_with_parent() -> None:
    """Runs in the child before exec: the kernel SIGKILLs it if the test process dies (even by SIGKILL)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - not Linux: atexit and the fixtures still clean up
        pass


class Proc:
    """A child process with its output in a log file; stop() is bounded and always reaps it."""

    def __init__(self, name: str, argv: list[str], log_path: Path, env: Optional[dict] = None,
                 cwd: Optional[Path] = None):
        self.name, self.argv, self.log_path, self.env, self.cwd = name, argv, log_path, env, cwd
        self.popen: Optional[subprocess.Popen] = None

    def start(self) -> "Proc":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        log.write(f"--- start: {' '.join(self.argv)}\n".encode())
        log.flush()
        self.popen = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                      env=self.env, cwd=self.cwd, start_new_session=True,
                                      preexec_fn=_die_with_parent)
        log.close()
        _LIVE.append(self)
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> Optional[int]:
        """Sends `sig`, waits up to `timeout` s, then SIGKILLs. Returns the exit code (None if never started)."""
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            try:
                self.popen.send_signal(sig)
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)
            except ProcessLookupError:
                pass
        if self in _LIVE:
            _LIVE.remove(self)
        return self.popen.returncode

    def log_tail(self, n: int = 40) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return f"[{self.name}: no log at {self.log_path}]"
        return f"[{self.name} log {self.log_path}, last {n} lines]\n" + "\n".join(lines[-n:])


_APPS_RUNNING: list[subprocess.Popen] = []


def kill_all() -> None:
    for p in list(_LIVE):
        p.stop(signal.SIGKILL, timeout=5)
    for app in list(_APPS_RUNNING):
        if app.poll() is None:
            app.kill()
            app.wait(timeout=10)
        _APPS_RUNNING.remove(app)


atexit.register(kill_all)


def clean_env(**extra: str) -> dict:
    """The environment for a child: no DD_* or proxy settings inherited from the caller."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DD_", "_DD_", "TRACE_COMPAT_"))
           and k.lower() not in ("http_proxy", "https_proxy", "no_proxy")}
    env.update({k: str(v) for k, v in extra.items()})
    return env


# ---------------------------------------------------------------------------------------------
# The Datadog test agent (ddapm-test-agent), the real upstream.
# ---------------------------------------------------------------------------------------------

AGENT_CHECKS = ["trace_count_header", "meta_tracer_version_header", "trace_content_length",
                "meta_events_is_valid_json"]


class TestAgent:
    """ddapm-test-agent as a real process on a loopback port. Its session APIs give back what it got."""

    __test__ = False  # not a pytest class

    def __init__(self, workdir: Path, port: Optional[int] = None, uds: Optional[Path] = None):
        self.workdir = workdir
        self.port = port or free_port()
        self.uds = uds  # also serve the agent API on this unix socket
        self.proc: Optional[Proc] = None
        workdir.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> "TestAgent":
        (self.workdir / "snapshots").mkdir(exist_ok=True)
        argv = [str(VENV_BIN / "ddapm-test-agent"), "--host", "127.0.0.1", "--port", str(self.port),
                "--otlp-http-port", str(free_port()), "--otlp-grpc-port", str(free_port()),
                "--snapshot-dir", str(self.workdir / "snapshots")]
        if self.uds is not None:
            argv += ["--trace-uds-socket", str(self.uds)]
        # Datadog's own validation of every trace payload (a failure answers 400 to the sender). Given
        # through the environment: 1.69.1's --enabled-checks flag cannot parse a list.
        env = clean_env(ENABLED_CHECKS=",".join(AGENT_CHECKS))
        self.proc = Proc("test-agent", argv, self.workdir / "test-agent.log", env=env, cwd=self.workdir).start()
        wait_until(self._ready, timeout, f"the test agent on {self.url}/info", on_timeout=self.proc.log_tail)
        return self

    def _ready(self) -> bool:
        if self.proc is not None and not self.proc.alive():
            raise Fatal(f"the test agent exited with {self.proc.popen.returncode}:\n" + self.proc.log_tail())
        return requests.get(self.url + "/info", timeout=2).status_code == 200

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()

    def get(self, path: str) -> Any:
        r = requests.get(self.url + path, timeout=30)
        r.raise_for_status()
        return r.json() if r.content and r.headers.get("Content-Type", "").startswith("application/json") else r.text

    def start_session(self) -> None:
        """Everything the agent receives from now on belongs to this session (no token: the latest one)."""
        requests.get(self.url + "/test/session/start", timeout=10).raise_for_status()

    def session_traces(self) -> list:
        return self.get("/test/session/traces")

    def session_requests(self) -> list:
        return self.get("/test/session/requests")

    def session_telemetry(self) -> list:
        return self.get("/test/session/apmtelemetry")

    def log_text(self) -> str:
        return self.proc.log_path.read_text(errors="replace") if self.proc else ""


# ---------------------------------------------------------------------------------------------
# The product: trace-compat proxy.
# ---------------------------------------------------------------------------------------------

def trace_compat_binary() -> Path:
    """The built `trace-compat` (TRACE_COMPAT_BIN, set by scripts/e2e/run.sh, or a debug build in .build)."""
    env = os.environ.get("TRACE_COMPAT_BIN")
    candidates = [Path(env)] if env else [REPO / ".build" / "debug" / "trace-compat",
                                          REPO / ".build" / "release" / "trace-compat"]
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return c
    raise FileNotFoundError("no trace-compat binary: run `make e2e` (it builds one) or set TRACE_COMPAT_BIN; "
                            f"looked at {', '.join(map(str, candidates))}")


class Proxy:
    """`trace-compat proxy` as a real process; admin routes under /compat on the same listener."""

    def __init__(self, binary: Path, workdir: Path, upstream: str, report: Optional[Path] = None,
                 port: Optional[int] = None, listen: Optional[str] = None, extra_args: Optional[list] = None):
        self.binary, self.workdir, self.upstream = binary, workdir, upstream
        self.report = report or workdir / "report.json"
        self.port = port or free_port()
        self.listen = listen or f"127.0.0.1:{self.port}"
        self.extra_args = extra_args or []
        self.proc: Optional[Proc] = None
        workdir.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        """The URL the admin routes answer on (TCP, even when traces come in on a unix socket)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def agent_url(self) -> str:
        """What an app puts in DD_TRACE_AGENT_URL."""
        return self.listen if self.listen.startswith("unix://") else self.url

    def start(self, fresh: bool = False, timeout: float = 30) -> "Proxy":
        argv = [str(self.binary), "proxy", "--listen", self.listen, "--upstream", self.upstream,
                "--report", str(self.report)] + (["--fresh"] if fresh else []) + self.extra_args
        self.proc = Proc("trace-compat proxy", argv, self.workdir / "proxy.log", env=clean_env(),
                         cwd=self.workdir).start()
        wait_until(self._healthy, timeout, f"trace-compat proxy health at {self.url}/compat/health",
                   on_timeout=self.proc.log_tail)
        return self

    def _healthy(self) -> bool:
        if self.proc is not None and not self.proc.alive():
            raise Fatal(f"trace-compat proxy exited with {self.proc.popen.returncode}:\n" + self.proc.log_tail())
        return requests.get(self.url + "/compat/health", timeout=2).status_code == 200

    def stop(self, sig: int = signal.SIGTERM) -> Optional[int]:
        return self.proc.stop(sig) if self.proc else None

    def report_json(self) -> dict:
        r = requests.get(self.url + "/compat/report.json", timeout=10)
        r.raise_for_status()
        return r.json()

    def report_file(self) -> dict:
        return json.loads(self.report.read_text())

    def log_tail(self) -> str:
        return self.proc.log_tail() if self.proc else ""


# ---------------------------------------------------------------------------------------------
# The apps (ddtrace 3.19.9 programs).
# ---------------------------------------------------------------------------------------------

# Lines an app prints on stderr when its tracer could not deliver something (both writers).
_TRACER_ERROR = re.compile(r"(?i:failed to send)|HTTP error status|Connection refused|Traceback|\bERROR\b|"
                           r"\b(?i:error):")
_HARMLESS = re.compile(r"DeprecationWarning|^\s+\S.*set_(struct_)?tag|^\s+setter\(|^\s+s\.set_tag_str")


def app_constants(script: str):
    """Loads an app file as a module without running it (apps import ddtrace inside main() only)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(Path(script).stem, APPS / script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class AppRun:
    app: str
    mode: str
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    summary: dict = field(default_factory=dict)

    def tracer_errors(self) -> list[str]:
        """stderr lines that say the app (its tracer) saw an error: failed sends, HTTP errors, tracebacks."""
        return [ln for ln in self.stderr.splitlines() if _TRACER_ERROR.search(ln) and not _HARMLESS.search(ln)]

    def describe(self) -> str:
        return (f"{self.app} [{self.mode}] exit {self.returncode} in {self.seconds:.1f} s\n"
                f"--- stdout\n{self.stdout[-2000:]}\n--- stderr\n{self.stderr[-4000:]}")


@dataclass(frozen=True)
class Mode:
    """How the tracer talks to the agent."""
    api: str            # v0.4 | v0.5
    native: bool = True  # False: the legacy Python writer (PUT)

    @property
    def name(self) -> str:
        return self.api + ("" if self.native else "-pywriter")

    def env(self) -> dict:
        return {"DD_TRACE_API_VERSION": self.api, "_DD_TRACE_WRITER_NATIVE": "true" if self.native else "false"}


MODES = [Mode("v0.4"), Mode("v0.5"), Mode("v0.4", native=False)]


def _app_env(agent_url: str, mode: Mode, extra_env: dict) -> dict:
    return clean_env(
        DD_TRACE_AGENT_URL=agent_url, DD_ENV="e2e", DD_VERSION="1.0",
        DD_TELEMETRY_HEARTBEAT_INTERVAL="1", DD_INSTRUMENTATION_TELEMETRY_ENABLED="true",
        PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1",
        **mode.env(), **extra_env)


class AppProcess:
    """An app started in the background (for things that must happen while it runs)."""

    def __init__(self, script: str, agent_url: str, mode: Mode, workdir: Path, **extra_env: str):
        workdir.mkdir(parents=True, exist_ok=True)
        self.script, self.mode, self.workdir = script, mode, workdir
        self.out, self.err = workdir / f"{script}.{mode.name}.stdout.txt", workdir / f"{script}.{mode.name}.stderr.txt"
        self.started = time.monotonic()
        with open(self.out, "wb") as out, open(self.err, "wb") as err:
            self.popen = subprocess.Popen([sys.executable, str(APPS / script)],
                                          env=_app_env(agent_url, mode, extra_env), cwd=workdir,
                                          stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                          preexec_fn=_die_with_parent)
        _APPS_RUNNING.append(self.popen)

    def wait(self, timeout: float = 180) -> AppRun:
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=10)
            raise
        finally:
            if self.popen in _APPS_RUNNING and self.popen.poll() is not None:
                _APPS_RUNNING.remove(self.popen)
        run = AppRun(self.script, self.mode.name, self.popen.returncode, self.out.read_text(errors="replace"),
                     self.err.read_text(errors="replace"), time.monotonic() - self.started)
        for line in reversed(run.stdout.splitlines()):
            if line.startswith("{"):
                run.summary = json.loads(line)
                break
        return run


def run_app(script: str, agent_url: str, mode: Mode, workdir: Path, timeout: float = 180, **extra_env: str) -> AppRun:
    """Runs one app to completion against `agent_url` (the proxy or the test agent directly)."""
    return AppProcess(script, agent_url, mode, workdir, **extra_env).wait(timeout)


# ---------------------------------------------------------------------------------------------
# Comparing what the test agent received (direct run vs. through the proxy).
# ---------------------------------------------------------------------------------------------

# Span fields and tags that legitimately differ between two runs of the same program.
VOLATILE_FIELDS = {"trace_id", "span_id", "parent_id", "start", "duration"}
VOLATILE_META = {"runtime-id", "_dd.p.tid", "_dd.parent_id", "_dd.p.ksr"}
VOLATILE_METRICS = {"process_id", "_dd.agent_psr"}
_ADDRESS = re.compile(r"0x[0-9a-fA-F]+")


def _canon(value: Any) -> Any:
    return _ADDRESS.sub("0x…", value) if isinstance(value, str) else value


def normalise_span(span: dict, parent: Optional[dict]) -> str:
    """One span as a canonical string: everything but ids, timing and runtime-specific tags."""
    out = {k: _canon(v) for k, v in span.items() if k not in VOLATILE_FIELDS | {"meta", "metrics"}}
    out["meta"] = {k: _canon(v) for k, v in sorted((span.get("meta") or {}).items()) if k not in VOLATILE_META}
    out["metrics"] = {k: v for k, v in sorted((span.get("metrics") or {}).items()) if k not in VOLATILE_METRICS}
    out["parent"] = None if parent is None else [parent.get("name"), parent.get("resource")]
    return json.dumps(out, sort_keys=True, default=repr)


def normalise_traces(traces: list) -> dict:
    """A multiset (canonical span string → count) of every span the agent received."""
    counts: dict[str, int] = {}
    for trace in traces:
        by_id = {s.get("span_id"): s for s in trace}
        for span in trace:
            key = normalise_span(span, by_id.get(span.get("parent_id")))
            counts[key] = counts.get(key, 0) + 1
    return counts


def all_spans(traces: list) -> list[dict]:
    return [s for t in traces for s in t]


def diff_traces(direct: list, proxied: list, limit: int = 8) -> str:
    """Human-readable difference of two multisets of normalised spans ('' when equal)."""
    a, b = normalise_traces(direct), normalise_traces(proxied)
    lines = []
    for key in sorted(set(a) | set(b)):
        if a.get(key, 0) != b.get(key, 0):
            lines.append(f"direct x{a.get(key, 0)} / proxied x{b.get(key, 0)}: {key[:600]}")
    if not lines:
        return ""
    return f"{len(lines)} span shapes differ (showing {min(limit, len(lines))}):\n" + "\n".join(lines[:limit])


def django_minimal_kind(span: dict) -> Optional[str]:
    """Which kind of span v4's minimal Django tracing stops producing (an oracle independent of the proxy)."""
    meta = span.get("meta") or {}
    if meta.get("component") == "django-database":
        return "database"
    if span.get("name") == "django.cache":
        return "cache"
    if span.get("name") == "django.template.render":
        return "template"
    return None


# ---------------------------------------------------------------------------------------------
# Reading the report (schema trace-compat/report/v1).
# ---------------------------------------------------------------------------------------------

def findings(report: dict, rule: str, service: Optional[str] = None) -> list[dict]:
    return [f for f in report.get("findings", [])
            if f.get("rule") == rule and (service is None or f.get("service") == service)]


def count_by(entries: list[dict], field_name: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in entries:
        k = f.get(field_name)
        out[k] = out.get(k, 0) + int(f.get("count", 1))
    return out
