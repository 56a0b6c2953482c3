"""Rendering needs no network: the PDF renders with every socket refused, and the fetcher
WeasyPrint uses opens nothing but files under static/."""

import pytest

from billing.documents import render_pdf
from billing.documents.rendering import LocalAssetsOnly, static_root
from tests.invoices.documents import invoice
from tests.invoices.pdf_reading import embedded_xml, pdf_text
from tests.network import cut_network


def test_a_pdf_renders_with_the_network_cut(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network access during invoice rendering")

    cut_network(monkeypatch, refuse)
    pdf = render_pdf(invoice())
    assert "Total 72.34 EUR" in pdf_text(pdf)
    assert embedded_xml(pdf)[0] == "factur-x.xml"


@pytest.mark.parametrize(
    "url",
    [
        "https://fonts.example.com/font.ttf",
        "http://127.0.0.1:1/style.css",
        "data:text/css,body{}",
        "file:///etc/passwd",
        f"{static_root().as_uri()}/../pyproject.toml",
    ],
)
def test_the_fetcher_refuses_anything_outside_static(url):
    with pytest.raises(ValueError, match=r"fetches no URL|reads only files|disallowed"):
        LocalAssetsOnly(static_root()).fetch(url)


def test_the_fetcher_reads_the_shipped_font():
    font = f"{static_root().as_uri()}/fonts/dejavu/DejaVuSans.ttf"
    response = LocalAssetsOnly(static_root()).fetch(font)
    assert response is not None
