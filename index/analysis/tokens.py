"""Values that leave the analysis package: Token (one analysed term) and TokenBatch.

Owns only these value types. It must never hold analysis logic or import the rest of index/.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Token:
    """One term as the _analyze API reports it."""

    term: str
    position: int  # stop words leave gaps, as in OpenSearch
    start_offset: int  # character offsets into the original text
    end_offset: int
    type: str = "<ALPHANUM>"


@dataclass(frozen=True, slots=True)
class TokenBatch:
    """The tokens of many texts, in input order, in columnar form for the inverter."""

    terms: list[str]  # one entry per token
    text_index: np.ndarray  # int32, which input text each token came from (non-decreasing)
    positions: np.ndarray  # int32, position of the token within its text

    def __len__(self) -> int:
        return len(self.terms)
