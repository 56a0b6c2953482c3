"""SemVer 2.0 precedence for sorting versions (build metadata ignored, as the spec says)."""

from collections.abc import Iterable
from typing import TypeVar

import semver

T = TypeVar("T")


def newest_first(items: Iterable[T]) -> list[T]:
    """Items with a ``version`` attribute, highest SemVer precedence first."""
    return sorted(items, key=lambda item: semver.Version.parse(item.version), reverse=True)
