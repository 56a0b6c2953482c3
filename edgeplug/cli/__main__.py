"""Lets ``python -m edgeplug.cli`` run the tool where the ``edgeplug`` script is not on PATH."""

from edgeplug.cli.main import main

main()
