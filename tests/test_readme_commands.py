"""Every ``seller-health`` command in the README's code blocks runs as written and exits as the
README says, so the README cannot show a failing example again.

Each command runs as ``python -m seller_health`` (in a fork of a process that imported the CLI
once) in a folder of its own holding a copy of ``examples/data``, a store made from it (three
stored runs) and the files the README shows (``my-targets.yaml``). The example data is a
snapshot at 2026-11-01 (examples/README.md), so the clock of each command stands there: a plain
``check`` then judges the data as the README means it to. A usage synopsis
(``email [--config FILE] ...``) runs without its optional parts, and every option it names must
exist. Commands that need a marketplace, a mail server or real secrets are listed in
:data:`NEEDS_SERVER` with the reason, and skipped one by one.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import click
import pytest

import seller_health as sh
from seller_health.app.cli import PDF_INSTALL, main

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
NOW = datetime(2026, 11, 1, tzinfo=UTC)  # the instant the example data was taken at

# Commands (their subcommand words) that cannot run here, and why.
NEEDS_SERVER = {
    ("sync",): "pulls from the Amazon Selling Partner API with an account's real secrets",
    ("run",): "the scheduler: syncs from Amazon and mails through SMTP, until stopped",
    ("email",): "mails through the SMTP server of seller-health.toml (--save still needs [smtp])",
}
# A word of the README standing for something of the reader's own, and what it is here.
PLACEHOLDERS = {"DIR": "examples/data"}
# README commands that need another README command run first in the same folder.
BEFORE = {("config", "check"): [["config", "init"]]}
# examples/README.md: the accounts' statuses at 2026-11-01 (the others are ok).
STATUSES = {"acme-de": "breach", "prairie-us": "breach", "casa-lume-br": "warn"}
FAIL_ON = {"breach": {"breach"}, "warn": {"breach", "warn"}, "never": set()}
# The files the README shows and its commands use, by the first line of their block.
FILES = {"my-targets.yaml": "pack: my-targets"}

# Runs ``python -m seller_health ARGS`` for each request, in a fork of a process that has
# imported the CLI once (about 2 s saved per command), with the clock at NOW: every command
# reads it through timeutil. A request is a JSON line [folder, argv, env, out, err]; the reply
# is the exit status.
LAUNCHER = f"""
import json, os, runpy, signal, sys, traceback
from datetime import datetime
import seller_health.timeutil as clock
clock.utcnow = lambda: datetime.fromisoformat({NOW.isoformat()!r})
import seller_health.app.cli
for request in sys.stdin:
    folder, argv, env, out, err = json.loads(request)
    pid = os.fork()
    if pid == 0:
        signal.alarm(300)  # a command that hangs is killed, and fails its test
        os.chdir(folder)
        os.environ.clear()
        os.environ.update(env)
        for fd, path in ((1, out), (2, err)):
            os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), fd)
        sys.argv = ["seller-health", *argv]
        code = 0
        try:
            runpy.run_module("seller_health", run_name="__main__", alter_sys=True)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
            if isinstance(exc.code, str):
                print(exc.code, file=sys.stderr)
        except BaseException:
            traceback.print_exc()
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    print(os.waitstatus_to_exitcode(status), flush=True)
"""


@dataclass
class Command:
    line: int
    text: str  # as the README writes it, without its comment
    argv: list[str]  # what runs: the optional parts of a synopsis left out
    options: list[str] = field(default_factory=list)  # every option it names

    @property
    def words(self) -> tuple[str, ...]:
        """Its subcommand, as the CLI resolves it: ``("config", "check")``."""
        command: click.Command = main
        found: list[str] = []
        for token in self.argv:
            if not isinstance(command, click.Group) or token not in command.commands:
                break
            command = command.commands[token]
            found.append(token)
        return tuple(found)


def _code_lines(text: str) -> list[tuple[int, str]]:
    """The lines of the README's code blocks, fenced or indented by four spaces or more."""
    lines: list[tuple[int, str]] = []
    fenced = False
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if fenced or line.startswith("    "):
            lines.append((number, line))
    return lines


def _parse(number: int, text: str) -> Command:
    """A command line: ``[...]`` groups are optional, so they are left out of what runs."""
    tokens = shlex.split(text, comments=True)[1:]  # without "seller-health"
    argv: list[str] = []
    options: list[str] = []
    depth = 0
    for token in tokens:
        for name in re.findall(r"--[a-z][a-z-]*", token):
            options.append(name)
        opened = token.count("[")
        if depth == 0 and not opened:
            argv.append(token)
        depth += opened - token.count("]")
    return Command(number, shlex.join(["seller-health", *tokens]), argv, options)


def readme_commands() -> list[Command]:
    """Each ``seller-health`` command of the README's code blocks, a ``$`` prompt or a ``&&``
    chain before it, and a synopsis' continuation lines, joined."""
    commands: list[Command] = []
    lines = _code_lines(README.read_text(encoding="utf-8"))
    i = 0
    while i < len(lines):
        number, line = lines[i]
        i += 1
        found = re.search(r"(?:^\s*(?:\$ )?|&& )(seller-health (?!.*&&).*)$", line)
        if not found:
            continue
        text = found.group(1).rstrip()
        indent = len(line) - len(line.lstrip())
        while i < len(lines) and re.match(rf"\s{{{indent + 1},}}\[", lines[i][1]):
            text += " " + lines[i][1].strip()  # a synopsis continued on the next line
            i += 1
        commands.append(_parse(number, text))
    return commands


COMMANDS = readme_commands()
# What runs: each distinct command once, named by every line that shows it.
RUNS: dict[tuple[str, ...], list[Command]] = {}
for _command in COMMANDS:
    RUNS.setdefault(tuple(_command.argv), []).append(_command)
RUN_IDS = [",".join(f"L{c.line}" for c in shown) + " " + shown[0].text for shown in RUNS.values()]


def _expected_exit(command: Command) -> int:
    """As the README documents: ``check`` and ``audit`` exit 1 when an account they judge
    reaches ``--fail-on`` (breach by default; audit: breach), every other command 0."""
    argv = command.argv
    if command.words == ("audit",):
        return 1 if STATUSES.get(argv[1]) == "breach" else 0
    if command.words != ("check",):
        return 0
    values = {
        name: [argv[i + 1] for i, token in enumerate(argv[:-1]) if token == name]
        for name in ("--account", "--fail-on")
    }
    judged = values["--account"] or list(STATUSES)
    failing = FAIL_ON[(values["--fail-on"] or ["breach"])[-1]]
    return 1 if any(STATUSES.get(account) in failing for account in judged) else 0


def _block(first_line: str) -> str:
    readme = README.read_text(encoding="utf-8")
    blocks = re.findall(r"```\w*\n(.*?)```", readme, flags=re.S)
    found = [b for b in blocks if b.startswith(first_line + "\n")]
    assert len(found) == 1, f"the README shows one file starting {first_line!r}"
    return found[0]


@pytest.fixture(scope="session")
def prepared(tmp_path_factory) -> Path:
    """A folder as a reader of the README has it: the example data, a store made from it with
    three runs (the last at the data's own instant), and the README's files."""
    folder = tmp_path_factory.mktemp("readme")
    shutil.copytree(ROOT / "examples" / "data", folder / "examples" / "data")
    store = sh.open_store(str(folder / "seller-health.db"))
    sh.import_files(store, folder / "examples" / "data")
    for day in (30, 31):
        sh.check(store, as_of=datetime(2026, 10, day, tzinfo=UTC))
    sh.check(store, as_of=NOW)
    store.dispose()
    for name, first_line in FILES.items():
        (folder / name).write_text(_block(first_line), encoding="utf-8")
    return folder


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture(scope="session")
def launcher():
    process = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    yield process
    assert process.stdin is not None
    process.stdin.close()
    process.wait(timeout=60)


def _run(launcher: subprocess.Popen[str], argv: list[str], folder: Path) -> Done:
    env = {k: v for k, v in os.environ.items() if k != "SELLER_HEALTH_DB"}
    config = folder / "seller-health.toml"
    if config.is_file():  # the variables its *_env keys name: set, as a reader would
        for name in re.findall(r'^\w+_env = "(\w+)"', config.read_text(), flags=re.M):
            env[name] = "not-a-real-secret"
    out, err = folder.parent / "stdout.txt", folder.parent / "stderr.txt"
    assert launcher.stdin is not None and launcher.stdout is not None
    launcher.stdin.write(json.dumps([str(folder), argv, env, str(out), str(err)]) + "\n")
    launcher.stdin.flush()
    code = int(launcher.stdout.readline())
    return Done(code, out.read_text(encoding="utf-8"), err.read_text(encoding="utf-8"))


def test_the_readme_has_the_commands_this_test_knows():
    words = {command.words for command in COMMANDS}
    assert {("check",), ("report",), ("history",), ("audit",), ("rules",)} <= words
    assert set(NEEDS_SERVER) <= words, "a command listed as needing a server is gone"
    assert set(BEFORE) <= words
    for command in COMMANDS:
        assert command.words, f"README.md:{command.line}: not a command: {command.text}"


@pytest.mark.parametrize("command", COMMANDS, ids=[f"L{c.line} {c.text}" for c in COMMANDS])
def test_every_option_the_readme_names_exists(command: Command):
    cli: click.Command = main
    for word in command.words:
        assert isinstance(cli, click.Group)
        cli = cli.commands[word]
    known = {name for param in cli.params for name in (*param.opts, *param.secondary_opts)}
    unknown = [option for option in command.options if option not in known | {"--help"}]
    assert not unknown, f"README.md:{command.line}: no such option of {command.words}"


@pytest.mark.slow  # seconds each: checks, an audit with its PDF, the demo
@pytest.mark.parametrize("shown", list(RUNS.values()), ids=RUN_IDS)
def test_every_readme_command_runs(
    shown: list[Command], prepared: Path, launcher: subprocess.Popen[str], tmp_path: Path
):
    command = shown[0]
    if command.words in NEEDS_SERVER:
        pytest.skip(f"needs a server: {NEEDS_SERVER[command.words]}")
    argv = [PLACEHOLDERS.get(token, token) for token in command.argv]
    unknown = [token for token in argv if re.fullmatch(r"[A-Z][A-Z_]+", token)]
    assert not unknown, f"README.md:{command.line}: placeholders this test does not know"
    folder = tmp_path / "reader"
    shutil.copytree(prepared, folder)
    for earlier in BEFORE.get(command.words, []):
        done = _run(launcher, earlier, folder)
        assert done.returncode == 0, done.stderr
    done = _run(launcher, argv, folder)
    expected = _expected_exit(command)
    assert done.returncode == expected, (
        f"README.md:{command.line}: {command.text}\nexit {done.returncode}, not {expected}\n"
        f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    )


def test_one_pdf_install_hint():
    """The README and ``audit --pdf`` tell the same install command."""
    assert f"`{PDF_INSTALL}`" in README.read_text(encoding="utf-8")
    cli_source = (ROOT / "seller_health" / "app" / "cli.py").read_text(encoding="utf-8")
    assert "seller-health[pdf]" not in cli_source
