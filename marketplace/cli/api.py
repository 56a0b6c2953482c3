"""A small client for EdgePlug's public HTTP API: JWT bearer auth with automatic refresh.

Every refusal the server sends as ``{"code", "detail"}`` becomes a ``CliError`` with the same
code; a 401 is answered once by refreshing the access token with the stored refresh token
(the server rotates refresh tokens, so the new pair is saved at once) and retrying. Refreshes
of commands in several terminals take turns (the session file's lock), each with the refresh
token the file holds then.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ProtocolError
from urllib3.util.retry import Retry

from marketplace.cli.config import Session, is_token, load_session, save_session, session_lock
from marketplace.cli.errors import CliError

API_PREFIX = "/api/v1"
# Connect quickly or fail; allow slow reads, since an upload is verified before the answer.
TIMEOUT = (10, 300)
_STATUS_CODES = {
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    413: "package_too_large",
    429: "throttled",
}

RequestBody = Callable[[], dict[str, Any]]


def segment(text: str) -> str:
    """``text`` as one path segment of a URL: a key id or version of ``../keys`` or ``x?y``
    names that, not another endpoint or a query."""
    return quote(text, safe="")


def normalise_server(url: str) -> str:
    """``https://host[:port][/prefix]`` without a trailing slash; refuse anything else, a URL
    holding a user name or password (``http://user:secret@host``) included: the CLI printed
    it, put it in every error message and stored it in config.json. No refusal repeats what
    stands before its last ``@``, wherever it is (a password may hold a ``/``, ``#`` or
    ``@``, which would end the URL's user information early)."""
    url = url.strip()
    if "@" in url:
        raise CliError(
            "invalid_server",
            f"'…@{url.rsplit('@', 1)[1]}' holds a user name or password: give the server's URL "
            "without them (you sign in with --email and a password that is never stored)",
        )
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # an unclosed IPv6 bracket, ``http://[::1``
        raise CliError("invalid_server", f"{url!r} is not a URL: {exc}") from exc
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise CliError("invalid_server", f"{url!r} is not an http:// or https:// URL")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


class _StaleConnectionRetry(Retry):
    """One more try of a GET (or HEAD) whose pooled connection the server closed as the
    request left (its keep-alive ran out: gunicorn's is 2 s, the watch's interval too), which
    ended ``status --watch`` in ``server_unreachable`` against a healthy server. Only that:
    a read that timed out is not tried again (urllib3 counts both as read errors), nor a
    refused connection, nor anything but GET and HEAD."""

    def _is_read_error(self, err: Exception) -> bool:
        return isinstance(err, ProtocolError)


_RETRY = _StaleConnectionRetry(
    total=1, connect=0, read=1, status=0, other=0, allowed_methods=frozenset({"GET", "HEAD"})
)


class ApiClient:
    """Requests against one server, as the signed-in user of ``session`` when there is one."""

    def __init__(self, server: str, session: Session | None = None) -> None:
        self.server = normalise_server(server)
        self.session = session
        self.http = requests.Session()
        self.http.headers["Accept"] = "application/json"
        for scheme in ("http://", "https://"):
            self.http.mount(scheme, HTTPAdapter(max_retries=_RETRY))

    @classmethod
    def signed_in(cls, session: Session | None) -> ApiClient:
        if session is None:
            raise CliError(
                "not_logged_in", "sign in first: edgeplug login --server URL --email EMAIL"
            )
        return cls(session.server, session)

    def url(self, path: str) -> str:
        return self.server + path

    def get_json(self, path: str, *, auth: bool = True, fields: tuple[str, ...] = ()) -> Any:
        return answer_json(self.request("GET", path, auth=auth), fields=fields)

    def post_json(
        self,
        path: str,
        body: dict[str, Any],
        *,
        auth: bool = True,
        fields: tuple[str, ...] = (),
        tokens: tuple[str, ...] = (),
    ) -> Any:
        answer = self.request("POST", path, auth=auth, build=lambda: {"json": body})
        return answer_json(answer, fields=fields, tokens=tokens)

    def request(
        self, method: str, path: str, *, auth: bool = True, build: RequestBody | None = None
    ) -> requests.Response:
        """Send a request; ``build`` returns fresh keyword arguments for each attempt.

        A fresh body per attempt matters for streamed uploads, which cannot be rewound.
        """
        response = self._send(method, path, auth, build)
        if response.status_code == 401 and auth and self.session is not None:
            self._refresh(self.session)
            response = self._send(method, path, auth, build)
        if response.status_code >= 400:
            raise error_from_response(response)
        return response

    def _send(
        self, method: str, path: str, auth: bool, build: RequestBody | None
    ) -> requests.Response:
        kwargs = build() if build is not None else {}
        headers = dict(kwargs.pop("headers", {}))
        if auth and self.session is not None:
            headers["Authorization"] = f"Bearer {self.session.access}"
        try:
            return self.http.request(
                method, self.url(path), headers=headers, timeout=TIMEOUT, **kwargs
            )
        except requests.RequestException as exc:
            raise CliError("server_unreachable", f"{self.server}: {exc}") from exc

    def _refresh(self, session: Session) -> None:
        """Refresh ``session``'s tokens with the refresh token the session file holds now,
        under its lock: another command may have refreshed it since this one read it (the
        token this one holds is then blacklisted), or signed in as someone else, or out."""
        with session_lock():
            _take_stored_tokens(session)
            response = self._send(
                "POST",
                f"{API_PREFIX}/auth/token/refresh",
                False,
                lambda: {"json": {"refresh": session.refresh}},
            )
            if response.status_code in _REFRESH_REFUSED:
                error = error_from_response(response)
                raise CliError(
                    "session_expired",
                    f"the sign-in has expired ({error.code}); run `edgeplug login` again",
                )
            if response.status_code != 200:  # the server's trouble (5xx, throttled): try later
                raise error_from_response(response)
            tokens = answer_json(response, fields=("access",), tokens=("access", "refresh"))
            session.access = tokens["access"]
            session.refresh = tokens.get("refresh", session.refresh)
            save_session(session)


def _take_stored_tokens(session: Session) -> None:
    """The session file's tokens into ``session``: another command may have refreshed them
    since this one read them, and the server then blacklisted the refresh token this one
    holds. ``session_changed`` when the file holds another sign-in (server, email, tenant) or
    none: a login or logout made meanwhile in another terminal is never undone by saving this
    command's session over it."""
    stored = load_session()
    if stored is None:
        raise CliError(
            "session_changed",
            f"signed out on this machine meanwhile (this command signed in as {session.email}); "
            "sign in again with `edgeplug login`",
        )
    if stored.sign_in != session.sign_in:
        where = f"tenant {stored.tenant}" if stored.tenant else "no tenant"
        if stored.server != session.server:
            where += ", on another server"
        raise CliError(
            "session_changed",
            f"signed in as {stored.email} ({where}) elsewhere meanwhile; this command's "
            f"session, as {session.email}, is not saved over it: run the command again",
        )
    session.access, session.refresh = stored.access, stored.refresh


# How the server refuses a refresh token that expired, was revoked or was never its own;
# any other answer (a 5xx, a 429) is its trouble, not the sign-in's.
_REFRESH_REFUSED = frozenset({400, 401, 403})


def _json_or_none(response: requests.Response) -> Any:
    """The answer's JSON, or None when its body is not JSON (a proxy's page, say)."""
    try:
        return response.json()
    except ValueError:
        return None


def answer_json(
    response: requests.Response, *, fields: tuple[str, ...] = (), tokens: tuple[str, ...] = ()
) -> Any:
    """The JSON of a successful answer, holding ``fields`` when named, and ``tokens`` where it
    holds them as tokens a header can carry (``is_token``); anything else (an HTML page from a
    proxy or another site at that address, a body without them) is ``unexpected_answer``,
    not a traceback."""
    body = _json_or_none(response)
    missing = [name for name in fields if not isinstance(body, dict) or name not in body]
    if not missing and isinstance(body, dict):
        held = (name for name in tokens if name in body)
        missing = [f"{name} as a token" for name in held if not is_token(body[name])]
    if body is None or missing:
        what = f"without {', '.join(missing)}" if body is not None else "that is not JSON"
        raise CliError(
            "unexpected_answer",
            f"{response.request.method} {response.url} answered {response.status_code} with a "
            f"body {what}: is this an EdgePlug server?",
        )
    return body


def error_from_response(response: requests.Response) -> CliError:
    """The server's ``{"code", "detail"}`` as a CliError, or a code made from the status."""
    body = _json_or_none(response)
    if isinstance(body, dict) and isinstance(body.get("code"), str):
        detail = str(body.get("detail", ""))
        for key in ("entry", "path"):
            if body.get(key):
                detail += f" ({key}: {body[key]})"
        if body.get("retry_after"):
            detail += f" (retry after {body['retry_after']} s)"
        return CliError(body["code"], detail)
    code = _STATUS_CODES.get(response.status_code, f"http_{response.status_code}")
    return CliError(
        code,
        f"{response.status_code} {response.reason} from {response.request.method} {response.url}",
    )
