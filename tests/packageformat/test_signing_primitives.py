"""Ed25519 package and document signatures, key ids, and the text forms vendors exchange."""

from __future__ import annotations

import base64
import hashlib
import json

import nacl.signing
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgeplug import signing

from .builders import make_package


@pytest.fixture(scope="module")
def keypair():
    return signing.generate_keypair()


def test_key_id_is_a_sha256_fingerprint_of_the_public_key(keypair):
    expected = "ed25519:" + hashlib.sha256(keypair.public_key).hexdigest()[:32]
    assert keypair.key_id == signing.key_id(keypair.public_key) == expected
    assert signing.KEY_ID_PATTERN.match(keypair.key_id)


def test_public_key_is_derived_from_the_private_seed(keypair):
    assert signing.public_key_from_private(keypair.private_key) == keypair.public_key


def test_package_signature_is_over_the_raw_sha256_digest(keypair):
    package = make_package()
    signature = signing.sign_package(keypair.private_key, package)
    signing.verify_package(keypair.public_key, package, signature)
    # An independent check of the convention: Ed25519 over the 32 raw digest bytes.
    nacl.signing.VerifyKey(keypair.public_key).verify(hashlib.sha256(package).digest(), signature)


def test_signature_over_another_package_is_refused(keypair):
    signature = signing.sign_package(keypair.private_key, make_package())
    other = make_package(files={"notes.txt": b"changed"})
    with pytest.raises(signing.BadSignature) as refused:
        signing.verify_package(keypair.public_key, other, signature)
    assert refused.value.code == "bad_signature"


def test_signature_by_another_key_is_refused(keypair):
    package = make_package()
    signature = signing.sign_package(signing.generate_keypair().private_key, package)
    with pytest.raises(signing.BadSignature):
        signing.verify_package(keypair.public_key, package, signature)


def test_keys_and_signatures_round_trip_through_base64(keypair):
    signature = signing.sign(keypair.private_key, b"message")
    text = signing.encode_b64(signature)
    assert signing.decode_signature(text + "\n") == signature
    assert signing.decode_public_key(signing.encode_b64(keypair.public_key)) == keypair.public_key
    assert signing.decode_private_key(signing.encode_b64(keypair.private_key)) == (
        keypair.private_key
    )


@pytest.mark.parametrize(
    "text",
    [
        "not base64!",
        base64.b64encode(bytes(63)).decode(),
        base64.b64encode(bytes(65)).decode(),
        base64.urlsafe_b64encode(b"\xfb" * 64).decode(),
        base64.b64encode(bytes(64)).decode().rstrip("="),
        "",
        "é" * 88,
    ],
)
def test_malformed_signatures_are_refused(text):
    with pytest.raises(signing.MalformedSignature) as refused:
        signing.decode_signature(text)
    assert (refused.value.code, refused.value.status) == ("malformed_signature", 400)


@pytest.mark.parametrize(
    "text",
    [
        "%%%",
        base64.b64encode(bytes(31)).decode(),
        base64.b64encode(bytes(33)).decode(),
        # The identity point and other small-order points make weak public keys.
        base64.b64encode(b"\x01" + bytes(31)).decode(),
        base64.b64encode(bytes(32)).decode(),
    ],
)
def test_malformed_or_weak_public_keys_are_refused(text):
    with pytest.raises(signing.MalformedKey) as refused:
        signing.decode_public_key(text)
    assert refused.value.code == "malformed_key"


def test_wrong_length_raw_inputs_are_refused(keypair):
    with pytest.raises(signing.MalformedKey):
        signing.sign(b"short", b"message")
    with pytest.raises(signing.MalformedKey):
        signing.key_id(b"short")
    with pytest.raises(signing.MalformedSignature):
        signing.verify(keypair.public_key, b"message", b"short")
    with pytest.raises(signing.MalformedKey):
        signing.decode_private_key(base64.b64encode(bytes(16)).decode())


def test_canonical_json_sorts_keys_and_normalises_numbers():
    document = {"b": [1.0, 1e21, 0.5], "a": "é", "c": {"z": None, "y": True}}
    assert signing.canonical_json(document) == (
        '{"a":"é","b":[1,1e+21,0.5],"c":{"y":true,"z":null}}'.encode()
    )


def test_values_without_a_canonical_form_are_refused():
    for value in (float("nan"), float("inf"), 2**60, {1: "non-string key"}, b"bytes"):
        with pytest.raises(signing.CanonicalizationError) as refused:
            signing.canonical_json(value)
        assert refused.value.code == "not_canonicalizable"


@given(
    st.dictionaries(
        st.text(max_size=8),
        st.one_of(
            st.none(), st.booleans(), st.integers(-(2**53) + 1, 2**53 - 1), st.text(max_size=8)
        ),
        max_size=8,
    )
)
def test_document_signature_survives_reordering_and_reformatting(document):
    keypair = signing.generate_keypair()
    signature = signing.sign_document(keypair.private_key, document)
    reordered = json.loads(json.dumps(dict(reversed(list(document.items()))), indent=3))
    signing.verify_document(keypair.public_key, reordered, signature)


def test_document_signature_breaks_when_content_changes(keypair):
    document = {"name": "line-3", "version": "1.0.0", "content": {"steps": []}}
    signature = signing.sign_document(keypair.private_key, document)
    with pytest.raises(signing.BadSignature):
        signing.verify_document(keypair.public_key, {**document, "version": "1.0.1"}, signature)


def test_signer_of_names_the_key_that_made_a_signature_or_none():
    first, second, stranger = (signing.generate_keypair() for _ in range(3))
    keys = [
        (signing.key_id(k.public_key), signing.encode_b64(k.public_key)) for k in (first, second)
    ]
    digest = signing.package_digest(b"package bytes")
    by_second = signing.sign(second.private_key, digest)
    assert signing.signer_of(digest, by_second, keys) == keys[1][0]
    assert signing.signer_of(digest, signing.sign(stranger.private_key, digest), keys) is None
    assert signing.signer_of(digest, by_second, [("broken", "not base64 !"), *keys]) == keys[1][0]
