"""The CLI's certification levels and finished run statuses are the server's own: both read
``certification.vocabulary``, so a level added there is offered by ``edgeplug upload --level``
and accepted by the API, and a run status is known to ``status --run --watch``."""

from __future__ import annotations

import re

from certification.models import ACTIVE_STATUSES, Level, RunStatus
from marketplace.api.serializers import UploadSerializer
from marketplace.cli import render


def test_upload_offers_exactly_the_levels_the_server_certifies_at(cli):
    result = cli("upload", "--help")
    offered = re.search(r"--level \[([a-z|]+)\]", result.stdout).group(1).split("|")
    assert offered == Level.values
    assert list(UploadSerializer().fields["level"].choices) == Level.values


def test_watch_stops_on_exactly_the_statuses_a_run_ends_in():
    assert set(RunStatus.values) - set(ACTIVE_STATUSES) == render.FINISHED_RUN_STATUSES
