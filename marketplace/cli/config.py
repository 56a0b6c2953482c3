"""Where the CLI keeps its state: the sign-in session file and the default signing-key path.

Everything lives in ``$EDGEPLUG_CONFIG_DIR`` (default ``~/.config/edgeplug``), a directory
created with mode 0700; files holding tokens or keys are written with mode 0600, atomically.
Commands in several terminals share the session file: whoever replaces it holds its lock.
The environment is read here and nowhere else in the CLI.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from edgeplug.text import json_document
from marketplace.cli.errors import CliError

CONFIG_DIR_ENV = "EDGEPLUG_CONFIG_DIR"
PASSWORD_ENV = "EDGEPLUG_PASSWORD"  # noqa: S105 - the variable's name, not a secret
SESSION_FILE = "config.json"
SESSION_LOCK_FILE = ".config.json.lock"
DEFAULT_KEY_FILE = "signing-key.json"


@dataclass
class Session:
    """One sign-in: the server, who signed in to which tenant, and the current token pair."""

    server: str
    email: str
    tenant: str | None
    role: str | None
    access: str
    refresh: str

    @property
    def sign_in(self) -> tuple[str, str, str | None]:
        """Who signed in to what: a session with other tokens of the same sign-in is the same
        user's, refreshed (or signed in again) elsewhere."""
        return self.server, self.email, self.tenant


def config_dir() -> Path:
    return Path(os.environ.get(CONFIG_DIR_ENV) or Path.home() / ".config" / "edgeplug")


def default_key_path() -> Path:
    return config_dir() / DEFAULT_KEY_FILE


def password_from_env() -> str | None:
    return os.environ.get(PASSWORD_ENV) or None


def session_path() -> Path:
    return config_dir() / SESSION_FILE


def load_session() -> Session | None:
    """The stored session, or None when nobody has signed in yet."""
    path = session_path()
    try:
        data = read_json_file(path)
        session = Session(**data)
        _check_session(session)
        return session
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError) as exc:
        raise CliError(
            "invalid_config", f"{path} is unreadable ({exc}); run `edgeplug login` again"
        ) from exc


def _check_session(session: Session) -> None:
    """Every field a string (the tenant and role may be absent), the tokens ones a header can
    carry: a hand-edited file's ``"server": 123`` or ``"access": "☃"`` is ``invalid_config``,
    not a traceback later."""
    for name, value in asdict(session).items():
        if not isinstance(value, str) and not (value is None and name in ("tenant", "role")):
            raise TypeError(f"{name} is not a string")
    for name in ("access", "refresh"):
        if not is_token(getattr(session, name)):
            raise ValueError(f"{name} is not a token")


_TOKEN = re.compile(r"[!-~]+")


def is_token(value: Any) -> bool:
    """What an ``Authorization`` header carries as it is: visible ASCII without spaces (a JWT
    is base64url and dots). Another token ended every command in UnicodeEncodeError."""
    return isinstance(value, str) and _TOKEN.fullmatch(value) is not None


@contextmanager
def session_lock() -> Iterator[None]:
    """Hold the session file's lock: a refresh reads the file, refreshes and saves under it,
    login writes under it and logout reads, revokes and removes under it, so refreshes of
    commands in several terminals take turns, each with the refresh token the last one saved,
    none saves its session over one written meanwhile by another terminal, and logout revokes
    the session it removes. An flock on a file of its own beside the
    session (0600), released by the kernel however the command ends."""
    path = config_dir() / SESSION_LOCK_FILE
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise _write_failed(path, exc) from exc
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def save_session(session: Session) -> Path:
    path = session_path()
    write_private_file(path, json.dumps(asdict(session), indent=2).encode() + b"\n")
    return path


def read_json_file(path: Path) -> Any:
    """The JSON document in ``path``: ``OSError`` when it cannot be read, ``ValueError`` when
    it is not JSON as EdgePlug reads a document (``edgeplug.text.json_document``: no key twice
    in one object, no NaN, no number past a double), nested deeper than the parser can follow
    included (a RecursionError, which ended the command in a traceback)."""
    text = path.read_text(encoding="utf-8")
    try:
        return json_document(text)
    except RecursionError as exc:
        raise ValueError("JSON nested too deeply to read") from exc


def write_private_file(path: Path, content: bytes, *, overwrite: bool = True) -> None:
    """Write ``content`` readable by the owner only; never leave a half-written file behind.

    With ``overwrite=False`` an existing file is refused with ``file_exists``; a failure to
    write (a full disk, a directory that is a file) is ``write_failed``.
    """
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not overwrite and path.exists():
            raise CliError("file_exists", f"{path} already exists; refusing to overwrite it")
        _write_atomically(path, content, overwrite=overwrite)
    except OSError as exc:
        raise _write_failed(path, exc) from exc


def write_output(path: Path, content: bytes) -> None:
    """Write a file the user asked for (a package, a signature, a certificate) whole or not at
    all: a temporary file beside it, renamed over it once written, so a failure (a full disk,
    a size limit, an interruption) leaves the previous file as it was. Mode as the user's
    umask gives a new file (``mkstemp`` makes it 0600). A failure is ``write_failed``."""
    with staged_output(path, content):
        pass


@contextmanager
def staged_output(path: Path, content: bytes) -> Iterator[None]:
    """``write_output`` in two steps: ``content`` is written beside ``path`` on entry and put
    in its place only when the block has succeeded, so a failure within it (another file
    that could not be written) leaves ``path`` as it was."""
    try:
        temporary = _write_temporary(path, content, mode=0o666 & ~_umask())
    except OSError as exc:
        raise _write_failed(path, exc) from exc
    try:
        yield
    except BaseException:
        os.unlink(temporary)
        raise
    try:
        os.replace(temporary, path)
    except OSError as exc:
        os.unlink(temporary)
        raise _write_failed(path, exc) from exc


def _write_failed(path: Path, exc: OSError) -> CliError:
    return CliError("write_failed", f"could not write {path}: {exc.strerror or exc}")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_temporary(path: Path, content: bytes, *, mode: int | None = None) -> str:
    """A new file beside ``path`` holding ``content``; none is left behind on a failure."""
    # mkstemp creates the file with mode 0600 before anything is written to it.
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
        if mode is not None:
            os.chmod(temporary, mode)
    except BaseException:
        os.unlink(temporary)
        raise
    return temporary


def _write_atomically(path: Path, content: bytes, *, overwrite: bool = True) -> None:
    temporary = _write_temporary(path, content)
    try:
        if overwrite:
            os.replace(temporary, path)
        else:
            # link() fails if the name appeared meanwhile, where replace() would clobber it.
            os.link(temporary, path)
            os.unlink(temporary)
    except FileExistsError as exc:
        os.unlink(temporary)
        raise CliError("file_exists", f"{path} already exists; refusing to overwrite it") from exc
    except BaseException:
        os.unlink(temporary)
        raise
