"""The query_string and simple_query_string mini-languages.

Owns the two-step translation of Lucene's classic syntax (``title:foo AND (bar OR "a b"~2)``,
``+must -not``, wildcards, ``~`` fuzziness, ``^`` boosts, ``[a TO b]`` ranges, ``_exists_:f``,
``/regex/``) and of the simple syntax (``+`` AND, ``|`` OR, ``-`` NOT, quotes, ``*`` prefix):
``parse_query_string_syntax`` turns the text into a small syntax tree (once, to validate at
parse time), and ``syntax_to_query_nodes`` turns that tree into ordinary query nodes once the
shard knows which fields the names and wildcards resolve to.

It must never read segments: field resolution is handed in as a function by the executor.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable

from index.errors import QueryShardError
from index.query import nodes


@dataclass(frozen=True, slots=True)
class SyntaxLeaf:
    kind: str      # term | phrase | wildcard | prefix | fuzzy | regexp | range | exists | match_all
    text: str
    field: str | None = None
    fuzziness: str | None = None
    slop: int | None = None
    boost: float = 1.0
    lower: str | None = None     # range bounds (None = unbounded)
    upper: str | None = None
    include_lower: bool = True
    include_upper: bool = True


@dataclass(frozen=True, slots=True)
class SyntaxBool:
    clauses: tuple[tuple[str, Any], ...]   # (occur, node); occur in must | should | must_not
    boost: float = 1.0
    field: str | None = None               # a grouped clause under ``field:( ... )``


_OPERATOR_WORDS = {"AND": "and", "OR": "or", "NOT": "not"}
_SPECIAL_CHARACTERS = set(' \t\r\n()":^~[]{}/!')


@dataclass(slots=True)
class _Token:
    kind: str       # word | phrase | regexp | range | lparen | rparen | and | or | not | plus | minus | colon | boost | tilde
    text: str = ""
    has_wildcard: bool = False


def _syntax_error(text: str, detail: str) -> QueryShardError:
    return QueryShardError(f"Failed to parse query [{text}]: {detail}", query=text)


def _tokenize(text: str, simple: bool) -> list[_Token]:
    tokens: list[_Token] = []
    index = 0
    length = len(text)
    at_term_start = True
    while index < length:
        character = text[index]
        if character in " \t\r\n":
            index += 1
            at_term_start = True
            continue
        if character == "(":
            tokens.append(_Token("lparen"))
            index += 1
            at_term_start = True
            continue
        if character == ")":
            tokens.append(_Token("rparen"))
            index += 1
            continue
        if character == '"':
            end = index + 1
            pieces: list[str] = []
            while end < length and text[end] != '"':
                if text[end] == "\\" and end + 1 < length:
                    pieces.append(text[end + 1])
                    end += 2
                    continue
                pieces.append(text[end])
                end += 1
            if end >= length:
                if simple:
                    # simple_query_string never fails: an unterminated quote is a phrase to the end
                    tokens.append(_Token("phrase", "".join(pieces)))
                    index = length
                    continue
                raise _syntax_error(text, "unterminated phrase")
            tokens.append(_Token("phrase", "".join(pieces)))
            index = end + 1
            continue
        if simple:
            if character == "+":
                tokens.append(_Token("and"))
                index += 1
                continue
            if character == "|":
                tokens.append(_Token("or"))
                index += 1
                continue
            if character == "-" and at_term_start:
                tokens.append(_Token("not"))
                index += 1
                continue
        else:
            if text.startswith("&&", index):
                tokens.append(_Token("and"))
                index += 2
                continue
            if text.startswith("||", index):
                tokens.append(_Token("or"))
                index += 2
                continue
            if character in "+-" and at_term_start:
                tokens.append(_Token("plus" if character == "+" else "minus"))
                index += 1
                continue
            if character == "!" and at_term_start:
                tokens.append(_Token("not"))
                index += 1
                continue
            if character == ":":
                tokens.append(_Token("colon"))
                index += 1
                at_term_start = True
                continue
            if character == "/" and at_term_start:
                end = index + 1
                while end < length and text[end] != "/":
                    end += 2 if text[end] == "\\" else 1
                if end >= length:
                    raise _syntax_error(text, "unterminated regular expression")
                tokens.append(_Token("regexp", text[index + 1:end]))
                index = end + 1
                continue
            if character in "[{":
                end = index + 1
                while end < length and text[end] not in "]}":
                    end += 1
                if end >= length:
                    raise _syntax_error(text, "unterminated range")
                inner = text[index + 1:end]
                tokens.append(_Token("range", character + inner + text[end]))
                index = end + 1
                continue
        if character == "^":
            end = index + 1
            while end < length and (text[end].isdigit() or text[end] == "."):
                end += 1
            if end == index + 1:
                if simple:
                    index += 1
                    continue
                raise _syntax_error(text, "expected a number after '^'")
            tokens.append(_Token("boost", text[index + 1:end]))
            index = end
            continue
        if character == "~":
            end = index + 1
            while end < length and (text[end].isdigit() or text[end] == "."):
                end += 1
            tokens.append(_Token("tilde", text[index + 1:end]))
            index = end
            continue
        # a word: runs until whitespace or a special character; backslash escapes anything
        pieces = []
        has_wildcard = False
        end = index
        stop_characters = _SPECIAL_CHARACTERS if not simple else set(' \t\r\n()"|+~^')
        while end < length:
            current = text[end]
            if current == "\\" and end + 1 < length:
                pieces.append(text[end + 1])
                end += 2
                continue
            if current in stop_characters and not (current in "!" and end > index):
                break
            if not simple and current == "&" and text.startswith("&&", end):
                break
            if not simple and current == "|" and text.startswith("||", end):
                break
            if current in "*?":
                has_wildcard = True
            pieces.append(current)
            end += 1
        if end == index:
            if simple:
                index += 1
                continue
            raise _syntax_error(text, f"unexpected character [{character}] at position {index}")
        word = "".join(pieces)
        if not simple and word in _OPERATOR_WORDS and not has_wildcard and text[index:end] == word:
            tokens.append(_Token(_OPERATOR_WORDS[word]))
        else:
            tokens.append(_Token("word", word, has_wildcard))
        index = end
        at_term_start = False
    return tokens


class _ClassicParser:
    """Recursive descent over tokens with Lucene's classic ``addClause`` occur rules."""

    def __init__(self, text: str, tokens: list[_Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.position = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def parse(self) -> Any:
        node = self.parse_sequence(field=None)
        if self.peek() is not None:
            raise _syntax_error(self.text, "unbalanced closing parenthesis")
        return node

    def parse_sequence(self, field: str | None) -> Any:
        # clauses as [occur, node, explicit_modifier]; occur finalised by the default operator later
        clauses: list[list[Any]] = []
        while True:
            token = self.peek()
            if token is None or token.kind == "rparen":
                break
            conjunction = None
            if token.kind in ("and", "or"):
                conjunction = token.kind
                self.take()
                token = self.peek()
                if token is None or token.kind == "rparen":
                    raise _syntax_error(self.text, "an operator needs a clause after it")
            modifier = None
            if token.kind in ("plus", "minus", "not"):
                modifier = {"plus": "required", "minus": "prohibited", "not": "prohibited"}[token.kind]
                self.take()
            clause_node = self.parse_clause(field)
            clauses.append([conjunction, modifier, clause_node])
        return clauses

    def parse_clause(self, field: str | None) -> Any:
        token = self.peek()
        if token is None:
            raise _syntax_error(self.text, "expected a clause at the end of the query")
        if token.kind == "word":
            following = self.tokens[self.position + 1] if self.position + 1 < len(self.tokens) else None
            if following is not None and following.kind == "colon":
                self.take()
                self.take()
                return self.parse_clause(token.text)
        if token.kind == "lparen":
            self.take()
            inner = self.parse_sequence(field)
            if self.peek() is None or self.peek().kind != "rparen":
                raise _syntax_error(self.text, "missing closing parenthesis")
            self.take()
            boost = self.parse_boost()
            return ("group", inner, boost, field)
        return self.parse_term(field)

    def parse_boost(self) -> float:
        token = self.peek()
        if token is not None and token.kind == "boost":
            self.take()
            try:
                return float(token.text)
            except ValueError:
                raise _syntax_error(self.text, f"bad boost [{token.text}]") from None
        return 1.0

    def parse_term(self, field: str | None) -> SyntaxLeaf:
        token = self.take()
        if token.kind == "phrase":
            slop = None
            if self.peek() is not None and self.peek().kind == "tilde":
                slop_text = self.take().text
                slop = int(float(slop_text)) if slop_text else 0
            return SyntaxLeaf("phrase", token.text, field=field, slop=slop, boost=self.parse_boost())
        if token.kind == "regexp":
            return SyntaxLeaf("regexp", token.text, field=field, boost=self.parse_boost())
        if token.kind == "range":
            return self.parse_range(token.text, field)
        if token.kind != "word":
            raise _syntax_error(self.text, f"unexpected [{token.kind}]")
        text = token.text
        if field == "_exists_":
            return SyntaxLeaf("exists", text, field=text, boost=self.parse_boost())
        if text[:2] in (">=", "<=") or text[:1] in (">", "<"):
            operator = text[:2] if text[:2] in (">=", "<=") else text[:1]
            bound = text[len(operator):]
            if operator.startswith(">"):
                return SyntaxLeaf("range", text, field=field, lower=bound, include_lower=operator == ">=",
                                  boost=self.parse_boost())
            return SyntaxLeaf("range", text, field=field, upper=bound, include_upper=operator == "<=",
                              boost=self.parse_boost())
        if self.peek() is not None and self.peek().kind == "tilde":
            fuzziness_text = self.take().text
            fuzziness = str(min(int(float(fuzziness_text)), 2)) if fuzziness_text else "AUTO"
            return SyntaxLeaf("fuzzy", text, field=field, fuzziness=fuzziness, boost=self.parse_boost())
        if token.has_wildcard:
            is_prefix = text.endswith("*") and "*" not in text[:-1] and "?" not in text and len(text) > 1
            if text == "*":
                return SyntaxLeaf("wildcard", "*", field=field, boost=self.parse_boost())
            kind = "prefix" if is_prefix else "wildcard"
            return SyntaxLeaf(kind, text[:-1] if is_prefix else text, field=field, boost=self.parse_boost())
        return SyntaxLeaf("term", text, field=field, boost=self.parse_boost())

    def parse_range(self, text: str, field: str | None) -> SyntaxLeaf:
        include_lower = text[0] == "["
        include_upper = text[-1] == "]"
        parts = text[1:-1].split()
        if len(parts) != 3 or parts[1] != "TO":
            raise _syntax_error(self.text, f"malformed range [{text}], expected [lower TO upper]")
        lower = None if parts[0] == "*" else parts[0].strip('"')
        upper = None if parts[2] == "*" else parts[2].strip('"')
        return SyntaxLeaf("range", text, field=field, lower=lower, upper=upper, include_lower=include_lower,
                          include_upper=include_upper, boost=self.parse_boost())


def _finalise_classic(clauses: list[list[Any]], default_operator: str, field: str | None = None,
                      boost: float = 1.0) -> SyntaxBool:
    """Lucene's QueryParserBase.addClause: AND/OR/NOT and +/- decide each clause's occur."""
    finished: list[list[Any]] = []   # [occur, node]
    for conjunction, modifier, clause in clauses:
        if isinstance(clause, tuple) and clause[0] == "group":
            _, inner, group_boost, group_field = clause
            clause = _finalise_classic(inner, default_operator, group_field, group_boost)
        if finished and conjunction == "and" and finished[-1][0] != "must_not":
            finished[-1][0] = "must"
        if finished and default_operator == "and" and conjunction == "or" and finished[-1][0] != "must_not":
            finished[-1][0] = "should"
        prohibited = modifier == "prohibited"
        if default_operator == "or":
            required = modifier == "required" or (conjunction == "and" and not prohibited)
        else:
            required = not prohibited and conjunction != "or"
        occur = "must_not" if prohibited else ("must" if required else "should")
        finished.append([occur, clause])
    return SyntaxBool(tuple((occur, clause) for occur, clause in finished), boost=boost, field=field)


def _parse_simple(text: str, tokens: list[_Token], default_operator: str) -> Any:
    """Lucene's SimpleQueryParser: left-to-right, ``+``/``|`` binary, whitespace = default operator."""
    position = 0

    def parse_sequence() -> Any:
        nonlocal position
        current: Any = None
        current_operator: str | None = None
        pending_operator: str | None = None
        while position < len(tokens):
            token = tokens[position]
            if token.kind == "rparen":
                position += 1
                break
            if token.kind in ("and", "or"):
                pending_operator = token.kind
                position += 1
                continue
            negate = False
            while position < len(tokens) and tokens[position].kind == "not":
                negate = not negate
                position += 1
            if position >= len(tokens):
                break
            token = tokens[position]
            position += 1
            if token.kind == "lparen":
                branch = parse_sequence()
                if branch is None:
                    continue
            elif token.kind == "phrase":
                slop = None
                if position < len(tokens) and tokens[position].kind == "tilde":
                    slop_text = tokens[position].text
                    slop = int(float(slop_text)) if slop_text else 0
                    position += 1
                branch = SyntaxLeaf("phrase", token.text, slop=slop)
            elif token.kind == "word":
                word = token.text
                if position < len(tokens) and tokens[position].kind == "tilde":
                    fuzziness_text = tokens[position].text
                    position += 1
                    branch = SyntaxLeaf("fuzzy", word, fuzziness=str(min(int(float(fuzziness_text or 2)), 2)))
                elif word.endswith("*") and len(word) > 1:
                    branch = SyntaxLeaf("prefix", word.rstrip("*"))
                elif word == "*":
                    branch = SyntaxLeaf("wildcard", "*")
                else:
                    branch = SyntaxLeaf("term", word)
            else:
                continue
            if negate:
                branch = SyntaxBool((("must_not", branch), ("should", SyntaxLeaf("match_all", "*"))))
            operator = pending_operator or default_operator
            pending_operator = None
            if current is None:
                current = branch
                current_operator = None
            elif current_operator == operator and isinstance(current, SyntaxBool):
                occur = "must" if operator == "and" else "should"
                current = SyntaxBool(current.clauses + ((occur, branch),))
            else:
                occur = "must" if operator == "and" else "should"
                current = SyntaxBool(((occur, current), (occur, branch)))
                current_operator = operator
        return current

    result = parse_sequence()
    return result if result is not None else SyntaxBool(())


def parse_query_string_syntax(text: str, simple: bool, default_operator: str = "or") -> Any:
    """Text → SyntaxBool/SyntaxLeaf tree. QueryShardError ("Failed to parse query") on bad syntax."""
    tokens = _tokenize(text, simple)
    if simple:
        return _parse_simple(text, tokens, default_operator)
    parser = _ClassicParser(text, tokens)
    return _finalise_classic(parser.parse(), default_operator)


# -- syntax → query nodes --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueryStringOptions:
    default_operator: str = "or"
    analyzer: str | None = None
    fuzziness: str = "AUTO"
    phrase_slop: int = 0
    tie_breaker: float = 0.0
    lenient: bool = False
    allow_leading_wildcard: bool = True
    time_zone: str | None = None


def _with_boost(node: nodes.QueryNode, boost: float) -> nodes.QueryNode:
    if boost == 1.0:
        return node
    return dataclasses.replace(node, boost=getattr(node, "boost", 1.0) * boost)


def _leaf_for_field(leaf: SyntaxLeaf, field_name: str, field_type: str | None,
                    options: QueryStringOptions, original_text: str) -> nodes.QueryNode:
    lowercase = field_type == "text"
    if leaf.kind == "term":
        return nodes.MatchQuery(field=field_name, query=leaf.text, operator=options.default_operator,
                                analyzer=options.analyzer, lenient=options.lenient)
    if leaf.kind == "phrase":
        slop = leaf.slop if leaf.slop is not None else options.phrase_slop
        return nodes.MatchPhraseQuery(field=field_name, query=leaf.text, slop=slop, analyzer=options.analyzer)
    if leaf.kind == "fuzzy":
        value = leaf.text.lower() if lowercase else leaf.text
        return nodes.FuzzyQuery(field=field_name, value=value, fuzziness=leaf.fuzziness or options.fuzziness)
    if leaf.kind in ("prefix", "wildcard"):
        if not options.allow_leading_wildcard and leaf.text[:1] in ("*", "?") and leaf.text != "*":
            raise QueryShardError(
                f"Failed to parse query [{original_text}]: leading wildcards are not allowed for [{leaf.text}]"
            )
        value = leaf.text.lower() if lowercase else leaf.text
        if leaf.kind == "prefix":
            return nodes.PrefixQuery(field=field_name, value=value)
        if value == "*":
            return nodes.ExistsQuery(field=field_name)
        return nodes.WildcardQuery(field=field_name, value=value)
    if leaf.kind == "regexp":
        value = leaf.text.lower() if lowercase else leaf.text
        return nodes.RegexpQuery(field=field_name, value=value)
    if leaf.kind == "range":
        bounds: dict[str, Any] = {}
        if leaf.lower is not None:
            bounds["gte" if leaf.include_lower else "gt"] = leaf.lower
        if leaf.upper is not None:
            bounds["lte" if leaf.include_upper else "lt"] = leaf.upper
        return nodes.RangeQuery(field=field_name, time_zone=options.time_zone, **bounds)
    raise QueryShardError(f"Failed to parse query [{original_text}]: unsupported clause [{leaf.kind}]")


def syntax_to_query_nodes(syntax: Any, default_fields: list[tuple[str, float]],
                          resolve_field_pattern: Callable[[str], list[str]],
                          field_type: Callable[[str], str | None],
                          options: QueryStringOptions, original_text: str,
                          inherited_field: str | None = None) -> nodes.QueryNode:
    """Build query nodes; each leaf runs on its own field or on every default field (dis_max)."""
    if isinstance(syntax, SyntaxBool):
        group_field = syntax.field or inherited_field
        occurs: dict[str, list[nodes.QueryNode]] = {"must": [], "should": [], "must_not": []}
        for occur, clause in syntax.clauses:
            occurs[occur].append(syntax_to_query_nodes(
                clause, default_fields, resolve_field_pattern, field_type, options, original_text, group_field))
        if len(syntax.clauses) == 1 and syntax.clauses[0][0] in ("must", "should"):
            only = occurs["must"] or occurs["should"]
            return _with_boost(only[0], syntax.boost)
        return nodes.BoolQuery(must=tuple(occurs["must"]), should=tuple(occurs["should"]),
                               must_not=tuple(occurs["must_not"]), boost=syntax.boost)
    leaf: SyntaxLeaf = syntax
    if leaf.kind == "match_all":
        return nodes.MatchAllQuery()
    if leaf.kind == "exists":
        return _with_boost(nodes.ExistsQuery(field=leaf.field or leaf.text), leaf.boost)
    field_name = leaf.field or inherited_field
    if field_name is not None:
        targets = [(name, 1.0) for name in resolve_field_pattern(field_name)]
    else:
        targets = default_fields
    per_field = []
    for target_name, target_boost in targets:
        try:
            per_field.append(_with_boost(
                _leaf_for_field(leaf, target_name, field_type(target_name), options, original_text), target_boost))
        except QueryShardError:
            if not options.lenient:
                raise
    if not per_field:
        return nodes.MatchNoneQuery()
    combined = per_field[0] if len(per_field) == 1 else nodes.DisMaxQuery(
        queries=tuple(per_field), tie_breaker=options.tie_breaker)
    return _with_boost(combined, leaf.boost)


def regular_expressions_in(query: nodes.QueryNode) -> list[str]:
    """Every regular expression ``query`` would run: regexp queries and ``/regex/`` terms of
    query_string queries, anywhere in the tree — so a caller can enforce index.max_regex_length
    before any shard compiles one. A query_string that does not tokenize contributes nothing
    here; parsing it reports the syntax error."""
    found: list[str] = []
    pending = [query]
    while pending:
        node = pending.pop()
        if isinstance(node, nodes.RegexpQuery):
            found.append(str(node.value))
        elif isinstance(node, nodes.QueryStringQuery):
            try:
                found.extend(token.text for token in _tokenize(node.query, False) if token.kind == "regexp")
            except Exception:  # noqa: BLE001 — the real parse reports it with its own message
                pass
        pending.extend(node.children())
    return found

