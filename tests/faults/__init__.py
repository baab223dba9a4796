"""Generated fault corpora for the loaders (see corpus.py)."""
