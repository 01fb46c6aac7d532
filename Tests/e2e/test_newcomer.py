"""A newcomer following the README as written (issue 14): a fresh clone of this repository's HEAD
with ../shared beside it (the project's layout, which the README's commands use), `make install
PREFIX=<tmp>`, then every command of the README's "Audit captured traffic" section exactly as
written, with PREFIX/bin on PATH. A command whose README comment says `# exit N` must exit N, the
others 0; the reports must land where the commands say and nothing may be left in the clone.

One release build from scratch (a few minutes; it is the point: what a stranger runs)."""
from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

from harness import REPO, clean_env

SECTION = "## Audit captured traffic and gate CI"


def readme_audit_commands(readme: str) -> list[str]:
    """The lines of the first ```sh block of the README's audit section."""
    section = readme.split(SECTION, 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def expected_status(command: str) -> int:
    m = re.search(r"#\s*exit (\d+)", command)
    return int(m.group(1)) if m else 0


def test_readme_audit_section_works_as_written(workdir):
    root = workdir / "newcomer"
    clone, prefix = root / "trace-compat", root / "prefix"
    root.mkdir()
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    subprocess.run(["git", "clone", "-q", "--no-checkout", str(REPO), str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "checkout", "-q", head], check=True)
    (root / "shared").symlink_to((REPO.parent / "shared").resolve())

    env = clean_env()
    install = subprocess.run(["make", "install", f"PREFIX={prefix}"], cwd=clone, env=env,
                             capture_output=True, text=True, timeout=2400)
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    assert f"install: trace-compat is at {prefix}/bin/trace-compat" in install.stdout, install.stdout
    assert f"install: {prefix}/bin is NOT on your PATH: call it as {prefix}/bin/trace-compat" in install.stdout, install.stdout

    commands = readme_audit_commands((clone / "README.md").read_text())
    assert len(commands) >= 7 and all("trace-compat " in c for c in commands[1:]), commands
    # One bash session (the block's variables carry over), each command's status checked as it goes.
    script = ["set -u"]
    for i, command in enumerate(commands):
        want = expected_status(command)
        script += [command, f'rc=$?; if [ $rc -ne {want} ]; then echo "README command {i} exited $rc, not {want}: "{shlex.quote(command)} >&2; exit 1; fi']
    script.append('echo "OUT=${out:-}"')
    env = clean_env(PATH=f"{prefix}/bin:{os.environ['PATH']}")
    run = subprocess.run(["bash", "-c", "\n".join(script)], cwd=clone, env=env, capture_output=True, text=True, timeout=300)
    (workdir / "readme-commands.log").write_text(run.stdout + "\n--- stderr\n" + run.stderr)
    assert run.returncode == 0, run.stderr[-3000:]

    # The reports are where the commands put them, and the clone is as clean as it was cloned.
    out = Path(run.stdout.rsplit("OUT=", 1)[1].strip())
    written = sorted(set(re.findall(r"\$out/([\w.-]+)", "\n".join(commands))))
    assert written and all((out / name).is_file() for name in written), (written, sorted(os.listdir(out)))
    status = subprocess.run(["git", "status", "--porcelain"], cwd=clone, capture_output=True, text=True).stdout
    assert status == "", status
    # What the decode line shows: the table's header, then the spans.
    assert "service            name                         resource" in run.stdout, run.stdout[-2000:]
