"""A portal list shown a page at a time (an agent's versions, its reviews): Django's
Paginator, and the addresses of the pages either side for ``portal/_pages.html``."""

from django.core.paginator import Paginator

from edgeplug.text import ascii_integer

# As many as a page of the API's lists.
PER_PAGE = 25


def page_url(url: str, number: int) -> str:
    """``url``'s page ``number``: the first is the address itself."""
    return url if number == 1 else f"{url}?page={number}"


def paged(items, number, url: str) -> dict:
    """Page ``number`` of ``items`` (the first for none or one that is no number, the last past
    the end; Django's get_page shows the last for 0 or -1, as for one past the end) with the
    addresses of the pages before and after it (none at either end)."""
    page = Paginator(items, PER_PAGE).get_page(ascii_integer(str(number or "")) or 1)
    return {
        "page": page,
        "newer_url": page_url(url, page.number - 1) if page.has_previous() else "",
        "older_url": page_url(url, page.number + 1) if page.has_next() else "",
    }
