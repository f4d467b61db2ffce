"""The number constraint of constrained decoding: a logits mask per row that lets the model
write a number only when it is (a prefix of) an allowed number string, and end one only when
it is complete (the allowed strings and the character-level rule: ml/evaluation/grounding.py).

`NumberTokens` is built once per tokenizer: each vocab token's text and the few that hold a
digit (SmolLM2 writes digits one per token; the tiny test model's BPE has "2025" and " 12").
Only those, plus the single-character ".", "," and ":" tokens, are checked one by one; every
other token only ever ends a number, so it is allowed or banned as a block. A row's masks are
remembered per state (the number being written), so a step costs a dict lookup and one
`masked_fill_` once the row has met its states.
"""

from __future__ import annotations

from typing import Any

from health_training.ml.evaluation.number_writing import (
    SEPARATORS,
    START,
    AllowedNumbers,
    NumberState,
    advance,
)

_SPACE_PIECE = "\u2581"  # SentencePiece's leading space, dropped when one token is decoded alone
_LONGEST = 24  # token budgets past any allowed number's length all mask alike: one memo entry


class NumberTokens:
    """What each token of one tokenizer writes, as the engine's `decode(skip_special_tokens=
    True)` sees it (special tokens write nothing)."""

    def __init__(self, tokenizer: Any) -> None:
        import torch

        n = len(tokenizer)
        texts = tokenizer.batch_decode(
            [[i] for i in range(n)], skip_special_tokens=False, clean_up_tokenization_spaces=False
        )
        pieces = tokenizer.convert_ids_to_tokens(list(range(n)))
        special = set(tokenizer.all_special_ids)
        for i in range(n):
            if i in special:
                texts[i] = ""
            elif str(pieces[i]).startswith(_SPACE_PIECE) and not texts[i].startswith(" "):
                texts[i] = " " + texts[i]
        self.texts: list[str] = texts
        self.checked = [
            (i, t)
            for i, t in enumerate(texts)
            if (len(t) == 1 and t in SEPARATORS) or _has_digit(t)
        ]
        # Everything else (specials and EOS included) can only end a number, or write none.
        self._enders = torch.ones(n, dtype=torch.bool)
        self._enders[[i for i, _ in self.checked]] = False

    def enders(self, size: int) -> Any:
        """The block of tokens that end a number, over `size` logits (ids past the tokenizer,
        padding of the embedding, count as enders)."""
        import torch

        n = len(self._enders)
        if size <= n:
            return self._enders[:size].clone()
        return torch.cat([self._enders, torch.ones(size - n, dtype=torch.bool)])

    def text(self, token: int) -> str:
        return self.texts[token] if token < len(self.texts) else ""


class NumberConstraint:
    """One row's constraint: `apply` masks the next token's logits, `advance` records the token
    picked. Never bans every token: should no token fit (a dead end the rule cannot reach with a
    byte-level vocabulary), the row decodes unconstrained and the guard judges the answer."""

    def __init__(self, tokens: NumberTokens, allowed: AllowedNumbers) -> None:
        self.tokens, self.allowed = tokens, allowed
        self.state: NumberState = START
        self._masks: dict[tuple[NumberState, int], Any] = {}

    def advance(self, token: int) -> None:
        self.state = advance(self.state, self.tokens.text(token)) or START  # never None here

    def apply(self, logits: Any, *, left: int = 1 << 30) -> None:
        """Bans (-inf) the tokens that would write a number outside the allowed set; in place
        on one row's logits. `left` tokens may follow this one: a number started must be able
        to end within them (a character per token at worst), so a length cut never leaves "14"
        of an allowed "142"."""
        key = (self.state, min(left, _LONGEST))
        if key not in self._masks:
            self._masks[key] = self._mask(logits.shape[-1], logits.device, key[1])
        banned = self._masks[key]
        if banned is not None:
            logits.masked_fill_(banned, float("-inf"))

    def _mask(self, size: int, device: Any, left: int) -> Any:
        import torch

        if self.allowed.can_end(self.state):
            banned = torch.zeros(size, dtype=torch.bool)
        else:
            banned = self.tokens.enders(size)
        for i, text in self.tokens.checked:
            after = advance(self.state, text, self.allowed) if i < size else START
            if after is None or self.allowed.to_end(after) > left:
                banned[i] = True
        if bool(banned.all()):
            return None
        return banned.to(device)


def _has_digit(text: str) -> bool:
    return any(c.isdecimal() for c in text)
