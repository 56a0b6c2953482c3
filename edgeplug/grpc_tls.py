"""The gRPC server's TLS certificate, read again from its files once they change: a renewal
written into a mounted Kubernetes Secret (cert-manager) is served without a restart."""

import logging
import os
import threading
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_private_key,
)

log = logging.getLogger(__name__)

# What says a file changed, as stat() sees it through the Secret volume's symlinks: the kubelet
# swaps a new directory in (a new inode), an editor or a copy rewrites in place (mtime, size).
_Stamp = tuple[tuple[int, int, int, int], ...]
_NONE_REFUSED = ((-1, -1, -1, -1),)


class KeyPairMismatch(ValueError):
    """A certificate file whose first certificate is not for the key file's private key."""


class UnusableKey(ValueError):
    """A key file that is PEM but not a key the server can use: protected by a password
    (``TypeError``), or of an algorithm this build of OpenSSL lacks (``UnsupportedAlgorithm``)."""


def _public(holder) -> bytes:
    """The public key of a private key or of a certificate, to compare."""
    return holder.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def read_key_pair(key_file: Path, cert_file: Path) -> tuple[bytes, bytes]:
    """The PEM private key and certificate chain as gRPC takes them, checked to be a pair:
    while a renewal is half written the files may hold a new key and the old certificate.
    Raises ``OSError`` for a file that cannot be read, ``ValueError`` for one that is not PEM
    of its kind, not a usable key (``UnusableKey``) or for two that are not a pair."""
    key_pem, cert_pem = key_file.read_bytes(), cert_file.read_bytes()
    try:
        key = load_pem_private_key(key_pem, password=None)
    except (TypeError, UnsupportedAlgorithm) as error:
        raise UnusableKey(f"{key_file} holds no key the server can use: {error}") from error
    certificate = x509.load_pem_x509_certificates(cert_pem)[0]
    if _public(key) != _public(certificate):
        raise KeyPairMismatch(f"{cert_file} is not a certificate for the key in {key_file}")
    return key_pem, cert_pem


class RenewedCertificate:
    """gRPC's certificate fetcher (``grpc.dynamic_ssl_server_credentials``), which gRPC calls at
    each new connection's handshake: a new configuration once the files changed and hold a
    pair, else None (keep serving the one in use). Files that changed but cannot be read or
    are not a pair are logged once and read again at the next handshake, until they are."""

    def __init__(self, key_file: str | os.PathLike, cert_file: str | os.PathLike):
        self._files = (Path(key_file), Path(cert_file))
        self._lock = threading.Lock()
        self._stamp = self._stat()
        self._pair = read_key_pair(*self._files)  # raises: no server without a usable pair
        self._refused: _Stamp | None = _NONE_REFUSED  # the files' stamp last logged as refused

    def credentials(self) -> grpc.ServerCredentials:
        """The server's credentials: the pair read at start, then what this fetcher returns."""
        initial = grpc.ssl_server_certificate_configuration([self._pair])
        return grpc.dynamic_ssl_server_credentials(initial, self)

    def _stat(self) -> _Stamp | None:
        try:
            stats = [path.stat() for path in self._files]
        except OSError:
            return None  # being replaced: read at the next handshake
        return tuple((s.st_ino, s.st_size, s.st_mtime_ns, s.st_ctime_ns) for s in stats)

    def __call__(self) -> grpc.ServerCertificateConfiguration | None:
        stamp = self._stat()
        if stamp is not None and stamp == self._stamp:
            return None
        with self._lock:
            try:
                pair = read_key_pair(*self._files)
            except (OSError, ValueError) as error:
                if stamp != self._refused:
                    self._refused = stamp
                    log.error(
                        "gRPC TLS: the renewed certificate cannot be used, the one in use is "
                        "kept (%s: %s)",
                        type(error).__name__,
                        error,
                    )
                return None
            self._stamp, self._refused = stamp, _NONE_REFUSED
            if pair == self._pair:
                return None
            self._pair = pair
        log.info("gRPC TLS: serving the renewed certificate from %s", self._files[1])
        return grpc.ssl_server_certificate_configuration([pair])
