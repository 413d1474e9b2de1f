"""Text analysis: turning field text into terms with positions and offsets.

Owns analyzers (built-in and custom from index settings), tokenizers, token filters, char
filters and the `_analyze` engine. It must never know about mappings, segments, queries or HTTP.
Public surface (docs/contracts.md §1): Token, TokenBatch, Analyzer, AnalysisRegistry, analyze.
"""

from index.analysis.analyzer import Analyzer
from index.analysis.registry import DEFAULT_ANALYSIS_REGISTRY, AnalysisRegistry, analyze, analyze_detail
from index.analysis.tokens import Token, TokenBatch

__all__ = ["Analyzer", "AnalysisRegistry", "DEFAULT_ANALYSIS_REGISTRY", "Token", "TokenBatch", "analyze",
           "analyze_detail"]
