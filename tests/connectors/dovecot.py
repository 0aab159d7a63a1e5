"""A private Dovecot IMAP server on loopback, for testing the IMAP source against the real thing.

A fake IMAP server would agree with whatever the client assumes; Dovecot is what many sellers'
mail hosts run. The server gets its own config, certificates, passwd-file, sockets, state and
Maildir under a pytest temporary directory, listens on 127.0.0.1 only, on free ports, and is
stopped after the tests. Nothing of the system's Dovecot (``/etc/dovecot``, ``/run/dovecot``,
``/var/lib/dovecot``) is used, so a system service may run alongside or not at all.

Without ``dovecot`` the tests skip with the reason (a laptop), except under CI (``CI`` set),
where they fail: CI installs ``dovecot-imapd`` in ``.ci/run``.

Running as root (CI) Dovecot refuses root for login and mail processes, and an unprivileged
process cannot reach a directory under pytest's ``/tmp/pytest-of-root`` (mode 0700). So login
processes run as ``dovenull`` chrooted in the server's ``login/`` directory (Dovecot's default),
and mail processes as ``nobody`` chrooted in the mail root (``home=<root>/./<user>``); only
the directories those users write are handed to them. As any other user, every process runs as
that user (Dovecot's rootless mode) and nothing is chrooted.
"""

from __future__ import annotations

import contextlib
import grp
import imaplib
import os
import pwd
import re
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from seller_health.connectors.mailbox import ImapSource

USER = "seller"
PASSWORD = "correct horse battery staple"
START_TIMEOUT = 15.0


def _unavailable(reason: str) -> None:
    """Skip on a laptop without Dovecot; under CI the IMAP tests must run, so fail."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: the IMAP tests must run here; see .ci/run)")
    pytest.skip(f"{reason}; IMAP tests skipped")


def find_dovecot() -> str:
    """The dovecot binary (Debian's ``/usr/sbin/dovecot`` first), or skip/fail."""
    for candidate in ("/usr/sbin/dovecot", shutil.which("dovecot")):
        if candidate and os.access(candidate, os.X_OK):
            version = subprocess.run(
                [candidate, "--version"], capture_output=True, text=True, timeout=10
            ).stdout.strip()
            match = re.match(r"(\d+)\.(\d+)", version)
            if match is None or (int(match.group(1)), int(match.group(2))) != (2, 3):
                _unavailable(f"{candidate} is Dovecot {version or '?'}; this helper writes 2.3")
            return candidate
    _unavailable("Dovecot is not installed (apt-get install dovecot-imapd)")
    raise AssertionError("unreachable")


def _free_ports(count: int) -> list[int]:
    """Ports free on 127.0.0.1 now; held open together so the kernel hands out distinct ones."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


def _make_certificates(root: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1/localhost signed by it."""
    openssl = shutil.which("openssl")
    if openssl is None:
        _unavailable("openssl is not installed; it makes the test server's certificate")
    assert openssl is not None
    ca_key, ca_cert = root / "ca.key", root / "ca.pem"
    key, csr, cert = root / "server.key", root / "server.csr", root / "server.pem"
    ext = root / "server.ext"
    ext.write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
    )
    new_key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    commands = [
        [openssl, "req", "-x509", *new_key, "-keyout", ca_key, "-out", ca_cert, "-days", "2"]
        + ["-subj", "/CN=seller-health test CA"]
        + ["-addext", "basicConstraints=critical,CA:TRUE"]
        + ["-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        [openssl, "req", "-new", *new_key, "-keyout", key, "-out", csr, "-subj", "/CN=localhost"],
        [openssl, "x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key]
        + ["-CAcreateserial", "-days", "2", "-out", cert, "-extfile", ext],
    ]
    for command in commands:
        subprocess.run([str(arg) for arg in command], check=True, capture_output=True, timeout=60)
    key.chmod(0o600)
    return ca_cert, cert, key


def _config(root: Path, cert: Path, key: Path, imaps_port: int, imap_port: int) -> str:
    """Dovecot 2.3 settings for a private instance: every path under ``root``."""
    mail = root / "mail"
    (mail / USER).mkdir(parents=True)
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        login_user = "dovenull" if _user_exists("dovenull") else "nobody"
        os.chown(mail / USER, nobody.pw_uid, nobody.pw_gid)
        identity = (
            "default_internal_user = root\n"
            "default_internal_group = root\n"
            f"default_login_user = {login_user}\n"
            f"valid_chroot_dirs = {mail}\n"
        )
        userdb = f"uid={nobody.pw_uid} gid={nobody.pw_gid} home={mail}/./%u"
        chroots = ""  # Dovecot's defaults: login processes chrooted in base_dir/login
    else:
        me = pwd.getpwuid(os.getuid())
        group = grp.getgrgid(os.getgid()).gr_name
        identity = (
            f"default_internal_user = {me.pw_name}\n"
            f"default_internal_group = {group}\n"
            f"default_login_user = {me.pw_name}\n"
        )
        userdb = f"uid={os.getuid()} gid={os.getgid()} home={mail}/%u"
        chroots = "  chroot =\n"  # chroot needs root
    return f"""\
# Private test instance written by tests/connectors/dovecot.py
instance_name = seller-health-test-{imaps_port}
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
{identity}ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {root}/passwd
}}
userdb {{
  driver = static
  args = {userdb}
}}
# No auth penalty: the wrong-password test would delay every later login from 127.0.0.1
# by seconds (Dovecot's documented switch: no anvil-auth-penalty listener).
service anvil {{
{chroots}  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
{chroots}  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
    ssl = yes
  }}
}}
"""


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@dataclass
class Dovecot:
    """A running private server, with the few client operations the tests need."""

    root: Path
    imaps_port: int
    imap_port: int
    ca_file: Path
    log_file: Path
    host: str = "127.0.0.1"
    username: str = USER
    password: str = PASSWORD

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))

    def source(self, folder: str, **options: object) -> ImapSource:
        """An :class:`ImapSource` on this server, trusting its CA."""
        options.setdefault("ssl_context", self.ssl_context())
        port = self.imap_port if options.get("starttls") else self.imaps_port
        password = str(options.pop("password", self.password))
        return ImapSource(self.host, port, self.username, password, folder, **options)  # type: ignore[arg-type]

    @contextlib.contextmanager
    def client(self) -> Iterator[imaplib.IMAP4_SSL]:
        conn = imaplib.IMAP4_SSL(self.host, self.imaps_port, ssl_context=self.ssl_context())
        conn.login(self.username, self.password)
        try:
            yield conn
        finally:
            conn.logout()

    def deliver(self, folder: str, *messages: bytes) -> None:
        """APPEND the messages (creating the folder), as a mail delivery would file them."""
        with self.client() as conn:
            conn.create(folder)  # "already exists" is a NO we do not mind
            for raw in messages:
                typ, data = conn.append(folder, None, None, raw)
                assert typ == "OK", data

    def recreate(self, folder: str) -> None:
        """Delete and create the folder again: the server gives it a new UIDVALIDITY."""
        with self.client() as conn:
            assert conn.delete(folder)[0] == "OK"
            assert conn.create(folder)[0] == "OK"

    def flags(self, folder: str) -> dict[int, str]:
        """``{uid: flags}`` as the server holds them, read with EXAMINE (changes nothing)."""
        with self.client() as conn:
            assert conn.select(folder, readonly=True)[0] == "OK"
            typ, data = conn.uid("FETCH", "1:*", "(UID FLAGS)")
            assert typ == "OK", data
        flags: dict[int, str] = {}
        for line in data:
            if isinstance(line, bytes) and (
                match := re.search(rb"UID (\d+) FLAGS \(([^)]*)\)", line)
            ):
                flags[int(match.group(1))] = match.group(2).decode()
        return flags

    def log_tail(self, lines: int = 20) -> str:
        if not self.log_file.exists():
            return "(no log)"
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])


@contextlib.contextmanager
def running_dovecot(root: Path) -> Iterator[Dovecot]:
    """Write the config under ``root``, check it with ``dovecot -n``, start, yield, stop."""
    binary = find_dovecot()
    root.mkdir(parents=True, exist_ok=True)
    ca_file, cert, key = _make_certificates(root)
    (root / "passwd").write_text(f"{USER}:{PASSWORD}::::::\n")
    (root / "passwd").chmod(0o600)
    imaps_port, imap_port = _free_ports(2)
    config = root / "dovecot.conf"
    config.write_text(_config(root, cert, key, imaps_port, imap_port))
    check = subprocess.run(
        [binary, "-n", "-c", str(config)], capture_output=True, text=True, timeout=30
    )
    if check.returncode != 0:
        pytest.fail(f"dovecot -n rejected the test config:\n{check.stderr or check.stdout}")
    server = Dovecot(root, imaps_port, imap_port, ca_file, root / "dovecot.log")
    output = (root / "dovecot.out").open("wb")
    process = subprocess.Popen(
        [binary, "-F", "-c", str(config)], stdout=output, stderr=subprocess.STDOUT
    )
    try:
        _wait_for_ports(process, server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        output.close()


def _wait_for_ports(process: subprocess.Popen[bytes], server: Dovecot) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    for port in (server.imaps_port, server.imap_port):
        while True:
            if process.poll() is not None:
                pytest.fail(f"dovecot exited with {process.returncode}:\n{server.log_tail()}")
            try:
                socket.create_connection((server.host, port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"dovecot did not listen on {port}:\n{server.log_tail()}")
                time.sleep(0.05)


@pytest.fixture(scope="module")
def dovecot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dovecot]:
    """One server per test module (start-up costs about a second); tests use own folders."""
    with running_dovecot(tmp_path_factory.mktemp("dovecot")) as server:
        yield server
