"""The disk floor of a build: Oxigraph's bulk loader alone writing what kg's store holds.

Why: a kg store holds more than the Oxigraph CLI writes for the same file: the source in its
named graph (six indexes, as the CLI's ``--graph`` load) and, beside it, the OWL RL closure
in the default graph (three more). No parse into memory, validation or reasoning can make a
build cheaper than writing those quads, so this measures that part alone, from ready files
(the source, and the closure dumped from a built store), in a fresh store, in one process:

    python bench/floor.py SOURCE.ttl GRAPH_IRI CLOSURE.nt NEW_STORE_FOLDER

``bench/run.py`` runs it after each build it compares with the CLI and prints the figures.
"""

from __future__ import annotations

import sys

import pyoxigraph as ox


def write_store(source: str, graph: str, closure: str, folder: str) -> int:
    """Load *source* (Turtle) into *graph* and *closure* (N-Triples) into the default graph
    of a new store in *folder*, each in one bulk load as the CLI does; the quads written."""
    store = ox.Store(folder)
    store.bulk_load(
        path=source,
        format=ox.RdfFormat.TURTLE,
        base_iri=graph,
        to_graph=ox.NamedNode(graph),
        lenient=True,
    )
    store.bulk_load(path=closure, format=ox.RdfFormat.N_TRIPLES, lenient=True)
    store.flush()
    return len(store)


if __name__ == "__main__":
    print(write_store(*sys.argv[1:5]))
