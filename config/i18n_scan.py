"""Find text in templates that is not marked for translation, and every msgid the code uses.

Pure Python (Django's template Lexer, `templatize` and the `ast` module), so the tests that keep
the German catalogue complete run on a machine without GNU gettext, and `python -m
config.i18n_scan` updates locale/de/LC_MESSAGES/django.po without xgettext.

The rules for "user-visible text" in a template, kept small on purpose:
- text between HTML tags that contains a letter (HTML entities such as &amp; do not count);
- English literals handed to the default, yesno and pluralize filters (write _("…"));
- the values of the attributes people read or hear: title, alt, placeholder, aria-label,
  aria-description and hx-confirm;
- not: template comments, {% block *_class %} (CSS classes), <script>/<style> bodies, HTML
  comments, the contents of <code> and <kbd> (technical literals: paths, headers), anything
  inside {% translate %} or
  {% blocktranslate %}, and other attribute values (classes, URLs, ids).
A run of text is cut by every HTML tag and every {% tag %}; {{ variables }} inside a run belong to
it (they become the placeholders of one {% blocktranslate %}).
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.template.base import DebugLexer, Token, TokenType
from django.utils.translation.template import templatize

BASE_DIR = Path(__file__).resolve().parent.parent
TEMPLATE_DIR = BASE_DIR / "templates"
PYTHON_DIRS = ("accounts", "gallery", "config", "api")
PO_PATH = BASE_DIR / "locale" / "de" / "LC_MESSAGES" / "django.po"

VISIBLE_ATTRIBUTES = frozenset(
    {"title", "alt", "placeholder", "aria-label", "aria-description", "hx-confirm"}
)
RAW_ELEMENTS = frozenset({"script", "style"})
LITERAL_ELEMENTS = frozenset({"code", "kbd"})
# An English literal handed to a filter ({{ x|default:"someone" }}); _("…") marks one.
_FILTER_LITERAL = re.compile(
    r"\|(?:default|default_if_none|yesno|pluralize):(\"[^\"]*[A-Za-z][^\"]*\"|'[^']*[A-Za-z][^']*')"
)
# Literals that are attribute values, not words (class="check-{{ state|default:'none' }}").
TECHNICAL_LITERALS = frozenset({"'none'", '"none"', "'true,false'", '"true,false"'})
_ENTITY = re.compile(r"&#?\w+;")
_LETTER = re.compile(r"[^\W\d_]")


def has_words(text: str) -> bool:
    return bool(_LETTER.search(_ENTITY.sub("", text)))


@dataclass
class Run:
    """Text (and the variables inside it) that people see as one piece."""

    start: int  # offsets in the template source
    end: int
    parts: list[Token | str] = field(default_factory=list)
    in_attribute: bool = False

    @property
    def text(self) -> str:
        return "".join(p if isinstance(p, str) else f"{{{{ {p.contents} }}}}" for p in self.parts)

    @property
    def words(self) -> bool:
        return has_words("".join(p for p in self.parts if isinstance(p, str)))


class _Scanner:
    """A small HTML state machine over the template's tokens."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.runs: list[Run] = []
        self.run: Run | None = None
        self.state = "text"  # text | tag | value | raw | html_comment
        self.tag_name = ""
        self.attr_name = ""
        self.quote = ""
        self.raw_until = ""
        self.literal_depth = 0

    def _flush(self) -> None:
        if self.run is not None and self.run.words:
            self.runs.append(self.run)
        self.run = None

    def _collecting(self) -> bool:
        if self.state == "text":
            return self.literal_depth == 0
        return self.state == "value" and self.attr_name in VISIBLE_ATTRIBUTES

    def _add(self, part: Token | str, start: int, end: int) -> None:
        if self.run is None:
            self.run = Run(start=start, end=end, in_attribute=self.state == "value")
        self.run.parts.append(part)
        self.run.end = end

    def text(self, text: str, offset: int) -> None:
        i = 0
        while i < len(text):
            ch = text[i]
            if self.state == "raw":
                j = text.lower().find(self.raw_until, i)
                if j < 0:
                    return
                i, self.state = j, "text"
                continue
            if self.state == "html_comment":
                j = text.find("-->", i)
                if j < 0:
                    return
                i, self.state = j + 3, "text"
                continue
            if self.state == "text":
                if ch == "<":
                    self._flush()
                    if text.startswith("<!--", i):
                        self.state = "html_comment"
                        i += 4
                        continue
                    m = re.match(r"<(/?)([a-zA-Z][\w-]*)", text[i:])
                    self.tag_name = (m.group(1) + m.group(2).lower()) if m else ""
                    name = self.tag_name.lstrip("/")
                    if name in LITERAL_ELEMENTS:
                        self.literal_depth += -1 if self.tag_name.startswith("/") else 1
                        self.literal_depth = max(self.literal_depth, 0)
                    self.state, self.attr_name = "tag", ""
                    i += len(m.group(0)) if m else 1
                    continue
                if self._collecting():
                    self._add(ch, offset + i, offset + i + 1)
                i += 1
                continue
            if self.state == "tag":
                if ch == ">":
                    self.state = "text"
                    if self.tag_name in RAW_ELEMENTS:
                        self.state, self.raw_until = "raw", f"</{self.tag_name}"
                elif ch in "\"'":
                    self.state, self.quote = "value", ch
                elif ch == "=" or ch.isspace():
                    pass
                else:
                    m = re.match(r"[^\s=>\"']+", text[i:])
                    if m:
                        self.attr_name = m.group(0).lower()
                        i += len(m.group(0))
                        continue
                i += 1
                continue
            if self.state == "value":
                if ch == self.quote:
                    self._flush()
                    self.state, self.attr_name = "tag", ""
                elif self._collecting():
                    self._add(ch, offset + i, offset + i + 1)
                i += 1

    def var(self, token: Token, start: int, end: int) -> None:
        if self._collecting():
            self._add(token, start, end)

    def block(self) -> None:
        self._flush()


def _merge_chars(run: Run) -> Run:
    """One string part per stretch of text, whitespace at both ends left outside the run."""
    parts: list[Token | str] = []
    for part in run.parts:
        if isinstance(part, str) and parts and isinstance(parts[-1], str):
            parts[-1] += part
        else:
            parts.append(part)
    start, end = run.start, run.end
    if parts and isinstance(parts[0], str):
        stripped = parts[0].lstrip()
        start += len(parts[0]) - len(stripped)
        parts[0] = stripped
    if parts and isinstance(parts[-1], str):
        stripped = parts[-1].rstrip()
        end -= len(parts[-1]) - len(stripped)
        parts[-1] = stripped
    return Run(
        start=start, end=end, parts=[p for p in parts if p != ""], in_attribute=run.in_attribute
    )


def unmarked_runs(source: str) -> list[Run]:
    """The user-visible runs of text in a template that no translation tag covers."""
    scanner = _Scanner(source)
    skip_until: str | None = None
    for token in DebugLexer(source).tokenize():
        start, end = token.position or (0, 0)
        if skip_until is not None:
            if token.token_type == TokenType.BLOCK and token.contents.split()[0] == skip_until:
                skip_until = None
            continue
        if token.token_type == TokenType.TEXT:
            scanner.text(token.contents, start)
        elif token.token_type == TokenType.VAR:
            scanner.var(token, start, end)
        elif token.token_type == TokenType.BLOCK:
            name = token.contents.split()[0] if token.contents else ""
            if name in ("blocktranslate", "blocktrans"):
                skip_until = "end" + name
            elif name == "comment":
                skip_until = "endcomment"
            elif name == "block" and token.contents.split()[1].endswith(("_class", "_attrs")):
                # {% block body_class %}: CSS classes; {% block …_attrs %}: HTML attributes
                skip_until = "endblock"
            scanner.block()
    scanner.block()
    return [_merge_chars(r) for r in scanner.runs]


def unmarked_filter_literals(source: str) -> list[str]:
    """English words passed to default/yesno/pluralize in {{ }} or {% %}, not wrapped in _()."""
    found = []
    for token in DebugLexer(source).tokenize():
        if token.token_type in (TokenType.VAR, TokenType.BLOCK):
            found += [
                m.group(0)
                for m in _FILTER_LITERAL.finditer(token.contents)
                if m.group(1) not in TECHNICAL_LITERALS
            ]
    return found


def templates(root: Path = TEMPLATE_DIR) -> list[Path]:
    return sorted(root.rglob("*.html"))


# --- msgids -----------------------------------------------------------------------------------

Msgid = tuple[str, str, str]  # (context, msgid, msgid_plural); "" where there is none
_CALLS = {
    "gettext": ("msgid",),
    "gettext_lazy": ("msgid",),
    "_": ("msgid",),
    "gettext_noop": ("msgid",),
    "ngettext": ("msgid", "plural"),
    "ngettext_lazy": ("msgid", "plural"),
    "pgettext": ("context", "msgid"),
    "pgettext_lazy": ("context", "msgid"),
    "npgettext": ("context", "msgid", "plural"),
    "npgettext_lazy": ("context", "msgid", "plural"),
}


def _msgid(name: str, args: list[str]) -> Msgid | None:
    roles = _CALLS[name]
    if len(args) < len(roles):
        return None
    found = dict(zip(roles, args, strict=False))
    return (found.get("context", ""), found["msgid"], found.get("plural", ""))


def template_msgids(source: str) -> set[Msgid]:
    """The msgids of a template, as Django's makemessages would see them (same templatize)."""
    found: set[Msgid] = set()
    tokens: list[tokenize.TokenInfo] = []
    # Line by line, each on its own: templatize's filler is not indented like Python.
    for line in templatize(source).splitlines():
        tokens.extend(tokenize.generate_tokens(io.StringIO(line.strip()).readline))
    for i, tok in enumerate(tokens):
        if tok.type != tokenize.NAME or tok.string not in _CALLS:
            continue
        if i + 1 >= len(tokens) or tokens[i + 1].string != "(":
            continue
        args: list[str] = []
        for nxt in tokens[i + 2 :]:
            if nxt.string == ")":
                break
            if nxt.type == tokenize.STRING:
                args.append(ast.literal_eval(nxt.string))
        msgid = _msgid(tok.string, args)
        if msgid:
            found.add(msgid)
    return found


def python_msgids(source: str) -> set[Msgid]:
    """The msgids of a module: calls to the gettext family with literal strings."""
    found: set[Msgid] = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        if name not in _CALLS:
            continue
        wanted = node.args[: len(_CALLS[name])]
        if not all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in wanted):
            continue  # a variable, not a literal: nothing to extract
        args = [str(a.value) for a in wanted if isinstance(a, ast.Constant)]
        msgid = _msgid(name, args)
        if msgid:
            found.add(msgid)
    return found


# --- Python strings people read, left unmarked ------------------------------------------------
# The rule, kept small: a plain string literal, an f-string, or "…" % x / "…".format() handed to
# messages.success/info/warning/error (the message), ValidationError (the message), a form
# field's label=, help_text= or error_messages= values, or SubmitRefused. api/ stays English by
# design and is not checked. A line ending in "# i18n: stays English" (on the call's first line
# or the string's own line) exempts the rare intended case.
CHECKED_DIRS = ("accounts", "gallery", "config")
EXEMPT_MARK = "# i18n: stays English"
_MESSAGE_LEVELS = frozenset({"success", "info", "warning", "error", "debug"})
_FIELD_KEYWORDS = frozenset({"label", "help_text"})


@dataclass(frozen=True)
class Unmarked:
    line: int
    call: str
    text: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.call}({self.text!r})"


def _plain(node: ast.expr | None) -> bool:
    """An English string as written: a literal with a letter, an f-string, or one formatted
    before any translation ("…" % x, "…".format(x))."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and has_words(node.value)
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.IfExp):
        return _plain(node.body) or _plain(node.orelse)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return _plain(node.left)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr == "format" and _plain(node.func.value)
    return False


def _call_name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        owner = _call_name(func.value)
        return f"{owner}.{func.attr}" if owner else func.attr
    return ""


def _checked_arguments(node: ast.Call) -> Iterator[ast.expr]:
    name = _call_name(node.func)
    last = name.rsplit(".", 1)[-1]
    keywords = {k.arg: k.value for k in node.keywords if k.arg}
    if name.startswith("messages.") and last in _MESSAGE_LEVELS:
        yield from node.args[1:2]
        if "message" in keywords:
            yield keywords["message"]
    elif last in {"ValidationError", "SubmitRefused"}:
        first = [*node.args[:1], *([keywords["message"]] if "message" in keywords else [])]
        for argument in first:
            if isinstance(argument, ast.Dict):  # ValidationError({"field": "…"})
                yield from (v for v in argument.values if v is not None)
            else:
                yield argument
    elif last.endswith("Field"):
        yield from (v for k, v in keywords.items() if k in _FIELD_KEYWORDS)
        errors = keywords.get("error_messages")
        if isinstance(errors, ast.Dict):
            yield from (v for v in errors.values if v is not None)


def unmarked_python_strings(source: str) -> list[Unmarked]:
    """Strings in a module that people read and that no gettext call wraps (see the rule)."""
    lines = source.splitlines()

    def exempt(line: int) -> bool:
        return EXEMPT_MARK in lines[line - 1]

    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        for argument in _checked_arguments(node):
            if _plain(argument) and not (exempt(node.lineno) or exempt(argument.lineno)):
                text = ast.get_source_segment(source, argument) or ""
                found.append(Unmarked(argument.lineno, _call_name(node.func), text))
    return found


def checked_python_files(base: Path = BASE_DIR) -> Iterator[Path]:
    for folder in CHECKED_DIRS:
        for path in sorted((base / folder).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def python_files(base: Path = BASE_DIR) -> Iterator[Path]:
    for folder in PYTHON_DIRS:
        for path in sorted((base / folder).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def all_msgids() -> dict[Msgid, list[str]]:
    """Every msgid the templates and the app code use, with where."""
    found: dict[Msgid, list[str]] = {}
    sources: Iterable[tuple[Path, set[Msgid]]] = [
        *((p, template_msgids(p.read_text())) for p in templates()),
        *((p, python_msgids(p.read_text())) for p in python_files()),
    ]
    for path, msgids in sources:
        for msgid in msgids:
            found.setdefault(msgid, []).append(str(path.relative_to(BASE_DIR)))
    return found


def update_po(po_path: Path = PO_PATH) -> tuple[int, int]:
    """Add the msgids the code uses to the catalogue (untranslated) and mark the ones it no
    longer uses obsolete: `makemessages` without xgettext. (added, obsoleted)"""
    import polib

    catalogue = polib.pofile(str(po_path))
    used = all_msgids()
    present = {(e.msgctxt or "", e.msgid, e.msgid_plural or ""): e for e in catalogue}
    added = 0
    for key, where in sorted(used.items()):
        entry = present.get(key)
        if entry is None:
            context, msgid, plural = key
            entry = polib.POEntry(msgid=msgid, msgctxt=context or None)
            if plural:
                entry.msgid_plural = plural
                entry.msgstr_plural = {0: "", 1: ""}
            catalogue.append(entry)
            added += 1
        entry.obsolete = False
        entry.occurrences = [(w, "") for w in sorted(set(where))]
    obsoleted = 0
    for key, entry in present.items():
        if key not in used and not entry.obsolete:
            entry.obsolete = True
            obsoleted += 1
    catalogue.save(str(po_path))
    return added, obsoleted


if __name__ == "__main__":
    from django.conf import settings

    settings.configure()  # the Lexer and templatize need no project settings
    added, obsoleted = update_po()
    print(f"{PO_PATH.relative_to(BASE_DIR)}: {added} new, {obsoleted} no longer used")
