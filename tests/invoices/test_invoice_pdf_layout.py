"""Every word of an invoice PDF stays inside the A4 sheet's 16 mm side margins, laid out by
the same engine, stylesheet and fonts as ``render_pdf``: the header's flex and grid were
measured too narrow by WeasyPrint, so an ordinary invoice's period ran off the sheet
(it printed "...07-3"), and a long plan name without break points pushed the
amounts off it (found by a review, the PDF rendered to an image), as did a buyer's name or
address line without one, which the billing account accepts (found by a probe)."""

from dataclasses import replace

import pytest
from weasyprint import HTML

from billing.documents.rendering import LocalAssetsOnly, render_html, static_root
from billing.models import BillingAccount
from edgeplug.core.columns import max_length
from tests.invoices.documents import invoice

MM = 96 / 25.4  # CSS pixels a millimetre: WeasyPrint's layout unit
MARGIN = 16 * MM


def text_boxes(doc):
    """(text, left, right, sheet width) of each line of text laid out, as render_pdf lays it
    out (WeasyPrint's boxes: ``page._page_box`` is how its own tests read a layout)."""
    root = static_root()
    base = root.as_uri() + "/"
    html = HTML(
        string=render_html(doc, asset_base=base), base_url=base, url_fetcher=LocalAssetsOnly(root)
    )
    boxes = []
    for page in html.render().pages:
        sheet = page._page_box.margin_width()
        stack = [page._page_box]
        while stack:
            box = stack.pop()
            if getattr(box, "text", None):
                boxes.append((box.text, box.position_x, box.position_x + box.width, sheet))
            stack.extend(getattr(box, "children", None) or ())
    return boxes


def off_the_sheet(doc) -> list[tuple[str, int]]:
    """The text ending beyond the right margin, with where it ends (mm)."""
    return [
        (text, round(right / MM))
        for text, left, right, sheet in text_boxes(doc)
        if left < MARGIN - 0.5 or right > sheet - MARGIN + 0.5
    ]


LONG_NAME = "IndustrialPredictiveMaintenanceUnlimitedSeatsEnterprisePlusEUWest"


@pytest.mark.parametrize(
    "changed",
    [
        pytest.param({}, id="ordinary"),
        pytest.param({"description": f"sensor-guard ({LONG_NAME}): monthly fee"}, id="long-plan"),
    ],
)
def test_every_word_of_an_invoice_is_on_the_sheet(changed):
    doc = invoice()
    doc = replace(doc, lines=(doc.lines[0], replace(doc.lines[1], **changed)))
    texts = [text for text, *_ in text_boxes(doc)]
    assert any("2026-07-31" in text for text in texts)

    assert off_the_sheet(doc) == []


def _longest(field: str) -> str:
    """A value of ``field`` as long as a billing account holds, without a break point."""
    limit = max_length(BillingAccount, field)
    return (LONG_NAME * (limit // len(LONG_NAME) + 1))[:limit]


@pytest.mark.parametrize("party", ["buyer", "seller"])
def test_a_party_at_its_longest_is_on_the_sheet(party):
    """Each field of the buyer (and of the seller, printed from the same kind of record) as
    long as the billing account takes it, in words too long for a line: only the lines'
    cells wrapped anywhere, and a name or an address line ran past the sheet's edge."""
    doc = invoice()
    longest = replace(
        getattr(doc, party),
        legal_name=_longest("legal_name"),
        address_lines=(_longest("address_line1"), _longest("address_line2")),
        postcode=_longest("postcode"),
        city=_longest("city"),
        tax_id=("DE" + "1234567890" * 4)[: max_length(BillingAccount, "tax_id")],
    )
    doc = replace(doc, **{party: longest})
    texts = " ".join(text for text, *_ in text_boxes(doc))
    assert LONG_NAME[:40] in texts and "2026-07-31" in texts

    assert off_the_sheet(doc) == []
