"""The Porter stemmer exactly as Lucene's PorterStemmer (OpenSearch's `porter_stem` and english).

Snowball's "porter" (PyStemmer) follows the published algorithm; Lucene follows Martin Porter's
reference C code, which departs from the paper in three places (`bli`→`ble`, `logi`→`log`, and
words of one or two letters are left alone). Those change real words ("possibly" → "possibl",
"archaeology" → "archaeolog"), so this module reimplements the reference algorithm step for step
and memoises stems (a corpus repeats its vocabulary). See ADR 0004.

Owns only the stemming of one lowercase word. It must never tokenise or know about filters.
"""

from __future__ import annotations

_VOWELS = frozenset("aeiou")


class _Word:
    """One stemming run over a mutable buffer, with Lucene's k0/k/j cursor conventions."""

    __slots__ = ("b", "k", "j")

    def __init__(self, word: str) -> None:
        self.b = list(word)
        self.k = len(word) - 1
        self.j = 0

    def cons(self, i: int) -> bool:
        character = self.b[i]
        if character in _VOWELS:
            return False
        if character == "y":
            return True if i == 0 else not self.cons(i - 1)
        return True

    def m(self) -> int:
        """The number of consonant-vowel sequences in b[0..j]."""
        n = 0
        i = 0
        j = self.j
        while True:
            if i > j:
                return n
            if not self.cons(i):
                break
            i += 1
        i += 1
        while True:
            while True:
                if i > j:
                    return n
                if self.cons(i):
                    break
                i += 1
            i += 1
            n += 1
            while True:
                if i > j:
                    return n
                if not self.cons(i):
                    break
                i += 1
            i += 1

    def vowel_in_stem(self) -> bool:
        return any(not self.cons(i) for i in range(self.j + 1))

    def double_consonant(self, j: int) -> bool:
        return j >= 1 and self.b[j] == self.b[j - 1] and self.cons(j)

    def cvc(self, i: int) -> bool:
        if i < 2 or not self.cons(i) or self.cons(i - 1) or not self.cons(i - 2):
            return False
        return self.b[i] not in ("w", "x", "y")

    def ends(self, suffix: str) -> bool:
        length = len(suffix)
        start = self.k - length + 1
        if start < 0:
            return False
        if "".join(self.b[start:self.k + 1]) != suffix:
            return False
        self.j = self.k - length
        return True

    def set_to(self, replacement: str) -> None:
        start = self.j + 1
        self.b[start:start + len(replacement)] = list(replacement)
        self.k = self.j + len(replacement)

    def replace_if_measure(self, replacement: str) -> None:
        if self.m() > 0:
            self.set_to(replacement)

    # Lucene's step1..step6 (the reference C code's step1ab, step1c, step2..step5)
    def step1(self) -> None:
        b = self.b
        if b[self.k] == "s":
            if self.ends("sses"):
                self.k -= 2
            elif self.ends("ies"):
                self.set_to("i")
            elif b[self.k - 1] != "s":
                self.k -= 1
        if self.ends("eed"):
            if self.m() > 0:
                self.k -= 1
        elif (self.ends("ed") or self.ends("ing")) and self.vowel_in_stem():
            self.k = self.j
            if self.ends("at"):
                self.set_to("ate")
            elif self.ends("bl"):
                self.set_to("ble")
            elif self.ends("iz"):
                self.set_to("ize")
            elif self.double_consonant(self.k):
                character = b[self.k]
                self.k -= 1
                if character in ("l", "s", "z"):
                    self.k += 1
            elif self.m() == 1 and self.cvc(self.k):
                self.set_to("e")

    def step2(self) -> None:
        if self.ends("y") and self.vowel_in_stem():
            self.b[self.k] = "i"

    _STEP3 = {
        "a": (("ational", "ate"), ("tional", "tion")),
        "c": (("enci", "ence"), ("anci", "ance")),
        "e": (("izer", "ize"),),
        "l": (("bli", "ble"), ("alli", "al"), ("entli", "ent"), ("eli", "e"), ("ousli", "ous")),
        "o": (("ization", "ize"), ("ation", "ate"), ("ator", "ate")),
        "s": (("alism", "al"), ("iveness", "ive"), ("fulness", "ful"), ("ousness", "ous")),
        "t": (("aliti", "al"), ("iviti", "ive"), ("biliti", "ble")),
        "g": (("logi", "log"),),
    }
    _STEP4 = {
        "e": (("icate", "ic"), ("ative", ""), ("alize", "al")),
        "i": (("iciti", "ic"),),
        "l": (("ical", "ic"), ("ful", "")),
        "s": (("ness", ""),),
    }
    _STEP5 = {
        "a": ("al",), "c": ("ance", "ence"), "e": ("er",), "i": ("ic",), "l": ("able", "ible"),
        "n": ("ant", "ement", "ment", "ent"), "s": ("ism",), "t": ("ate", "iti"), "u": ("ous",),
        "v": ("ive",), "z": ("ize",),
    }

    def _replace_first(self, rules: tuple[tuple[str, str], ...]) -> None:
        for suffix, replacement in rules:
            if self.ends(suffix):
                self.replace_if_measure(replacement)
                return

    def step3(self) -> None:
        if self.k == 0:
            return
        self._replace_first(self._STEP3.get(self.b[self.k - 1], ()))

    def step4(self) -> None:
        self._replace_first(self._STEP4.get(self.b[self.k], ()))

    def step5(self) -> None:
        if self.k == 0:
            return
        key = self.b[self.k - 1]
        if key == "o":
            if not ((self.ends("ion") and self.j >= 0 and self.b[self.j] in ("s", "t")) or self.ends("ou")):
                return
        else:
            suffixes = self._STEP5.get(key)
            if suffixes is None or not any(self.ends(suffix) for suffix in suffixes):
                return
        if self.m() > 1:
            self.k = self.j

    def step6(self) -> None:
        self.j = self.k
        if self.b[self.k] == "e":
            measure = self.m()
            if measure > 1 or (measure == 1 and not self.cvc(self.k - 1)):
                self.k -= 1
        if self.b[self.k] == "l" and self.double_consonant(self.k) and self.m() > 1:
            self.k -= 1

    def stem(self) -> str:
        if self.k > 1:
            self.step1()
            self.step2()
            self.step3()
            self.step4()
            self.step5()
            self.step6()
        return "".join(self.b[:self.k + 1])


class PorterStemmer:
    """Stems with a bounded memo: the per-word Python cost is paid once per distinct word."""

    def __init__(self, cache_size: int = 200_000) -> None:
        self._cache: dict[str, str] = {}
        self._cache_size = cache_size

    def stem(self, word: str) -> str:
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        stemmed = _Word(word).stem() if len(word) > 2 else word
        if len(self._cache) >= self._cache_size:
            self._cache.clear()  # cheaper than LRU bookkeeping; a vocabulary refills it quickly
        self._cache[word] = stemmed
        return stemmed

    def stem_words(self, words: list[str]) -> list[str]:
        # A local table of this call's distinct words: safe even if another thread clears the cache.
        cached = self._cache.get
        stem_of = {}
        for word in dict.fromkeys(words):
            stemmed = cached(word)
            stem_of[word] = stemmed if stemmed is not None else self.stem(word)
        return [stem_of[word] for word in words]


def porter_stem(word: str) -> str:
    return _Word(word).stem() if len(word) > 2 else word
