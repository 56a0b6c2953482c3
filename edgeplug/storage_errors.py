"""The one rule for a file store that fails (a read-only disk, an S3 endpoint down, timing out
or answering errors): the store, not the request, failed, so every door answers
503 ``storage_unavailable`` and the caller may try again later."""

from collections.abc import Iterator
from contextlib import contextmanager

from edgeplug.errors import Unavailable


class StorageUnavailable(Unavailable, code="storage_unavailable"):
    """The file store refused a read or a write: the storage failed, and the same request
    can be retried once it works again."""


@contextmanager
def storage_failures(detail: str) -> Iterator[None]:
    """Storage calls in the block that fail raise ``StorageUnavailable`` with ``detail``, its
    ``{error}`` the failure's class name (what failed, not where: no bucket or path)."""
    try:
        yield
    except Exception as exc:  # OSError from a disk, botocore's errors from S3, and their kin
        raise StorageUnavailable(detail.format(error=type(exc).__name__)) from exc
