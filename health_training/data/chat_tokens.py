"""Token counters for the chat export's checks: `tiktoken_counter` builds the exact cl100k_base
counter from a local BPE file (never the network; the pattern and special tokens are tiktoken's,
MIT, see NOTICE), `approximate_counter` is the fallback, `select_counter` picks one and names it."""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

logger = logging.getLogger(__name__)

# tiktoken caches a download under the sha1 of its URL; we read that file and never download it.
_CL100K_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
_CL100K_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
# Copied from tiktoken_ext.openai_public.cl100k_base, which cannot be called without its download.
_CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
_CL100K_SPECIAL_TOKENS = {
    "<|endoftext|>": 100257,
    "<|fim_prefix|>": 100258,
    "<|fim_middle|>": 100259,
    "<|fim_suffix|>": 100260,
    "<|endofprompt|>": 100276,
}

APPROXIMATE_TOKENIZER_NAME = "approximate"
# English prose runs about 1.3 cl100k tokens per word or punctuation mark.
_APPROX_TOKENS_PER_WORD = 1.3
_WORD_OR_PUNCT = re.compile(r"\w+|[^\w\s]")


def tiktoken_counter(cache_dir: str | Path | None = None) -> Callable[[str], int] | None:
    """cl100k_base's token counter built from a local BPE file, or None if it is not there.

    `cache_dir` is a tiktoken cache folder (the file is named as tiktoken names its download);
    None means tiktoken's default cache in the temp folder. Nothing is downloaded, so this
    returns at once on a machine without network or cache.
    """
    try:
        import tiktoken
    except ImportError:
        logger.warning("tiktoken is not installed; token counts will be approximate")
        return None
    folder = (
        Path(tempfile.gettempdir()) / "data-gym-cache" if cache_dir is None else Path(cache_dir)
    )
    bpe_file = folder / hashlib.sha1(_CL100K_URL.encode()).hexdigest()
    try:
        contents = bpe_file.read_bytes()
    except OSError as exc:
        logger.warning("cl100k_base BPE file not readable at %s: %s", bpe_file, exc)
        return None
    if hashlib.sha256(contents).hexdigest() != _CL100K_SHA256:
        logger.warning("%s is not OpenAI's cl100k_base file (sha256 mismatch)", bpe_file)
        return None
    ranks = {
        base64.b64decode(token): int(rank)
        for token, rank in (line.split() for line in contents.splitlines() if line)
    }
    encoding = tiktoken.Encoding(
        name="cl100k_base",
        pat_str=_CL100K_PATTERN,
        mergeable_ranks=ranks,
        special_tokens=_CL100K_SPECIAL_TOKENS,
    )

    def count(text: str) -> int:
        # Ordinary encoding: "<|endoftext|>" typed in a narrative is text, not a control token
        # (the notebook's encode() would raise on it instead).
        return len(encoding.encode_ordinary(text))

    return count


def approximate_counter() -> Callable[[str], int]:
    """A tokenizer-free estimate: words and punctuation marks times 1.3. Label it approximate."""

    def count(text: str) -> int:
        return round(len(_WORD_OR_PUNCT.findall(text)) * _APPROX_TOKENS_PER_WORD)

    return count


def select_counter(cache_dir: str | Path | None = None) -> tuple[str, Callable[[str], int]]:
    """The exact cl100k_base counter when its file is available, else the approximate one.

    Returns `(tokenizer_name, count_tokens)`, ready for `analyze(..., tokenizer_name=...)`.
    """
    exact = tiktoken_counter(cache_dir)
    if exact is not None:
        return "cl100k_base", exact
    return APPROXIMATE_TOKENIZER_NAME, approximate_counter()
