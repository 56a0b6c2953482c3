"""Text that ends up in documents: the one rule for what characters it may hold (Django-free).

Invoice documents are Factur-X XML (XML 1.0) and PDF: a control character other than tab,
line feed and carriage return, or U+FFFE/U+FFFF, cannot be written there, so every door whose
text reaches an invoice (billing account, plan name, finance's adjustment) refuses it when the
text is entered, never when a numbered invoice is rendered.
"""

import re

_NOT_IN_DOCUMENTS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def unprintable(text: str) -> str | None:
    """Why ``text`` cannot go into an invoice document, else None."""
    found = _NOT_IN_DOCUMENTS.search(text)
    if found is None:
        return None
    return f"holds the control character U+{ord(found.group()):04X}, which documents cannot carry"
