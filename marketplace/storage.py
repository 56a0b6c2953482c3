"""Package blobs, stored content-addressed by their SHA-256 through the Django storage API,
and the one loader that reads a stored package back and inspects it."""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage

from edgeplug.errors import Unavailable
from edgeplug.storage_errors import storage_failures
from marketplace.packageformat import Limits, PackageError, ValidatedPackage, inspect_package

logger = logging.getLogger(__name__)


def package_limits() -> Limits:
    """The archive caps in force (``PACKAGE_LIMITS`` in settings)."""
    return Limits(**settings.PACKAGE_LIMITS)


def package_path(digest: str) -> str:
    return f"packages/sha256/{digest[:2]}/{digest}.epk"


def store_package(digest: str, data: bytes | File) -> tuple[str, bool]:
    """Save the bytes under their digest; returns (name, created). Same digest, same bytes.
    The store refusing the write (a read-only disk, an S3 error) is 503 ``storage_unavailable``
    (``storage_failures``): the storage, not the package, failed; the upload can be retried."""
    name = package_path(digest)
    with storage_failures(
        "The package store could not save the upload ({error}); nothing was stored. "
        "Try again later."
    ):
        if default_storage.exists(name):
            return name, False
        content = data if isinstance(data, File) else ContentFile(data)
        content.seek(0)
        saved = default_storage.save(name, content)
    if saved != name:  # a concurrent upload of the same bytes won the race
        delete_package(saved)
    return name, True


def delete_package(name: str) -> None:
    """Delete a blob nothing needs any more, or leave it and log its name when the store
    refuses (a read-only disk, S3 AccessDenied): the caller's work stands without the delete
    (an agent's deletion is committed already), and an operator deletes what the warning
    names once the store accepts deletes again (docs/scaling.md, "S3")."""
    try:
        default_storage.delete(name)
    except Exception as exc:  # noqa: BLE001 - a disk's OSError, S3's errors: logged, not raised
        logger.warning(
            "stored package %s not deleted, left in the store: %s: %s",
            name,
            type(exc).__name__,
            exc,
        )


class PackageUnreadable(Unavailable, code="package_unreadable"):
    """The stored blob could not be read: the storage, not the package, failed."""


def _unreadable(name: str, exc: Exception) -> PackageUnreadable:
    # The blob's name stays in the log: the client is told what failed, not where.
    logger.warning("stored package %s unreadable: %s: %s", name, type(exc).__name__, exc)
    return PackageUnreadable(
        f"The stored package could not be read ({type(exc).__name__}); try again later."
    )


def open_package(name: str):
    """The stored blob, open for reading: every door that reads a stored package opens it
    here, so a blob that is gone or unreadable is 503 ``package_unreadable`` at each."""
    try:
        return default_storage.open(name, "rb")
    except Exception as exc:  # OSError from a disk, botocore's errors from S3, and their kin
        raise _unreadable(name, exc) from exc


def read_package(name: str) -> bytes:
    """The stored blob's bytes (``open_package``'s rule, and a failed read is said alike)."""
    with open_package(name) as handle:
        try:
            return handle.read()
        except Exception as exc:
            raise _unreadable(name, exc) from exc


@dataclass(frozen=True)
class StoredPackage:
    """A stored package's bytes, inspected once: ``package`` when it is valid, else ``error``."""

    data: bytes
    package: ValidatedPackage | None
    error: PackageError | None


def load_stored_package(storage_name: str) -> StoredPackage:
    """Read a stored package and run the format checks on it once."""
    data = read_package(storage_name)
    try:
        return StoredPackage(data, inspect_package(data, package_limits(), stored=True), None)
    except PackageError as exc:
        return StoredPackage(data, None, exc)
