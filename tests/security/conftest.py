"""The tenant matrix builds tenant A from the commerce fixtures (a published agent, a
customer with an order, a device, a certificate)."""

from tests.commerce.conftest import (  # noqa: F401 - fixtures, shared rather than copied
    agent,
    certificate,
    customer,
    make_plan,
    published,
)
