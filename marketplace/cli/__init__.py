"""The ``edgeplug`` vendor command-line tool: keys, packing, signing, uploads, verification.

It talks to a server only through the public HTTP API and must never import Django, Celery or
the server apps; the only project modules it uses are the pure ``edgeplug.signing``,
``edgeplug.certificates`` and ``marketplace.packageformat``.
"""
