"""``make bench-web``: the web service on the full stack, measured beside its ceilings.

``python -m benchmarks.web --help``; ``--smoke`` runs a tiny size in seconds (CI runs it).
"""
