"""Modules a web worker rarely needs, imported on first use instead of with the URL conf."""

from importlib import import_module


class LazyModule:
    """Stands in for ``import name``: the module is imported when one of its attributes is
    first read (``stripe.CardError``), so a process that never gets there never loads it."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str):
        return getattr(import_module(self._name), attribute)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"
