"""Any OpenAI-compatible chat-completions endpoint, over aiohttp."""

from __future__ import annotations

import hashlib
import json
import os
import ssl
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from redline.data.images import ImageRejected
from redline.data.messages import downscale_data_url
from redline.data.messages import to_openai_messages as _to_openai_messages
from redline.data.schema import ImagePart, Message
from redline.errors import InputError, Problem
from redline.plugins import plugin
from redline.redact import redact, url_secrets
from redline.targets.base import (
    FatalTargetError,
    Generation,
    GenParams,
    SampleError,
    TransientError,
)


def _safe_url(url: str) -> str:
    """The URL without user-info or query (which may hold credentials)."""
    p = urlsplit(url)
    try:
        p.port  # noqa: B018 - validates the port
    except ValueError:
        return f"{p.scheme}://<invalid address>"
    host = p.hostname or ""
    if p.port:
        host += f":{p.port}"
    return urlunsplit((p.scheme, host, p.path, "", ""))


def endpoint_url(base_url: str, endpoint: str) -> str:
    """``endpoint`` appended to the path of ``base_url``, its query kept (``…/v1?api-version=X``
    + ``chat/completions`` → ``…/v1/chat/completions?api-version=X``); a fragment is dropped."""
    p = urlsplit(base_url)
    path = p.path.rstrip("/") + "/" + endpoint.lstrip("/")
    return urlunsplit((p.scheme, p.netloc, path, p.query, ""))


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        import time

        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _image_url(part: ImagePart) -> str:
    if part.url and not part.url.lower().startswith(("http://", "https://", "data:")):
        # file://, and the like, would make the server read its own files (vLLM can, when allowed)
        raise SampleError(f"image url {part.url[:60]!r} not sent: only http(s) and data: URLs are")
    try:
        return part.data_url()
    except ImageRejected as e:  # never read, never sent: the sample fails with the reason
        raise SampleError(str(e)) from None


class ImageOptions:
    """How images are sent: downscaled to ``max_side`` pixels (longest side; None: as they are)
    and refused above ``max_bytes`` once encoded (None: no limit here beyond the file limit of
    :mod:`redline.data.images`)."""

    def __init__(self, max_side: int | None = None, max_bytes: int | None = None):
        self.max_side = max_side
        self.max_bytes = max_bytes

    def url(self, part: ImagePart) -> str:
        """The URL sent for ``part``: http(s) URLs as given, anything else a ``data:`` URL, decoded
        and downscaled when ``max_side`` asks; raises :class:`SampleError` with the reason when the
        image cannot be read or decoded, or is too large."""
        url = _image_url(part)
        if not url.startswith("data:"):
            return url
        if self.max_side is not None:
            try:
                url = downscale_data_url(url, self.max_side)
            except ValueError as e:
                raise SampleError(str(e)) from None
        if self.max_bytes is not None and len(url) * 3 // 4 > self.max_bytes:
            raise SampleError(f"image of about {len(url) * 3 // 4:,} bytes is over the limit of "
                              f"{self.max_bytes:,} (--max-image-mb); shrink it with --max-image-side")
        return url


def to_openai_messages(messages: list[Message], images: ImageOptions | None = None) -> list[dict[str, Any]]:
    """The request's messages (:func:`redline.data.messages.to_openai_messages`); images must be
    http(s) or ``data:`` URLs or allowed local files, else the sample fails; ``images`` sets
    downscaling and the size limit."""
    return _to_openai_messages(messages, image_url=(images or ImageOptions()).url)


class OpenAITarget:
    """Chat completions on any OpenAI-compatible server (vLLM, llama.cpp server, OpenAI, …).

    Transport: aiohttp. At high concurrency httpx's connection pool costs ~1-10 ms of CPU
    per request on 2 cores (its pool scans every connection per request), which alone
    would exceed the runner's per-sample budget; aiohttp's C HTTP parser costs ~0.2 ms.
    """

    cacheable = True
    max_concurrency = None

    def __init__(self, model: str, base_url: str, api_key: str | None, timeout: float = 60.0,
                 concurrency: int = 16, images: ImageOptions | None = None):
        self.model = model
        self.images = images or ImageOptions()
        p = urlsplit(base_url)  # a trailing "/" of the path is dropped (the query is kept)
        self.base_url = urlunsplit((p.scheme, p.netloc, p.path.rstrip("/"), p.query, ""))
        self._api_key = api_key  # never logged, never written
        # masked in every message and stored text: the key, the URL's password and query values
        self._secrets = [api_key, *url_secrets(base_url)]
        self.name = f"openai:{model}"
        query = urlsplit(self.base_url).query  # e.g. ?api-version=…; hashed, never shown
        qhash = hashlib.sha256(query.encode()).hexdigest()[:12] if query else ""
        self.cache_identity = f"openai|{_safe_url(self.base_url)}|{qhash}|{model}"
        if self.images.max_side is not None:  # other pixels are sent: other answers
            self.cache_identity += f"|max_image_side={self.images.max_side}"
        self._url = endpoint_url(self.base_url, "chat/completions")
        self._shown_url = _safe_url(self._url)
        self._headers = {"Content-Type": "application/json"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._timeout = timeout
        self._concurrency = concurrency
        self._session: Any = None

    def _get_session(self) -> Any:
        if self._session is None:
            import aiohttp

            ssl_ctx: ssl.SSLContext | bool = False
            if self.base_url.startswith("https://"):
                ssl_ctx = ssl.create_default_context()
            self._session = aiohttp.ClientSession(
                headers=self._headers,
                timeout=aiohttp.ClientTimeout(total=self._timeout, connect=min(self._timeout, 10.0)),
                connector=aiohttp.TCPConnector(limit=self._concurrency, ssl=ssl_ctx, ttl_dns_cache=300),
                trust_env=False,
            )
        return self._session

    def manifest(self) -> dict[str, Any]:
        """The model, the base URL (credentials masked) and whether an API key is set."""
        out = {"type": "openai", "model": self.model, "base_url": _safe_url(self.base_url),
               "api_key_set": bool(self._api_key)}
        if self.images.max_side is not None or self.images.max_bytes is not None:
            out["images"] = {"max_side": self.images.max_side, "max_bytes": self.images.max_bytes}
        return out

    def _redact(self, text: str) -> str:
        """``text`` fit to store or show (:func:`redline.redact.redact` with this target's secrets)."""
        return redact(text, self._secrets)

    def redact_answer(self, text: str) -> str:
        """A model's answer with this target's own secrets masked (a server echoing the key:
        never stored); the rest is kept as written, since it is what gets graded."""
        return redact(text, self._secrets, patterns=False)

    async def generate(self, messages: list[Message], params: GenParams, sample_id: str) -> Generation:
        """Ask the server's ``chat/completions`` endpoint for a response.

        The answer is the message's ``content`` (or its ``refusal`` when there is no content),
        with this target's secrets masked.

        Args:
            messages: The conversation to answer.
            params: The generation parameters.
            sample_id: The sample's id (named in an image's error).

        Returns:
            The response text, the token counts and the finish reason.

        Raises:
            TransientError: Timeout, dropped connection, HTTP 408/429/5xx (see :meth:`post`).
            FatalTargetError: HTTP 401/403/404.
            SampleError: An image that cannot be sent, another HTTP error, or a malformed answer.
        """
        try:
            sent = to_openai_messages(messages, self.images)
        except SampleError as e:
            raise SampleError(f"sample {sample_id!r}: {e}") from None
        body: dict[str, Any] = {
            "model": self.model,
            "messages": sent,
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
        }
        if params.seed is not None:
            body["seed"] = params.seed
        data = await self.post("chat/completions", body)
        try:
            choice = data["choices"][0]
            message = choice["message"]
            content = message.get("content")
            if not content and message.get("refusal"):
                content = message["refusal"]  # OpenAI's structured refusal field
        except (KeyError, IndexError, TypeError, AttributeError):
            raise SampleError(f"malformed response from {self._shown_url}: "
                              f"{self._redact(json.dumps(data))[:200]!r}") from None
        if isinstance(content, list):  # some servers return content parts
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        if content and isinstance(content, str):
            content = self.redact_answer(content)
        # stored with the answer (results, cache): counts only, and a short redacted reason
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        reason = choice.get("finish_reason")
        return Generation(
            text=content or "",
            usage={k: v if isinstance(v := usage.get(k), int) and not isinstance(v, bool) else None
                   for k in ("prompt_tokens", "completion_tokens", "total_tokens")},
            finish_reason=self._redact(reason)[:40] if isinstance(reason, str) else None,
        )

    def url_for(self, endpoint: str) -> str:
        """The URL of ``endpoint`` (``chat/completions``, ``completions``) on this server, the
        base URL's query kept (it may hold credentials: never shown)."""
        return self._url if endpoint == "chat/completions" else endpoint_url(self.base_url, endpoint)

    async def post(self, endpoint: str, body: dict[str, Any]) -> Any:
        """POST ``body`` as JSON to ``endpoint`` under the base URL (``chat/completions``,
        ``completions``) and return the decoded JSON answer of an HTTP 200.

        Failures raise as the :class:`~redline.targets.base.Target` protocol says, secrets
        redacted: :class:`TransientError` for timeouts, dropped connections, 408/429/5xx
        (``unreachable`` when no connection could be made); :class:`FatalTargetError` for
        401/403/404; :class:`SampleError` for any other status or an answer that is not JSON.
        """
        import aiohttp

        url = self.url_for(endpoint)
        shown = self._shown_url if url == self._url else _safe_url(url)  # parsed once, not per request
        session = self._get_session()
        try:
            async with session.post(url, data=json.dumps(body)) as r:
                status = r.status
                raw = await r.read()
                retry_after = r.headers.get("retry-after")
        except aiohttp.ConnectionTimeoutError:
            raise TransientError(f"cannot reach {shown}: connection timed out",
                                 unreachable=True) from None
        except TimeoutError:
            raise TransientError(f"timeout calling {shown} (after {self._timeout:g} s)") from None
        except aiohttp.ClientConnectorError as e:
            raise TransientError(self._redact(f"cannot reach {shown}: {e.os_error or e}"),
                                 unreachable=True) from None
        except (aiohttp.ClientError, OSError) as e:
            raise TransientError(self._redact(f"connection to {shown} failed: "
                                              f"{type(e).__name__}: {e}")) from None
        text = raw.decode("utf-8", "replace")
        if status == 200:
            try:
                return json.loads(raw)
            except ValueError:
                raise SampleError(f"malformed response from {shown}: "
                                  f"{self._redact(text)[:200]!r}") from None
        detail = self._redact(text)[:300]  # redacted whole: a cut secret would not match
        if status in (401, 403):
            raise FatalTargetError(
                f"{shown} answered HTTP {status} (not authorised): {detail}\n"
                "fix: set a valid key with --api-key or the OPENAI_API_KEY environment variable")
        if status == 404:
            raise FatalTargetError(
                f"{shown} answered HTTP 404: {detail}\n"
                f"fix: check --base-url (it should end in /v1 for most servers) and that model "
                f"{self.model!r} exists on the server")
        if status == 429 or status >= 500 or status == 408:
            raise TransientError(f"HTTP {status} from {shown}",
                                 retry_after=_parse_retry_after(retry_after))
        raise SampleError(f"HTTP {status} from {shown}: {detail}")

    async def aclose(self) -> None:
        """Close the HTTP session, if one was opened."""
        if self._session is not None:
            await self._session.close()
            self._session = None


@plugin("target", "openai", arg="required", arg_help="MODEL")
def openai_target(model: str, base_url: str | None = None, api_key: str | None = None,
                  timeout: float = 60.0, concurrency: int = 16, max_image_side: int | None = None,
                  max_image_mb: float | None = None) -> OpenAITarget:
    """Chat completions on any OpenAI-compatible server (OpenAI, vLLM, llama.cpp server, …).

    Args:
        model: the served model's name (``--target openai:MODEL``).
        base_url: the server's base URL (``--base-url``; default ``OPENAI_BASE_URL``, then
            OpenAI's); validated here, so a typo is an error naming ``--base-url``.
        api_key: the key (``--api-key``; default the ``OPENAI_API_KEY`` variable); never logged.
        timeout: seconds per request (the run's ``--timeout``).
        concurrency: connections kept open (the run's ``--concurrency``).
        max_image_side: downscale images to this many pixels on their longest side before
            sending (``--max-image-side``; default: sent as they are).
        max_image_mb: refuse (fail the sample, naming it) an image larger than this once encoded
            (``--max-image-mb``; default: only the local-file limit, ``REDLINE_MAX_IMAGE_MB``).
    """
    if not model:
        raise InputError("the openai target needs a model name", [Problem(
            "--target", "no model given", "write --target openai:MODEL, e.g. openai:gpt-4o-mini")])
    base_url = base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
    bad = not base_url.startswith(("http://", "https://"))
    try:
        parts = urlsplit(base_url)
        parts.port  # noqa: B018 - raises for a port out of range
        bad = bad or not parts.hostname
    except ValueError:
        bad = True
    if bad:
        raise InputError("bad base URL", [Problem("--base-url", f"{_safe_url(base_url)!r} is not a valid "
                                                  "http(s) URL", "e.g. http://127.0.0.1:8000/v1")])
    api_key = api_key or os.environ.get("OPENAI_API_KEY")
    if max_image_side is not None and max_image_side < 16:
        raise InputError("bad image size", [Problem("--max-image-side", f"{max_image_side} pixels",
                                                     "give at least 16 (e.g. 1024)")])
    if max_image_mb is not None and not 0 < max_image_mb < float("inf"):
        raise InputError("bad image limit", [Problem("--max-image-mb", f"{max_image_mb}",
                                                     "give a positive size in MiB (e.g. 5)")])
    images = ImageOptions(max_image_side, int(max_image_mb * 1024 * 1024) if max_image_mb else None)
    return OpenAITarget(model, base_url, api_key, timeout=timeout, concurrency=concurrency, images=images)
