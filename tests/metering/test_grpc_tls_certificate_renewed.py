"""A TLS certificate renewed on disk (a mounted Kubernetes Secret updated by cert-manager) is
the one devices are served from their next connection on, without a restart: the server read
GRPC_TLS_CERT_FILE / GRPC_TLS_KEY_FILE once, as it started, and once the old certificate
expired every device's handshake failed until the pod restarted. A renewal that cannot be used
(half written, a key and a certificate that are not a pair) is logged and the certificate in
use is kept."""

import datetime
import logging
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from grpc_health.v1 import health_pb2, health_pb2_grpc

from edgeplug import grpc_tls
from edgeplug.grpc_server import build_server
from edgeplug.grpc_tls import KeyPairMismatch, UnusableKey

NAME = "grpc.edgeplug.test"
SERVING = health_pb2.HealthCheckResponse.SERVING


def _self_signed() -> tuple[bytes, bytes]:
    """A new key and a certificate for ``NAME`` with it, in PEM: the key, the certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, NAME)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(NAME)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


def _health(port: int, trusted: bytes):
    """A new connection's health check, trusting only ``trusted``: SERVING, or the error's
    code when the handshake fails."""
    credentials = grpc.ssl_channel_credentials(root_certificates=trusted)
    options = [("grpc.ssl_target_name_override", NAME)]
    with grpc.secure_channel(f"127.0.0.1:{port}", credentials, options=options) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=5
            )
        except grpc.RpcError as error:
            return error.code()
        return reply.status


@pytest.fixture
def tls_files(tmp_path, settings):
    """write(key, cert): the server's key and certificate files (GRPC_TLS_KEY_FILE and
    GRPC_TLS_CERT_FILE), written as a renewal writes them."""
    key_file, cert_file = tmp_path / "tls.key", tmp_path / "tls.crt"
    settings.GRPC_TLS_CERT_FILE, settings.GRPC_TLS_KEY_FILE = str(cert_file), str(key_file)

    def write(key: bytes | None = None, cert: bytes | None = None) -> None:
        if key is not None:
            key_file.write_bytes(key)
        if cert is not None:
            cert_file.write_bytes(cert)

    return write


@pytest.fixture
def serve():
    """serve() -> port: the gRPC server, started, with TLS from the configured files."""
    executor = ThreadPoolExecutor(max_workers=4)
    servers = []

    def start() -> int:
        server, port = build_server("127.0.0.1:0", executor=executor)
        server.start()
        servers.append(server)
        return port

    yield start
    for server in servers:
        server.stop(None).wait()
    executor.shutdown()


def test_a_certificate_renewed_on_disk_is_the_one_devices_are_served(tls_files, serve):
    old_key, old_cert = _self_signed()
    new_key, new_cert = _self_signed()
    tls_files(old_key, old_cert)
    port = serve()
    assert _health(port, old_cert) == SERVING

    tls_files(new_key, new_cert)  # the renewal, as the kubelet writes the updated Secret

    assert _health(port, new_cert) == SERVING, "the server still presents its first certificate"
    assert _health(port, old_cert) == grpc.StatusCode.UNAVAILABLE


def test_a_renewal_half_written_keeps_the_certificate_in_use_until_it_is_whole(
    tls_files, serve, caplog
):
    old_key, old_cert = _self_signed()
    new_key, new_cert = _self_signed()
    tls_files(old_key, old_cert)
    port = serve()

    tls_files(key=new_key)  # the new key, beside the old certificate: not a pair
    with caplog.at_level(logging.ERROR, logger="edgeplug.grpc_tls"):
        assert _health(port, old_cert) == SERVING
        assert _health(port, old_cert) == SERVING
    [refused] = [r for r in caplog.records if r.name == "edgeplug.grpc_tls"]  # logged once
    assert "the one in use is kept" in refused.getMessage()
    assert "KeyPairMismatch" in refused.getMessage()

    tls_files(cert=new_cert[: len(new_cert) // 2])  # the certificate, half written
    assert _health(port, old_cert) == SERVING

    tls_files(cert=new_cert)
    assert _health(port, new_cert) == SERVING


def test_the_server_does_not_start_with_a_key_and_certificate_that_are_no_pair(tls_files):
    key, _ = _self_signed()
    _, cert = _self_signed()
    tls_files(key, cert)
    with pytest.raises(KeyPairMismatch):
        build_server("127.0.0.1:0")


def _with_a_password(key_pem: bytes) -> bytes:
    key = serialization.load_pem_private_key(key_pem, password=None)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"),
    )


def test_a_renewal_with_a_password_protected_key_keeps_the_certificate_in_use(
    tls_files, serve, caplog
):
    """The key's TypeError escaped the handshake's fetcher: it was not logged as a refused
    renewal, and gRPC failed the handshake instead of keeping the certificate in use."""
    old_key, old_cert = _self_signed()
    new_key, new_cert = _self_signed()
    tls_files(old_key, old_cert)
    port = serve()

    tls_files(_with_a_password(new_key), new_cert)
    with caplog.at_level(logging.ERROR, logger="edgeplug.grpc_tls"):
        assert _health(port, old_cert) == SERVING
    [refused] = [r for r in caplog.records if r.name == "edgeplug.grpc_tls"]
    assert "the one in use is kept" in refused.getMessage()
    assert "UnusableKey" in refused.getMessage()

    tls_files(new_key)
    assert _health(port, new_cert) == SERVING


def test_the_server_does_not_start_with_a_password_protected_key(tls_files):
    key, cert = _self_signed()
    tls_files(_with_a_password(key), cert)
    with pytest.raises(UnusableKey, match=r"tls\.key"):
        build_server("127.0.0.1:0")


def test_the_server_does_not_start_with_a_key_of_an_unsupported_algorithm(tls_files, monkeypatch):
    def unsupported(data, password):
        raise UnsupportedAlgorithm("an algorithm this OpenSSL build lacks")

    monkeypatch.setattr(grpc_tls, "load_pem_private_key", unsupported)
    tls_files(*_self_signed())
    with pytest.raises(UnusableKey, match="an algorithm this OpenSSL build lacks"):
        build_server("127.0.0.1:0")
