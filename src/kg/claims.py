"""Claims per source: each source file may state its own value for a dated fact.

(Stub: filled in by the claims work. ``claim_results`` returns warnings, never
violations: sources that disagree are the analyst's daily bread, not an error.)
"""

from __future__ import annotations

import pyoxigraph as ox


def claim_results(store: ox.Store, graphs: dict[str, str]) -> list:
    """Disagreements between sources as :class:`kg.shacl_fast.Result` warnings
    (severity ``<http://www.w3.org/ns/shacl#Warning>``); *graphs* maps each loaded named
    graph (sources and the ontology) to the file it was read from."""
    return []
