"""The base class of every domain error: a stable machine-readable code and an HTTP status."""


class DomainError(Exception):
    """Raised by domain functions; the API exception handler renders it as {code, detail}."""

    code = "error"
    status = 400

    def __init__(self, detail: str, *, code: str | None = None, status: int | None = None):
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status


class NotFound(DomainError):
    code = "not_found"
    status = 404


class Conflict(DomainError):
    code = "conflict"
    status = 409


class Forbidden(DomainError):
    code = "permission_denied"
    status = 403
