"""``pgq-sa dashboard``: the queue at a glance, live in the terminal or as a snapshot.

- :mod:`.text`: plain aligned tables (``--once``, ``queues``, ``workers``, ``jobs list``),
- :mod:`.view`: the live screen as rich renderables (with sparklines),
- :mod:`.live`: the terminal loop (refresh, ``q``/Ctrl-C, terminal restored).

The figures themselves come from :func:`pgq_sa.stats.snapshot`.
"""

from .text import render_snapshot

__all__ = ["render_snapshot"]
