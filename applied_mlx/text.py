"""Text clean-up shared by the days that read what users type (Day 3's chat, Day 5's sentiment)."""

from __future__ import annotations

import unicodedata

# Characters that show nothing: controls (NUL...), format characters (zero-width space, joiners, BOM),
# unpaired surrogates, separators. A text made only of these has no words to classify or answer.
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zs", "Zl", "Zp"})


def without_lone_surrogates(text: str) -> str:
    """``text`` with unpaired UTF-16 surrogates dropped (no tokenizer takes them), a pair written as two
    code units joined into its character. They come from text cut or decoded badly (an escaped half emoji)."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "ignore")


def shows_something(text: str) -> bool:
    """Whether ``text`` holds a character other than white space, control or zero-width characters."""
    return any(unicodedata.category(ch) not in INVISIBLE_CATEGORIES for ch in text)
