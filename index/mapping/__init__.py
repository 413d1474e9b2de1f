"""Mappings: field definitions, document parsing, dynamic mapping, dates.

Owns what a field is and how a `_source` value becomes a canonical indexed value. It must never
analyse text, touch storage, or change a Mapping in place. Public surface (docs/contracts.md §2):
FieldMapping, Mapping, ParsedDocument, parse_date, format_date, parse_date_math.
"""

from index.mapping.dates import DEFAULT_DATE_FORMAT, format_date, parse_date, parse_date_math, parse_time_zone
from index.mapping.mapping import FieldMapping, Mapping, ParsedDocument, convert_value, normalize_keyword

__all__ = ["DEFAULT_DATE_FORMAT", "FieldMapping", "Mapping", "ParsedDocument", "convert_value",
           "format_date", "normalize_keyword", "parse_date", "parse_date_math", "parse_time_zone"]
