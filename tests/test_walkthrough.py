"""docs/walkthrough.md runs: every `bash` block, in order, against the real services.

The services run as their own processes (influencer HTTP + relay, CRM HTTP) on fresh
databases; Kafka and PostgreSQL are the session's. The commands are executed by a small
interpreter that understands exactly the shell the page uses -- ``export V=…``, ``V=$(…)``,
``$V`` expansion, ``sleep N``, ``$(date -u +FORMAT)``, backslash continuations and a trailing
``# => value`` / ``# => exit N`` expectation -- and runs each ``g3n …`` line through the CLI
in-process (the same code as the installed command, without a Python start-up per line).

The page's org ``acme`` is replaced by a fresh org name so that reading the shared accounting
topic from the beginning only sees this run's payout.
"""

from __future__ import annotations

import os
import re
import shlex
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from g3n_cli.main import app
from g3n_cli.services import SERVICES
from g3n_cli.testing import prepare_database, start_service
from g3n_devstack.ops import run_sync
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "walkthrough.md"
_BLOCK = re.compile(r"^```bash\n(.*?)^```", re.S | re.M)
_EXPECT = re.compile(r"\s+# => (.*)$")
_ASSIGN = re.compile(r"^(export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
_DATE = re.compile(r"\$\(date -u \+([^)]*)\)")


def commands(text: str) -> list[str]:
    """The logical command lines of every bash block (continuations joined, comments dropped)."""
    out: list[str] = []
    for block in _BLOCK.findall(text):
        pending = ""
        for raw in block.splitlines():
            line = pending + raw.strip()
            if line.endswith("\\"):
                pending = line[:-1].rstrip() + " "
                continue
            pending = ""
            if line and not line.startswith("#"):
                out.append(line)
    return out


@dataclass
class Shell:
    env: dict[str, str]
    replace: dict[str, str]
    variables: dict[str, str] = field(default_factory=dict)
    transcript: list[str] = field(default_factory=list)

    def expand(self, text: str) -> str:
        """``$V`` / ``${V}`` outside single quotes, and ``$(date -u +FORMAT)``."""
        text = _DATE.sub(lambda m: datetime.now(UTC).strftime(m.group(1)), text)
        out: list[str] = []
        for n, part in enumerate(text.split("'")):
            if n % 2 == 1:  # inside single quotes: literal
                out.append(part)
                continue
            out.append(_VAR.sub(lambda m: self.lookup(m.group(1) or m.group(2)), part))
        return "'".join(out)

    def lookup(self, name: str) -> str:
        if name in self.variables:
            return self.variables[name]
        if name in self.env:
            return self.env[name]
        raise AssertionError(f"${name} is not set")

    def run(self, line: str) -> None:
        for old, new in self.replace.items():
            line = re.sub(rf"\b{re.escape(old)}\b", new, line)
        expect: str | None = None
        found = _EXPECT.search(line)
        if found:
            expect, line = found.group(1).strip(), line[: found.start()]
        assign = _ASSIGN.match(line)
        if assign:
            name, value = assign.group(2), assign.group(3)
            if value.startswith("$(") and value.endswith(")"):
                value = self.command(value[2:-1], expect="exit 0")
            else:
                value = shlex.split(self.expand(value))[0] if value else ""
            if assign.group(1):
                self.env[name] = value
            else:
                self.variables[name] = value
            return
        self.command(line, expect=expect or "exit 0")

    def command(self, line: str, *, expect: str) -> str:
        argv = shlex.split(self.expand(line))
        self.transcript.append("$ " + shlex.join(argv))
        if argv[0] == "sleep":
            time.sleep(float(argv[1]))
            return ""
        assert argv[0] == "g3n", f"the page may only run g3n (and sleep): {line}"
        result = CliRunner().invoke(app, argv[1:], env=self.env)
        self.transcript.append(result.stdout + result.stderr)
        where = f"{line}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
        if expect.startswith("exit "):
            assert result.exit_code == int(expect[5:]), where
        else:
            assert result.exit_code == 0, where
            assert result.stdout.strip() == self.expand(expect), where
        return result.stdout.strip()


@pytest.fixture(scope="module")
def system(stack: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    ifm, crm = SERVICES["influencer"], SERVICES["crm"]

    async def prepare() -> tuple[str, str]:
        return await prepare_database(stack, ifm, "walkifm"), await prepare_database(stack, crm, "walkcrm")

    ifm_dsn, crm_dsn = run_sync(prepare())
    logs = tmp_path_factory.mktemp("walkthrough")
    ifm_procs = start_service(ifm, ifm_dsn, stack.kafka_bootstrap, logs, processes=("http", "relay"))
    try:
        crm_procs = start_service(crm, crm_dsn, stack.kafka_bootstrap, logs)
        try:
            yield {
                "G3N_IFM_BASE_URL": ifm_procs.base_url,
                "G3N_CRM_BASE_URL": crm_procs.base_url,
                "G3N_IFM_DATABASE_URL": ifm_dsn,
                "G3N_CRM_DATABASE_URL": crm_dsn,
                "G3N_KAFKA_BOOTSTRAP": stack.kafka_bootstrap,
                "G3N_CONFIG": str(logs / "config.toml"),
                "COLUMNS": "160",
            }
        finally:
            crm_procs.stop()
    finally:
        ifm_procs.stop()


def test_the_interpreter_reads_the_page_like_bash() -> None:
    shell = Shell(env={"HOME": "/h"}, replace={})
    assert shell.expand("a $HOME '$HOME' ${HOME}x") == "a /h '$HOME' /hx"
    lines = commands(
        "x\n```bash\n# c\nA=1\ng3n a \\\n  --b 'c d'   # => exit 5\n```\n```console\n$ no\n```\n"
    )
    assert lines == ["A=1", "g3n a --b 'c d'   # => exit 5"]


def test_every_command_of_the_walkthrough_runs(system: dict[str, str]) -> None:
    lines = commands(PAGE.read_text(encoding="utf-8"))
    assert len(lines) > 50
    env = {k: v for k, v in os.environ.items() if not k.startswith("G3N_")}
    shell = Shell(env={**env, **system}, replace={"acme": f"wk{uuid.uuid4().hex[:8]}"})
    try:
        for line in lines:
            shell.run(line)
    finally:
        transcript = "\n".join(shell.transcript)
        if os.environ.get("G3N_WALKTHROUGH_TRANSCRIPT"):  # to look at what a user sees
            Path(os.environ["G3N_WALKTHROUGH_TRANSCRIPT"]).write_text(transcript, encoding="utf-8")
    assert "ifm.payout.recorded" in transcript or shell.variables["PAYOUT"] in transcript
