"""The ``edgeplug`` command: one thin click command per vendor task.

Commands parse their options, call the shared package-format and signing code or the public
API, and print the result. Exit status: 0 done, 1 refused or failed (``error: <code>:
<detail>`` on stderr), 2 wrong usage.
"""

from __future__ import annotations

import getpass
import hashlib
import itertools
import math
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import click

from certification.vocabulary import FINISHED_RUN_STATUSES, Level, RunStatus
from edgeplug import signing
from edgeplug.certificates import CertificateInvalid, verify_certificate
from edgeplug.text import ascii_integer
from marketplace.cli import render
from marketplace.cli.api import API_PREFIX, ApiClient, answer_json, segment
from marketplace.cli.config import (
    PASSWORD_ENV,
    Session,
    default_key_path,
    load_session,
    password_from_env,
    read_json_file,
    save_session,
    session_lock,
    session_path,
    staged_output,
    write_output,
)
from marketplace.cli.errors import CliError
from marketplace.cli.keyfile import load_key_file, write_key_file
from marketplace.cli.multipart import MultipartBody
from marketplace.cli.outputs import (
    CERTIFICATE,
    KEYSET,
    PACKAGE,
    SIGNATURE,
    ensure_replaceable,
    same_file,
)

LEVELS = tuple(level.value for level in Level)
KEYSET_PATH = "/.well-known/edgeplug/keys.json"
UPLOAD_PATH = f"{API_PREFIX}/agents/upload"
SIGNATURE_SUFFIX = ".sig"

_existing_file = click.Path(exists=True, dir_okay=False, path_type=Path)


class OutputFile(click.Path):
    """A file to write, in a directory that exists: a missing one, or an empty name, is wrong
    usage (exit 2), said before anything is packed, signed or downloaded."""

    def __init__(self) -> None:
        super().__init__(dir_okay=False, writable=True, path_type=Path)

    def convert(self, value, param, ctx):
        if value == "":  # an unset "$OUT": Path("") is the current directory, no file
            self.fail("is empty: give the file to write", param, ctx)
        path = super().convert(value, param, ctx)
        if not Path(path).resolve().parent.is_dir():
            self.fail(f"{path}: directory {Path(path).resolve().parent} does not exist", param, ctx)
        return path


_output_file = OutputFile()


class WholeNumber(click.ParamType):
    """An id as the API's paths take it, in ASCII digits (``edgeplug.text.ascii_integer``):
    click's ``int`` read ``٣`` as 3 (and asked the server for agent 3), and took ``1_0`` and
    spaces."""

    name = "integer"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        number = ascii_integer(value)
        if number is None:
            self.fail(f"{value!r} is not a whole number in the digits 0-9", param, ctx)
        return number


class Seconds(click.FloatRange):
    """A finite number of seconds within the range: ``nan`` passed ``FloatRange`` (it is
    never below its minimum) and ``1e30`` had no maximum; both ended ``time.sleep`` in a
    traceback."""

    def convert(self, value, param, ctx):
        seconds = super().convert(value, param, ctx)
        if not math.isfinite(seconds):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        return seconds


_id = WholeNumber()
_key_option = click.option(
    "--key",
    "key_path",
    type=_existing_file,
    help="Private key file written by `edgeplug keygen`.",
)
_signature_option = click.option(
    "--signature",
    "signature_path",
    type=_existing_file,
    help=f"Detached signature file. [default: PACKAGE{SIGNATURE_SUFFIX}]",
)


class EdgePlugGroup(click.Group):
    """Reports the shared modules' refusals the way the CLI reports everything else."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (signing.SigningError, CertificateInvalid) as exc:
            raise CliError(exc.code, exc.detail) from exc


@contextmanager
def _package_format() -> Iterator[ModuleType]:
    """The shared package validator, with its refusals reported as CLI errors.

    Imported on first use: jsonschema and its format checkers can take seconds to import,
    which commands that never read a package should not pay.
    """
    import marketplace.packageformat as packageformat

    try:
        yield packageformat
    except packageformat.PackageError as exc:
        where = exc.entry or exc.path
        raise CliError(exc.code, f"{exc.detail} ({where})" if where else exc.detail) from exc


@click.group(cls=EdgePlugGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="edgeplug", prog_name="edgeplug")
def cli() -> None:
    """Publish edge AI agents on EdgePlug: keys, packages, signatures, uploads, certificates.

    \b
    A first upload:
      edgeplug keygen
      edgeplug login --server https://edgeplug.example --email you@vendor.example
      edgeplug register-key --name laptop
      edgeplug pack ./my-agent
      edgeplug sign my-agent-1.0.0.epk
      edgeplug upload my-agent-1.0.0.epk --certify --level standard
      edgeplug status --run RUN_ID --watch

    State lives in $EDGEPLUG_CONFIG_DIR (default ~/.config/edgeplug). Exit status: 0 done,
    1 refused or failed ("error: <code>: <detail>" on stderr), 2 wrong usage.
    """


@cli.command(short_help="Generate a signing key file.")
@click.option(
    "--out",
    type=_output_file,
    help="Where to write the private key file. [default: $EDGEPLUG_CONFIG_DIR/signing-key.json]",
)
@click.option("--force", is_flag=True, help="Replace an existing key file.")
def keygen(out: Path | None, force: bool) -> None:
    """Generate an Ed25519 signing key and write it to a private (0600) key file.

    Prints the key id and the base64 public key; register the key with `edgeplug
    register-key`. An existing key file is never replaced without --force.
    """
    path = out or default_key_path()
    keys = signing.generate_keypair()
    write_key_file(path, keys, overwrite=force)
    click.echo(f"private key: {path} (keep it secret)")
    click.echo(f"key id:      {keys.key_id}")
    click.echo(f"public key:  {signing.encode_b64(keys.public_key)}")


@cli.command(short_help="Sign in to a server.")
@click.option("--server", required=True, help="Base URL of the EdgePlug server.")
@click.option("--email", required=True, help="Your account's email address.")
@click.option("--tenant", help="Tenant slug; needed when you belong to several tenants.")
@click.option("--otp", help="Current TOTP code, when the account has MFA enabled.")
def login(server: str, email: str, tenant: str | None, otp: str | None) -> None:
    """Sign in and store the tokens in $EDGEPLUG_CONFIG_DIR/config.json (mode 0600).

    The password comes from $EDGEPLUG_PASSWORD or is asked for without echo; it is never a
    command-line option and never stored. Later commands refresh the short-lived access token
    with the stored refresh token by themselves.
    """
    client = ApiClient(server)
    password = _password(email)
    body = {"email": email, "password": password}
    if tenant:
        body["tenant"] = tenant
    if otp:
        body["otp"] = otp
    tokens = client.post_json(
        f"{API_PREFIX}/auth/token",
        body,
        auth=False,
        fields=("access", "refresh"),
        tokens=("access", "refresh"),
    )
    session = Session(
        server=client.server,
        email=email,
        tenant=tokens.get("tenant"),
        role=tokens.get("role"),
        access=tokens["access"],
        refresh=tokens["refresh"],
    )
    with session_lock():  # not between another command's reading and saving of its refresh
        save_session(session)
    click.echo(f"signed in to {session.server} as {email}")
    if session.tenant:
        click.echo(f"tenant: {session.tenant} (role {session.role})")


@cli.command(short_help="Sign out and forget the tokens.")
def logout() -> None:
    """Revoke the stored refresh token on the server and forget the session.

    The session file's lock is held from reading the session to removing it: a refresh or a
    login in another terminal either finishes first (its tokens are the ones revoked and
    forgotten, and the output names whose they were) or waits until the file is gone. The
    session is forgotten on this machine even when the server cannot be told (it is down or
    failed, or refused the request otherwise): the command then fails with the server's
    error, saying the refresh token stays valid until it expires. A refresh token the server
    no longer accepts (expired, signed out elsewhere) is a sign-out: the session had already
    ended. An unreadable session file is removed.
    """
    with session_lock():
        said = _sign_out()
    click.echo(said)


def _sign_out() -> str:
    """Revoke and remove the session the file holds; what to say. Under the session lock:
    read without it, the refresh token was rotated by another terminal's refresh before this
    one presented it (the server answered token_not_valid, and the file holding the new,
    live token was removed unrevoked), or a login saved meanwhile was removed unrevoked."""
    try:
        session = load_session()
    except CliError as error:
        if error.code != "invalid_config":
            raise
        _forget_session()
        return f"removed the unreadable session file {session_path()}"
    if session is None:
        return "not signed in"
    # The stored URL as the client names it: one it refuses (a password in it) is not shown.
    server = "the server"
    ended = ""
    try:
        client = ApiClient(session.server)
        server = client.server
        client.request(
            "POST",
            f"{API_PREFIX}/auth/logout",
            auth=False,
            build=lambda: {"json": {"refresh": session.refresh}},
        )
    except CliError as error:
        if error.code != _ALREADY_SIGNED_OUT:
            raise CliError(
                error.code,
                f"signed out on this machine, but {server} could not revoke the refresh "
                f"token, which stays valid until it expires: {error.detail}",
            ) from error
        ended = f": the session had already ended there ({error.detail})"
    finally:
        _forget_session()
    return f"signed out of {server} as {session.email}{ended}"


# The server's 401 for a refresh token it no longer accepts (expired, signed out elsewhere,
# rotated by a refresh, never its own): there is nothing left to revoke.
_ALREADY_SIGNED_OUT = "token_not_valid"


def _forget_session() -> None:
    """Remove the session file (the caller holds its lock); what stands in its place and is
    no file (a directory) is ``invalid_config``, said, not a traceback."""
    path = session_path()
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise CliError(
            "invalid_config", f"{path} is not a session file and cannot be removed ({exc})"
        ) from exc


@cli.command("register-key", short_help="Register a signing key with your vendor account.")
@_key_option
@click.option("--name", default="", help="A label for the key, e.g. the machine it lives on.")
def register_key(key_path: Path | None, name: str) -> None:
    """Register the public half of a signing key with your vendor account.

    Uses the key file given by --key, or the default one written by `edgeplug keygen`.
    """
    keys = load_key_file(key_path or default_key_path())
    client = ApiClient.signed_in(load_session())
    key = client.post_json(
        f"{API_PREFIX}/vendor/keys",
        {"public_key": signing.encode_b64(keys.public_key), "name": name},
        fields=("key_id",),
    )
    click.echo(f"registered key {key['key_id']}" + (f" ({key['name']})" if key.get("name") else ""))


@cli.command("revoke-key", short_help="Revoke a registered signing key.")
@click.argument("key_id")
def revoke_key(key_id: str) -> None:
    """Revoke a registered key: it can sign no further uploads."""
    client = ApiClient.signed_in(load_session())
    key = client.post_json(
        f"{API_PREFIX}/vendor/keys/{segment(key_id)}/revoke", {}, fields=("key_id", "revoked_at")
    )
    click.echo(f"revoked key {key['key_id']} at {key['revoked_at']}")


@cli.command(short_help="Validate a directory and pack it into an .epk.")
@click.argument(
    "directory", type=click.Path(exists=True, file_okay=False, path_type=Path), metavar="DIR"
)
@click.option(
    "--out",
    type=_output_file,
    help="Package file to write. [default: NAME-VERSION.epk next to DIR]",
)
def pack(directory: Path, out: Path | None) -> None:
    """Validate DIR's manifest.json and pack every file in DIR into a deterministic .epk.

    Runs the same validator the server runs; a refusal prints its code (e.g.
    schema_violation) and nothing is written. On success DIR/RECORD is rewritten with the
    sha256 and size of every file, and the same files give the same package bytes.
    """
    if out is not None and out.resolve().is_relative_to(directory.resolve()):
        raise click.UsageError(
            f"write the package outside {directory}: inside it, the next pack would pack it"
        )
    if out is not None:
        ensure_replaceable(out, PACKAGE)
    with _package_format() as packageformat:
        try:
            data = packageformat.pack_directory(directory)
        except OSError as exc:  # a file (or directory) under DIR its mode keeps from us
            raise _read_failed(exc) from exc
        package = packageformat.inspect_package(data)
    target = out or directory.resolve().parent / f"{package.name}-{package.version}.epk"
    if out is None:  # an --out was looked at before the work
        ensure_replaceable(target, PACKAGE)
    # The package takes its place only once RECORD is rewritten: a failure to write either
    # leaves no new package (or the previous one as it was).
    with staged_output(target, data):
        write_output(directory / packageformat.RECORD_NAME, package.read(packageformat.RECORD_NAME))
    click.echo(f"packed {package.name} {package.version} into {target} ({len(data)} bytes)")
    click.echo(f"digest: sha256:{package.sha256}")


@cli.command(short_help="Write a detached signature of a package.")
@click.argument("package", type=_existing_file)
@_key_option
@click.option(
    "--out",
    type=_output_file,
    help=f"Signature file to write. [default: PACKAGE{SIGNATURE_SUFFIX}]",
)
def sign(package: Path, key_path: Path | None, out: Path | None) -> None:
    """Sign PACKAGE: a detached Ed25519 signature over the SHA-256 of its bytes.

    PACKAGE is checked first with the server's validator, as `verify` checks it: a file that
    is not a valid package is refused with its code (e.g. not_a_zip) and no signature is
    written. Writes the base64 signature to PACKAGE.sig and prints the key id that made it.
    """
    key_file = key_path or default_key_path()
    target = out or _signature_path(package)
    for mine, what in ((package, "the package being signed"), (key_file, "the signing key file")):
        if same_file(target, mine):
            raise click.UsageError(f"{target} is {what}: write the signature to another file")
    ensure_replaceable(target, SIGNATURE)
    keys = load_key_file(key_file)
    _, checked = _read_package(package)
    # The validator hashed the bytes already: its digest is the message a signature covers.
    signature = signing.sign(keys.private_key, bytes.fromhex(checked.sha256))
    write_output(target, (signing.encode_b64(signature) + "\n").encode("ascii"))
    click.echo(f"package:   {checked.name} {checked.version} (sha256:{checked.sha256})")
    click.echo(f"signature: {target}")
    click.echo(f"key id:    {keys.key_id}")


@cli.command(short_help="Upload a signed package, optionally for certification.")
@click.argument("package", type=_existing_file)
@_signature_option
@_key_option
@click.option("--key-id", help="Id of the registered key that made --signature.")
@click.option("--certify", is_flag=True, help="Submit the version for certification.")
@click.option(
    "--level",
    type=click.Choice(LEVELS),
    help="Certification level, with --certify. [default: basic]",
)
def upload(
    package: Path,
    signature_path: Path | None,
    key_path: Path | None,
    key_id: str | None,
    certify: bool,
    level: str | None,
) -> None:
    """Upload a signed PACKAGE, optionally submitting it for certification.

    With --key the package is signed on the fly; otherwise the signature is read from
    --signature or PACKAGE.sig, and the key that made it is found among your registered keys
    unless --key-id names it. Uploading the same bytes again is harmless: the existing
    version is reported with "created: no", and with --certify a version whose certification
    is under way or has passed keeps it (its run is shown, with a "note:" saying why). With
    --certify, a submission the server did not start (version_yanked, broker_unavailable)
    exits 1 with its code, the package stored all the same.
    """
    if key_path and signature_path:
        raise click.UsageError("give --key to sign now or --signature, not both")
    if level and not certify:
        raise click.UsageError("--level applies with --certify")
    client = ApiClient.signed_in(load_session())
    digest = _file_digest(package)
    if key_path:
        keys = load_key_file(key_path)
        signature = signing.sign(keys.private_key, digest)
        key_id = key_id or keys.key_id
    else:
        signature = _read_signature(signature_path or _signature_path(package))
    # A cheap signed-in request first: an expired access token is refreshed here rather than
    # discovered after streaming the whole package.
    client.get_json(f"{API_PREFIX}/auth/me")
    key_id = key_id or _registered_key_for(client, digest, signature)
    fields = {
        "signature": signing.encode_b64(signature),
        "key_id": key_id,
        "certify": "true" if certify else "false",
        "level": level or Level.BASIC.value,
    }
    result = _send_package(client, package, fields)
    # Read whole before anything is printed: no half of an answer shown as the API's.
    with _api_shaped(client, "POST", UPLOAD_PATH):
        agent, version = result["agent"], result["version"]
        lines = [
            f"agent:   {agent['id']} ({agent['name']})",
            f"version: {version['version']}",
            f"digest:  {render.digest(version['digest'])}",
            f"created: {'yes' if result['created'] else 'no (these bytes were uploaded before)'}",
        ]
        refusal = result.get("certification_error")
        if refusal:
            refused_with = str(refusal["code"]), str(refusal["detail"])
        kept = result.get("certification_not_restarted")
        note = f"note: {kept['code']}: {kept['detail']}" if kept else None
    click.echo("\n".join(lines))
    if refusal:
        # The package is stored (the lines above say so), but what --certify asked for did not
        # happen: a failure, so a script that certifies in the same step sees it.
        code, detail = refused_with
        raise CliError(code, f"certification not started (the upload itself succeeded): {detail}")
    if result.get("certification_run"):
        run_id = result["certification_run"]
        click.echo(f"certification run: {run_id} (edgeplug status --run {run_id} --watch)")
    if note:
        click.echo(note)


@cli.command(short_help="Show an agent's versions or a certification run.")
@click.argument("agent_id", type=_id, required=False)
@click.option("--version", "version_name", help="Show one version of the agent in detail.")
@click.option("--run", "run_id", type=_id, help="Show a certification run instead of an agent.")
@click.option("--watch", is_flag=True, help="With --run: poll until the run has finished.")
@click.option(
    "--interval",
    type=Seconds(min=0.1, max=3600),
    default=2.0,
    show_default=True,
    help="Seconds between polls with --watch.",
)
def status(
    agent_id: int | None, version_name: str | None, run_id: int | None, watch: bool, interval: float
) -> None:
    """Show an agent's versions and their statuses, or a certification run's stages.

    \b
    edgeplug status AGENT_ID [--version V]
    edgeplug status --run RUN_ID [--watch]

    With --watch the command polls until the run has finished, printing each change, and
    exits 0 only if the run passed.
    """
    if version_name is not None and not version_name.strip():
        # "$VERSION" unset: it was read as no --version, and the whole agent shown.
        raise click.UsageError("--version is empty: give the version to show, e.g. 1.0.0")
    if (agent_id is None) == (run_id is None):
        raise click.UsageError("give either AGENT_ID or --run RUN_ID")
    if run_id is None and watch:
        raise click.UsageError("--watch applies with --run")
    if run_id is not None and version_name is not None:
        raise click.UsageError("--version applies with AGENT_ID")
    given = click.get_current_context().get_parameter_source("interval")
    if not watch and given is not click.core.ParameterSource.DEFAULT:
        raise click.UsageError("--interval applies with --watch")
    client = ApiClient.signed_in(load_session())
    if run_id is not None:
        _show_run(client, run_id, watch=watch, interval=interval)
    elif version_name is not None:
        found = _version(client, agent_id, version_name)
        with _api_shaped(client, "GET", _version_path(agent_id, version_name)):
            click.echo(render.version(found))
    else:
        found = _agent(client, agent_id)
        with _api_shaped(client, "GET", _agent_path(agent_id)):
            click.echo(render.agent(found))


@contextmanager
def _api_shaped(client: ApiClient, method: str, path: str) -> Iterator[None]:
    """Reading an answer that holds the fields asked for (``answer_json``), but maybe not the
    API's values in them (``"agent": null``, text for an object, a stage without its state):
    ``unexpected_answer``, as for JSON without the fields, where it was a traceback."""
    try:
        yield
    except (KeyError, TypeError, AttributeError) as exc:
        raise CliError(
            "unexpected_answer",
            f"{method} {client.url(path)} answered with JSON not of the API's shape "
            f"({type(exc).__name__}: {exc}): is this an EdgePlug server?",
        ) from exc


def _not_found(client: ApiClient, what: str) -> CliError:
    """The server's bare 404 ("Not found.") said as what was looked for, and where."""
    return CliError("not_found", f"{what} was not found on {client.server}")


@contextmanager
def _not_found_as(client: ApiClient, what: str) -> Iterator[None]:
    """A 404 of what is inside said as ``_not_found`` of ``what``."""
    try:
        yield
    except CliError as exc:
        if exc.code == "not_found":
            raise _not_found(client, what) from exc
        raise


def _agent_path(agent_id: int) -> str:
    return f"{API_PREFIX}/agents/{agent_id}"


def _version_path(agent_id: int, version_name: str) -> str:
    return f"{_agent_path(agent_id)}/versions/{segment(version_name)}"


def _agent(client: ApiClient, agent_id: int) -> dict[str, Any]:
    with _not_found_as(client, f"agent {agent_id}"):
        return client.get_json(_agent_path(agent_id), fields=("id", "name", "vendor"))


def _version(client: ApiClient, agent_id: int, version_name: str) -> dict[str, Any]:
    """One version; when it is not found, whether the agent is (a wrong id or a wrong
    version)."""
    try:
        return client.get_json(_version_path(agent_id, version_name))
    except CliError as exc:
        if exc.code != "not_found":
            raise
        agent = _agent(client, agent_id)
        what = f"version {version_name} of {agent['name']} (agent {agent_id})"
        raise _not_found(client, what) from exc


@cli.command(short_help="Check a package, signature and certificate offline.")
@click.argument("package", type=_existing_file)
@_signature_option
@click.option("--public-key", help="The signer's base64 Ed25519 public key.")
@_key_option
@click.option(
    "--certificate",
    "certificate_path",
    type=_existing_file,
    help="Certificate document (from `edgeplug fetch-certificate`).",
)
@click.option(
    "--keyset",
    "keyset_path",
    type=_existing_file,
    help="Platform key set (from `edgeplug fetch-keyset`).",
)
def verify(
    package: Path,
    signature_path: Path | None,
    public_key: str | None,
    key_path: Path | None,
    certificate_path: Path | None,
    keyset_path: Path | None,
) -> None:
    """Check PACKAGE offline: its archive, its signature and its certificate.

    The archive is always checked with the server's validator (RECORD digests, manifest).
    With --public-key or --key the detached signature (--signature, default PACKAGE.sig)
    must verify; with --certificate and --keyset the platform's certificate must be
    authentic, unexpired, signed by a key valid at the time and issued for these bytes.
    No server is contacted.
    """
    if public_key is not None and not public_key.strip():
        # "$PUBKEY" unset: the signature would go unchecked, and verify say ok.
        raise click.UsageError("--public-key is empty: give the vendor's public key")
    if public_key and key_path:
        raise click.UsageError("give --public-key or --key, not both")
    if signature_path and not (public_key or key_path):
        raise click.UsageError("--signature needs --public-key or --key")
    if (certificate_path is None) != (keyset_path is None):
        raise click.UsageError("--certificate and --keyset go together")
    data, checked = _read_package(package)
    click.echo(f"package:     ok ({checked.name} {checked.version}, sha256:{checked.sha256})")
    if public_key or key_path:
        raw_key = (
            load_key_file(key_path).public_key
            if key_path
            else signing.decode_public_key(public_key)
        )
        signature = _read_signature(signature_path or _signature_path(package))
        signing.verify_package(raw_key, data, signature)
        click.echo(f"signature:   ok (key {signing.key_id(raw_key)})")
    if certificate_path and keyset_path:
        document = _read_json(certificate_path, "certificate_malformed")
        keyset = _read_json(keyset_path, "keyset_malformed")
        if not isinstance(keyset, dict):
            raise CliError("keyset_malformed", f"{keyset_path} is not a key set object")
        if not isinstance(document, dict):
            raise CliError("certificate_malformed", f"{certificate_path} is not a certificate")
        verified = verify_certificate(document, keyset, package=data)
        payload = verified.payload
        click.echo(
            f"certificate: ok ({payload.get('level')} level, expires {payload.get('expires_at')},"
            f" key {verified.key_id})"
        )


@cli.command("fetch-certificate", short_help="Download a version's signed certificate.")
@click.argument("agent_id", type=_id)
@click.argument("version")
@click.option("--out", type=_output_file, required=True, help="Where to write the certificate.")
def fetch_certificate(agent_id: int, version: str, out: Path) -> None:
    """Download the signed certificate of an agent version, for `edgeplug verify`."""
    ensure_replaceable(out, CERTIFICATE)
    client = ApiClient.signed_in(load_session())
    response = client.request(
        "GET", f"{API_PREFIX}/agents/{agent_id}/versions/{segment(version)}/certificate"
    )
    answer_json(response, fields=("certificate", "key_id", "signature"))
    write_output(out, response.content)
    click.echo(f"certificate: {out}")


@cli.command("fetch-keyset", short_help="Download the platform's public key set.")
@click.option("--out", type=_output_file, required=True, help="Where to write the key set.")
@click.option("--server", help="Server to ask. [default: the server of `edgeplug login`]")
def fetch_keyset(out: Path, server: str | None) -> None:
    """Download the platform's published signing keys, for offline `edgeplug verify`."""
    ensure_replaceable(out, KEYSET)
    if server is None:
        session = load_session()
        if session is None:
            raise CliError("not_logged_in", "give --server, or sign in with `edgeplug login` first")
        server = session.server
    response = ApiClient(server).request("GET", KEYSET_PATH, auth=False)
    answer_json(response, fields=("keys",))
    write_output(out, response.content)
    click.echo(f"key set: {out}")


def _password(email: str) -> str:
    password = password_from_env()
    if password:
        return password
    try:
        return getpass.getpass(f"Password for {email}: ")
    except EOFError as exc:
        raise CliError(
            "password_required", f"no password: set {PASSWORD_ENV} or run in a terminal"
        ) from exc


def _read_package(path: Path):
    """PACKAGE's bytes and what the server's validator makes of them (``ValidatedPackage``),
    or its refusal as a CLI error. A file over the size cap is refused before it is read."""
    with _package_format() as packageformat:
        packageformat.reject_oversized(path.stat().st_size)
        data = path.read_bytes()
        return data, packageformat.inspect_package(data)


def _read_failed(exc: OSError) -> CliError:
    return CliError("read_failed", f"could not read {exc.filename}: {exc.strerror or exc}")


def _file_digest(path: Path) -> bytes:
    """The raw SHA-256 of a file, read in chunks: what a package signature covers."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").digest()


def _signature_path(package: Path) -> Path:
    return package.with_name(package.name + SIGNATURE_SUFFIX)


def _read_signature(path: Path) -> bytes:
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError as exc:
        raise click.UsageError(
            f"no signature at {path}: run `edgeplug sign`, or give --signature or --key"
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError("malformed_signature", f"{path} is not a base64 signature file") from exc
    return signing.decode_signature(text)


def _read_json(path: Path, code: str) -> Any:
    try:
        return read_json_file(path)
    except (OSError, ValueError) as exc:
        raise CliError(code, f"{path} is not readable JSON: {exc}") from exc


def _registered_key_for(client: ApiClient, digest: bytes, signature: bytes) -> str:
    """The id of the tenant's registered key under which ``signature`` verifies, revoked ones
    included: the server then answers ``key_revoked``, as for a key named with --key-id (a
    revoked key cannot be registered again, so "unknown" would send the vendor nowhere)."""
    registered = ((k["key_id"], k["public_key"]) for k in _vendor_keys(client))
    with _api_shaped(client, "GET", f"{API_PREFIX}/vendor/keys"):
        found = signing.signer_of(digest, signature, registered)
    if found is not None:
        return found
    raise CliError(
        "unknown_key",
        "none of your registered keys made this signature of this package; check that the "
        "signature is this package's (one of another file verifies under no key), register "
        "the key with `edgeplug register-key` or name it with --key-id",
    )


def _vendor_keys(client: ApiClient) -> Iterator[dict[str, Any]]:
    for page in itertools.count(1):
        data = client.get_json(
            f"{API_PREFIX}/vendor/keys?page_size=200&page={page}", fields=("results",)
        )
        yield from data["results"]
        if not data.get("next"):
            return


def _send_package(client: ApiClient, package: Path, fields: dict[str, str]) -> dict[str, Any]:
    size = package.stat().st_size
    with (
        ExitStack() as bodies,
        click.progressbar(
            length=size, label=f"uploading {package.name}", file=click.get_text_stream("stderr")
        ) as bar,
    ):

        def build() -> dict[str, Any]:
            body = bodies.enter_context(
                MultipartBody(fields, "package", package, on_read=bar.update)
            )
            return {"data": body, "headers": {"Content-Type": body.content_type}}

        answer = client.request("POST", UPLOAD_PATH, build=build)
        return answer_json(answer, fields=("agent", "version", "created"))


def _show_run(client: ApiClient, run_id: int, *, watch: bool, interval: float) -> None:
    shown = None
    path = f"{API_PREFIX}/certification/{run_id}"
    while True:
        with _not_found_as(client, f"certification run {run_id}"):
            run = client.get_json(path, fields=("status",))
        with _api_shaped(client, "GET", path):
            text = render.run(run)
            finished = run["status"] in FINISHED_RUN_STATUSES
        if text != shown:
            click.echo(text)
            shown = text
        if not watch:
            return
        if finished:
            break
        time.sleep(interval)
    if run["status"] != RunStatus.PASSED:
        raise CliError(f"run_{run['status']}", f"certification run {run_id} {run['status']}")


def main() -> None:
    """Entry point of the ``edgeplug`` console script."""
    cli(prog_name="edgeplug")


if __name__ == "__main__":
    main()
