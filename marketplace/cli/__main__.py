"""Lets ``python -m marketplace.cli`` run the tool where the ``edgeplug`` script is not on PATH."""

from marketplace.cli.main import main

main()
