"""Portal doors: each view parses a form, calls one action, renders the result."""
