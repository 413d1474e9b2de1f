"""``_source`` filtering as OpenSearch applies it to get, mget, update and search hits.

Owns ``SourceFilter`` (from ``_source`` / ``_source_includes`` / ``_source_excludes`` parameters
or a ``_source`` body value: true/false, a string, a list, {"includes", "excludes"}) and
``apply`` over a decoded source: dotted paths, ``*`` wildcards, objects included whole when a
prefix matches, excludes winning over includes. It never touches bytes it does not have to:
``SourceFilter.is_identity`` lets callers pass the stored bytes through untouched.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any, Mapping


def _split(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, (list, tuple)):
        return tuple(str(part) for part in value)
    return ()


@dataclass(frozen=True, slots=True)
class SourceFilter:
    fetch: bool = True
    includes: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()

    @property
    def is_identity(self) -> bool:
        return self.fetch and not self.includes and not self.excludes

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> SourceFilter:
        raw = params.get("_source")
        fetch = True
        includes: tuple[str, ...] = ()
        if raw is not None:
            lowered = raw.strip().lower()
            if lowered == "false":
                fetch = False
            elif lowered not in ("true", ""):
                includes = _split(raw)
        includes = includes or _split(params.get("_source_includes") or params.get("_source_include"))
        excludes = _split(params.get("_source_excludes") or params.get("_source_exclude"))
        return cls(fetch, includes, excludes)

    @classmethod
    def from_body(cls, value: Any, default: SourceFilter | None = None) -> SourceFilter:
        if value is None:
            return default or cls()
        if isinstance(value, bool):
            return cls(fetch=value)
        if isinstance(value, (str, list)):
            return cls(includes=_split(value))
        if isinstance(value, dict):
            return cls(includes=_split(value.get("includes", value.get("include"))),
                       excludes=_split(value.get("excludes", value.get("exclude"))))
        return default or cls()

    def apply(self, source: dict) -> dict:
        if self.is_identity:
            return source
        return _filter_object(source, "", self.includes, self.excludes)


def _path_matches(path: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(path, pattern) for pattern in patterns)


def _could_match_below(path: str, patterns: tuple[str, ...]) -> bool:
    """Some include pattern may match a field under ``path`` (so descend into it): compared
    component by component, a pattern longer than the path whose leading parts match it."""
    path_parts = path.split(".")
    for pattern in patterns:
        pattern_parts = pattern.split(".")
        if len(pattern_parts) > len(path_parts) and all(
                fnmatch.fnmatchcase(part, pattern_part)
                for part, pattern_part in zip(path_parts, pattern_parts)):
            return True
        if pattern.endswith("*") and fnmatch.fnmatchcase(path + ".", pattern):
            return True
    return False


def _filter_object(source: dict, prefix: str, includes: tuple[str, ...], excludes: tuple[str, ...],
                   included_by_parent: bool = False) -> dict:
    filtered: dict[str, Any] = {}
    for key, value in source.items():
        path = f"{prefix}{key}"
        if excludes and _path_matches(path, excludes):
            continue
        included = included_by_parent or not includes or _path_matches(path, includes)
        if isinstance(value, dict):
            if included or _could_match_below(path, includes):
                inner = _filter_object(value, path + ".", includes, excludes, included)
                if inner or included:
                    filtered[key] = inner
            continue
        if isinstance(value, list) and any(isinstance(item, dict) for item in value):
            if included or _could_match_below(path, includes):
                items = [_filter_object(item, path + ".", includes, excludes, included) if isinstance(item, dict)
                         else item for item in value if included or isinstance(item, dict)]
                items = [item for item in items if item != {} or included]
                if items:
                    filtered[key] = items
            continue
        if included:
            filtered[key] = value
    return filtered
