"""Package uploads stream to a temporary file: capped once, as the bytes arrive, and read
back through a memory map, so a 64 MiB package never sits in the web worker's heap."""

import mmap
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler

from marketplace.packageformat import Limits, reject_oversized

PACKAGE_FIELD = "package"


class PackageUploadHandler(TemporaryFileUploadHandler):
    """Every file goes to disk; the package field is refused the moment it passes the cap."""

    # Django's 64 KiB makes the multipart parser search for the boundary and call us 16 times
    # per MiB, in Python; 256 KiB held in memory per request is nothing beside the package.
    chunk_size = 256 * 1024

    def __init__(self, request=None, *, limits: Limits):
        super().__init__(request)
        self.limits = limits
        self.received = 0

    def new_file(self, field_name, *args, **kwargs):
        self.received = 0
        super().new_file(field_name, *args, **kwargs)

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        reject_oversized(self.received, self.limits, arriving=True)
        return super().receive_data_chunk(raw_data, start)


@contextmanager
def package_bytes(upload: UploadedFile) -> Iterator[bytes | mmap.mmap]:
    """The upload's bytes without copying them: a read-only map of its temporary file."""
    upload.seek(0)
    if upload.size == 0:  # mmap refuses empty files; the validator says why it is not a zip
        yield b""
        return
    with mmap.mmap(upload.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        yield mapped
