"""``python -m pgq_sa`` is the ``pgq-sa`` command."""

from .cli.main import main

main()
