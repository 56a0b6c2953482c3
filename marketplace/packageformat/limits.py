"""Caps that bound the work and memory one uploaded package can cost, with safe defaults.

The server builds a ``Limits`` from settings; the CLI uses the defaults so that a package that
packs locally is accepted by a server running with the defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

KIB = 1024
MIB = 1024 * KIB


@dataclass(frozen=True)
class Limits:
    """Configurable caps. Every size is in bytes, every string length in characters."""

    max_package_bytes: int = 64 * MIB
    max_entries: int = 32
    max_total_uncompressed_bytes: int = 256 * MIB
    # Ratio of uncompressed to compressed size of one entry. Tiny entries are exempt: a
    # few KiB of JSON whitespace can compress 200:1 without being a bomb.
    max_compression_ratio: int = 100
    compression_ratio_min_bytes: int = 64 * KIB
    max_manifest_bytes: int = 64 * KIB
    max_record_bytes: int = 64 * KIB
    max_string_length: int = 4096
    max_entry_name_bytes: int = 255
    max_json_depth: int = 16


DEFAULT_LIMITS = Limits()
