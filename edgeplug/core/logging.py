"""Request ids: a context variable set per request and a logging filter that reads it; and the
filter that logs a request Django would not read as the refusal it is, not as an error."""

import logging
from contextvars import ContextVar

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


# The SuspiciousOperations of a request too large to read, each logged by Django on its own
# ``django.security.<name>`` logger (settings.LOGGING names them).
UNREAD_REQUESTS = ("RequestDataTooBig", "TooManyFieldsSent", "TooManyFilesSent")


class UnreadRequestIsAWarning(logging.Filter):
    """A request Django would not read (too large a body, too many fields, parameters or files:
    ``UNREAD_REQUESTS``) is the client's mistake, answered 400 (413 under /api/): one WARNING
    line without a traceback, as every other refusal, where Django logs it as an ERROR with a
    traceback on ``django.security.<name>``, as a crash. Django logs it so when it is raised
    outside a DRF view (a middleware reading the query string, the CSRF check or a plain view
    reading a form); inside one the API's exception handler answers it, logged by
    ``django.request`` as every 4xx."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.WARNING:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info = record.exc_text = None
        return True
