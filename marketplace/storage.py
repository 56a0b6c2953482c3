"""Package blobs, stored content-addressed by their SHA-256 through the Django storage API."""

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage


def package_path(digest: str) -> str:
    return f"packages/sha256/{digest[:2]}/{digest}.epk"


def store_package(digest: str, data: bytes) -> tuple[str, bool]:
    """Save the bytes under their digest; returns (name, created). Same digest, same bytes."""
    name = package_path(digest)
    if default_storage.exists(name):
        return name, False
    saved = default_storage.save(name, ContentFile(data))
    if saved != name:  # a concurrent upload of the same bytes won the race
        default_storage.delete(saved)
    return name, True


def delete_package(name: str) -> None:
    default_storage.delete(name)


def open_package(name: str):
    return default_storage.open(name, "rb")
