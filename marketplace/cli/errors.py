"""The one error the CLI reports: ``error: <code>: <detail>`` on stderr and exit status 1.

Codes are the server's own (``bad_signature``, ``not_found`` …) when the server refused, the
package format's (``schema_violation`` …) when a local check refused, and a few of the CLI's
own (``not_logged_in``, ``server_unreachable``, ``invalid_key_file`` …).
"""

from __future__ import annotations

from typing import IO, Any

import click

EXIT_FAILED = 1


class CliError(click.ClickException):
    """A refusal or failure with a stable machine-readable ``code``."""

    exit_code = EXIT_FAILED

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail

    def format_message(self) -> str:
        return f"error: {self.code}: {self.detail}"

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(self.format_message(), file=file, err=file is None)
