"""kg: a knowledge graph of states, organisations, programmes and diplomatic meetings.

The library never prints and never imports click: the CLI (``kg.cli``) is a thin layer
over :class:`kg.graph.KnowledgeGraph`, which other programs and the tests use directly.
"""

from kg.errors import InputError, KgError, UsageError, ValidationFailed

__version__ = "0.1.0"
__all__ = ["InputError", "KgError", "UsageError", "ValidationFailed", "__version__"]
