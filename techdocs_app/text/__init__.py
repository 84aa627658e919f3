"""Text helpers shared by ingestion, retrieval and the providers: stop words, the stemmer, word
terms, identifiers (part numbers, model codes) and the MiniLM word-piece tokenizer.

A leaf package: it imports nothing of the app (tests/unit/test_layering.py checks it).
"""
