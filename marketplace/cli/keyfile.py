"""Vendor signing-key files: a small JSON document holding an Ed25519 seed and its key id.

``{"format": "edgeplug-signing-key", "version": 1, "key_id": "ed25519:…",
"public_key": "<base64>", "private_key": "<base64 32-byte seed>"}``, mode 0600.
"""

from __future__ import annotations

import json
from pathlib import Path

from edgeplug import signing
from edgeplug.signing import KEY_FILE_FORMAT
from marketplace.cli.config import read_json_file, write_private_file
from marketplace.cli.errors import CliError

KEY_FILE_VERSION = 1


def write_key_file(path: Path, keys: signing.KeyPair, *, overwrite: bool = False) -> None:
    document = {
        "format": KEY_FILE_FORMAT,
        "version": KEY_FILE_VERSION,
        "key_id": keys.key_id,
        "public_key": signing.encode_b64(keys.public_key),
        "private_key": signing.encode_b64(keys.private_key),
    }
    write_private_file(path, json.dumps(document, indent=2).encode() + b"\n", overwrite=overwrite)


def load_key_file(path: Path) -> signing.KeyPair:
    """Read a key file; refuse it with ``invalid_key_file`` unless it is consistent."""
    try:
        document = read_json_file(path)
    except FileNotFoundError as exc:
        raise CliError(
            "key_file_missing", f"{path} does not exist; create one with `edgeplug keygen`"
        ) from exc
    except (OSError, ValueError) as exc:
        raise CliError("invalid_key_file", f"{path} is not a readable JSON key file") from exc
    if not isinstance(document, dict) or document.get("format") != KEY_FILE_FORMAT:
        raise CliError("invalid_key_file", f"{path} is not an EdgePlug signing-key file")
    try:
        private_key = signing.decode_private_key(document["private_key"])
    except (KeyError, signing.SigningError) as exc:
        raise CliError("invalid_key_file", f"{path} holds no valid private key") from exc
    keys = signing.KeyPair(private_key, signing.public_key_from_private(private_key))
    if document.get("key_id") != keys.key_id:
        raise CliError("invalid_key_file", f"the key id in {path} does not match its key")
    if document.get("public_key") != signing.encode_b64(keys.public_key):
        # A vendor may copy it from the file into the portal's key form: another one would
        # register a key that verifies none of this file's signatures.
        raise CliError("invalid_key_file", f"the public key in {path} does not match its key")
    return keys
