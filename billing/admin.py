"""Finance admin for invoices (finance group, TOTP)."""
