"""e-IWO (electronic Income Withholding Order) as XML ⇄ canonical ``IncomeWithholdingOrder``.

Spec: shared/specs/employer-formats.md §1.9 (XML variant) with the field inventory of §1.2-§1.3
(universal header/trailer) and §1.5 (DTL, Chart D-3). OCSE's own XSD is not public, so the schema
(``mappings/employer/eiwo_xml/eiwo.xsd``) and the element ⇄ canonical table (``_mapping.toml`` beside
it) are written by us from that inventory: element names and namespace are a choice, recorded as
such; lengths, required fields and code lists are the flat file's, so both forms convert into each
other (``csgate convert --from eiwo --to eiwo-xml`` and back).

Records: ``file_header``, ``batch_header``, ``batch_trailer``, ``file_trailer`` (the envelope, plain
fields) and one ``order`` per ``<IWO>`` whose ``data`` is the canonical order's JSON form (the one it
was validated from: ``from_json_dict(data) == canonical``; defaults are left out) and whose
``canonical`` is the ``IncomeWithholdingOrder``. Orders of one document share identical employer,
payee-address and contact objects (``shared`` in the mapping): validating them once is the largest
saving in reading a batch, and canonical records are not changed after parsing.

Parsing streams: ``lxml.etree.iterparse`` hands over one envelope or order element at a time, which
is validated on its own against the schema (each is a global element), converted, and then freed, so
memory stays bounded by one order however large the batch. A bad order is rejected alone (coded,
with its element path and line, never its values) and parsing goes on; envelope damage (missing or
misplaced header/trailer, wrong counts or control numbers, ill-formed XML) is collected and raised as
one ``FileStructureError`` after the last record. Rendering builds each element from the canonical
order, validates it against the same schema, and only then writes it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO, ClassVar, cast

import orjson
from lxml import etree
from pydantic import ValidationError

from adapters.base import Direction, Parsed, Rejected, Result, SourceInfo
from adapters.canonical import IncomeWithholdingOrder
from adapters.controls import agree
from adapters.errors import FileStructureError, LayoutError, RecordError
from adapters.layout import MAPPINGS_DIR, load_code_rows
from adapters.records import with_head

MAPPING = "employer/eiwo_xml/_mapping.toml"
MAX_PROBLEMS = 50
FREQUENCY_TABLE = "eiwo_frequency"  # the flat e-IWO's letters: both forms carry the same codes
Token = str | int
XSD_CODE_BY_TYPE = {
    "ssn": "SSN_INVALID",
    "fein": "FEIN_INVALID",
    "date": "DATE_INVALID",
    "time": "TIME_INVALID",
    "amount": "AMOUNT_INVALID",
    "code": "CODE_UNKNOWN",
    "frequency": "CODE_UNKNOWN",
    "yes_no": "CODE_UNKNOWN",
    "indicator": "CODE_UNKNOWN",
}
# libxml2 facet-error names (SCHEMAV_CVC_<facet>_VALID) in words; its own messages quote the value.
FACET_WORDS = {
    "pattern": "does not have the form this element requires",
    "enumeration": "is not one of the allowed codes",
    "maxlength": "is longer than allowed",
    "minlength": "is shorter than allowed",
    "mininclusive": "is below the minimum",
    "maxinclusive": "is above the maximum",
    "totaldigits": "has too many digits",
    "fractiondigits": "has too many decimals",
}
_EXPECTED = re.compile(r"Expected is (?:one of )?\( ([^)]*) \)")
_NS_PREFIX = re.compile(r"\{[^}]*\}")
_ROOT_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)[\s/>]")


# =========================================================================== the mapping, as data


@dataclass(frozen=True, slots=True)
class _Leaf:
    """One element that holds a value: where it sits in XML and in the canonical JSON."""

    path: str  # element path below the record element, for messages
    tokens: tuple[Token, ...]  # canonical path relative to the enclosing repeat item (or the record)
    type: str
    index: int  # position in the mapping: the key of its value while an element is read


@dataclass(slots=True)
class _Node:
    """One XML element of the mapping tree; children in schema order."""

    tag: str
    path: str
    leaf: _Leaf | None = None
    repeat: tuple[Token, ...] | None = None  # canonical list path of a repeated element
    index: int = 0  # repeated elements: key of their items while an element is read
    children: list[_Node] = field(default_factory=list)
    by_tag: dict[str, _Node] = field(default_factory=dict)
    # for reading: tag → a value's index, an extra leaf, or a container (filled by ``finish``)
    steps: dict[str, int | _Leaf | _Node] = field(default_factory=dict)

    def finish(self) -> None:
        for tag, node in self.by_tag.items():
            leaf = node.leaf
            self.steps[tag] = node if leaf is None else leaf if leaf.type == "extra" else leaf.index
            node.finish()

    def child(self, tag: str, path: str) -> _Node:
        node = self.by_tag.get(tag)
        if node is None:
            node = self.by_tag[tag] = _Node(tag, path)
            self.children.append(node)
        return node


def _tokens(path: str) -> tuple[Token, ...]:
    """``"employer.addresses[0].line1"`` → ``("employer", "addresses", 0, "line1")``."""
    out: list[Token] = []
    for part in path.split("."):
        name, _, rest = part.partition("[")
        out.append(name)
        while rest:
            index, _, rest = rest.partition("]")
            out.append("*" if index == "*" else int(index))
            rest = rest.removeprefix("[")
    return tuple(out)


@dataclass(slots=True)
class _Envelope:
    """An envelope element (header or trailer) and its plain fields."""

    record: str
    tag: str
    fields: list[tuple[str, str, str]]  # (tag, key, type)
    by_tag: dict[str, tuple[str, str]] = field(default_factory=dict)


@dataclass(slots=True)
class XmlMapping:
    """The loaded ``_mapping.toml``: names, the schema, and the element ⇄ canonical tree."""

    ns: str
    root_tag: str
    batch_tag: str
    order_tag: str
    schema: etree.XMLSchema
    envelopes: dict[str, _Envelope]
    order: _Node
    constants: list[tuple[tuple[Token, ...], Any]]
    frequency: dict[str, str]  # XML letter → canonical word
    source: dict[str, str]
    shared: tuple[str, ...]  # order fields reused across orders once validated
    leaf_by_path: dict[str, _Leaf] = field(default_factory=dict)
    xml_by_canonical: dict[tuple[Token, ...], str] = field(default_factory=dict)

    @property
    def nsmap(self) -> Any:
        """Our namespace as the default one (lxml-stubs type nsmap keys as str only)."""
        return {None: self.ns}

    def q(self, name: str) -> str:
        return f"{{{self.ns}}}{name}"

    def local(self, tag: str) -> str:
        return tag.rpartition("}")[2]


@cache
def load_mapping(base: Path | None = None) -> XmlMapping:
    """Load and check the mapping table and the XSD it names (cached per process)."""
    root = base or MAPPINGS_DIR
    path = root / MAPPING
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise LayoutError(f"{MAPPING}: cannot load: {exc}") from None
    d = doc["document"]
    ns = str(d["namespace"])
    try:
        schema = etree.XMLSchema(etree.parse(str(path.parent / d["schema"])))
    except (OSError, etree.XMLSchemaParseError, etree.XMLSyntaxError) as exc:
        raise LayoutError(f"{MAPPING}: schema {d['schema']!r} does not load: {exc}") from None
    q = f"{{{ns}}}"
    envelopes = {}
    for record, spec in doc["envelope"].items():
        fields = [(q + f["xml"], str(f["key"]), str(f.get("type", "text"))) for f in spec["fields"]]
        env = _Envelope(record, q + spec["element"], fields)
        env.by_tag = {tag: (key, kind) for tag, key, kind in fields}
        envelopes[record] = env
    order_spec = doc["order"]
    m = XmlMapping(
        ns=ns,
        root_tag=q + d["root"],
        batch_tag=q + d["batch"],
        order_tag=q + order_spec["element"],
        schema=schema,
        envelopes=envelopes,
        order=_Node(q + order_spec["element"], ""),
        constants=[(_tokens(c["canonical"]), c["value"]) for c in order_spec.get("constants", [])],
        frequency=_frequency_table(root),
        source={k: str(v) for k, v in doc["source"].items()},
        shared=tuple(order_spec.get("shared", ())),
    )
    unknown = set(m.shared) - set(IncomeWithholdingOrder.model_fields)
    if unknown:
        raise LayoutError(f"{MAPPING}: shared names fields an order does not have: {sorted(unknown)}")
    for row in order_spec["elements"]:
        _add_row(m, row, q)
    m.order.finish()
    return m


def _add_row(m: XmlMapping, row: Mapping[str, Any], q: str) -> None:
    xml, kind = str(row["xml"]), str(row.get("type", "text"))
    tokens = _tokens(str(row["canonical"]))
    node, parts = m.order, xml.split("/")
    for i, part in enumerate(parts):
        node = node.child(q + part, "/".join(parts[: i + 1]))
    repeat_above = _repeat_above(m.order, parts, q)
    if row.get("repeat"):
        if tokens[-1] != "*" or repeat_above is not None:
            raise LayoutError(f"{MAPPING}: {xml}: a repeated element maps to 'path[*]', and does not nest")
        node.repeat, node.index = tokens[:-1], len(m.leaf_by_path)
        m.leaf_by_path[xml] = _Leaf(xml, tokens, "repeat", node.index)
        return
    if repeat_above is not None:  # paths inside a repeated element are relative to the item
        cut = len(repeat_above) + 1
        if tokens[:cut] != (*repeat_above, "*"):
            raise LayoutError(f"{MAPPING}: {xml}: must map below {'.'.join(map(str, repeat_above))}[*]")
        rel = tokens[cut:]
    else:
        rel = tokens
    if kind not in {
        "text",
        "date",
        "amount",
        "ssn",
        "fein",
        "code",
        "integer",
        "yes_no",
        "frequency",
        "indicator",
        "extra",
    }:
        raise LayoutError(f"{MAPPING}: {xml}: unknown type {kind!r}")
    node.leaf = _Leaf(xml, rel, kind, len(m.leaf_by_path))
    m.leaf_by_path[xml] = node.leaf
    m.xml_by_canonical.setdefault(tokens, xml)
    for i in range(1, len(tokens)):
        m.xml_by_canonical.setdefault(tokens[:i], xml.rpartition("/")[0] or m.local(m.order_tag))


def _repeat_above(root: _Node, parts: list[str], q: str) -> tuple[Token, ...] | None:
    node = root
    for part in parts[:-1]:
        node = node.by_tag[q + part]
        if node.repeat is not None:
            return node.repeat
    return None


def _frequency_table(base: Path) -> dict[str, str]:
    return {code: row["canonical"] for code, row in load_code_rows(FREQUENCY_TABLE, base).items()}


# =========================================================================== XML ⇄ canonical JSON


Flat = dict[int, Any]
Builder = Callable[[Flat, dict[int, list[Flat]]], dict[str, Any]]
# XML text → canonical JSON value, as code for the generated builder (the XSD has checked the text).
CONVERT = {"integer": "int({v})", "yes_no": "{v} == 'Y'", "indicator": "{v} == 'T'", "frequency": "FREQUENCY[{v}]"}


class _Reader:
    """Turns one ``<IWO>`` element into the canonical order's JSON form.

    Two steps, both shaped by profiling (reading is the hot loop of a large batch): the leaf values
    are collected in one flat pass over the element's descendants, keyed by their position in the
    mapping; then a function generated from the mapping builds the nested JSON in straight-line code.
    The flat pass places each element under the nearest open container that can hold it, which is
    exact for a schema-valid element because no element name is shared between a container and one
    of its ancestors (checked when the mapping loads). Recursing per container and walking each
    leaf's canonical path generically cost four times as much.
    """

    def __init__(self, m: XmlMapping) -> None:
        self.m = m
        self.build = _BuilderSource(m).compile()
        _check_unambiguous(m.order, [])

    def order(self, el: etree._Element) -> dict[str, Any]:
        flat: Flat = {}
        reps: dict[int, list[Flat]] = {}
        target = flat
        chain = [self.m.order]
        steps = self.m.order.steps
        for child in el.iterdescendants(etree.Element):
            tag = child.tag
            step = steps.get(tag)
            while step is None and len(chain) > 1:
                if chain.pop().repeat is not None:
                    target = flat
                steps = chain[-1].steps
                step = steps.get(tag)
            if step.__class__ is int:  # the common case: a value, converted later by the builder
                target[step] = child.text
            elif isinstance(step, _Node):
                chain.append(step)
                steps = step.steps
                if step.repeat is not None:
                    target = {}
                    reps.setdefault(step.index, []).append(target)
            elif isinstance(step, _Leaf):
                self.extra(child, step, target)
            # None: not in the mapping (the schema admits nothing else below <IWO>)
        return self.build(flat, reps)

    @staticmethod
    def extra(el: etree._Element, leaf: _Leaf, flat: Flat) -> None:
        """``<Extra key="k">JSON</Extra>``, one element per key of the canonical ``extra``."""
        try:
            value = json.loads(el.text or "")
        except ValueError:
            raise RecordError("EXTRA_INVALID", f"{leaf.path}: content is not JSON text", field=leaf.path) from None
        flat.setdefault(leaf.index, {})[el.get("key")] = value


def _check_unambiguous(node: _Node, above: list[set[str]]) -> None:
    """No child name of a container may also be a child name of one of its ancestors (see _Reader)."""
    names = set(node.by_tag)
    for outer in above:
        clash = names & outer
        if clash:
            raise LayoutError(f"{MAPPING}: element name(s) {sorted(clash)} appear both in {node.path} and above it")
    for sub in node.children:
        if sub.leaf is None:
            _check_unambiguous(sub, [*above, names])


class _BuilderSource:
    """Generates the builder: nested dicts/lists in canonical-path order, an object only when one of
    its values is present (then with its constants), so absent optional parts stay absent."""

    def __init__(self, m: XmlMapping) -> None:
        self.m = m
        self.n = 0
        self.functions: list[str] = []
        self.constants: dict[tuple[Token, ...], dict[str, Any]] = {(): {"kind": "income_withholding_order"}}
        for tokens, value in m.constants:
            self.constants.setdefault(tokens[:-1], {})[str(tokens[-1])] = value

    def compile(self) -> Builder:
        top = self.tree(self.m.order, inside_repeat=False)
        body: list[str] = []
        result = self.value(top, "f", (), body)
        src = "\n".join([*self.functions, "def build(f, reps):", *body, f"    return {result}", ""])
        env: dict[str, Any] = {"FREQUENCY": self.m.frequency}
        exec(compile(src, "<eiwo-xml builder>", "exec"), env)
        fn: Builder = env["build"]
        return fn

    def tree(self, node: _Node, inside_repeat: bool) -> dict[Token, Any]:
        """The canonical shape below ``node``: token → subtree, leaf, or repeated node."""
        out: dict[Token, Any] = {}
        for sub in node.children:
            if sub.repeat is not None and not inside_repeat:
                _place(out, sub.repeat, sub)
            elif sub.leaf is not None:
                _place(out, sub.leaf.tokens, sub.leaf)
            else:
                for tok, part in self.tree(sub, inside_repeat).items():
                    _merge(out, tok, part)
        return out

    def var(self) -> str:
        self.n += 1
        return f"v{self.n}"

    def value(self, sub: Any, src: str, path: tuple[Token, ...], lines: list[str]) -> str:
        """Emit code leaving the value of ``sub`` (a repeated node or a subtree; ``put`` writes leaves) in a
        fresh variable and return its name: a dict or list, empty when nothing below it has a value (its
        parent then leaves it out)."""
        v = self.var()
        if isinstance(sub, _Node):
            fn = self.item_function(sub)
            lines.append(f"    {v} = [{fn}(x) for x in reps.get({sub.index}, ())]")
        elif all(isinstance(k, int) for k in sub):
            lines.append(f"    {v} = []")
            for k in sorted(sub):
                self.put(sub[k], src, (*path, k), lines, v, None)
        else:
            lines.append(f"    {v} = {{}}")
            for k, part in sub.items():
                self.put(part, src, (*path, k), lines, v, k)
            const = self.constants.get(path)
            if not path:
                lines.append(f"    {v}.update({const!r})")
            elif const:
                lines.append(f"    if {v}: {v}.update({const!r})")
        return v

    def put(self, part: Any, src: str, path: tuple[Token, ...], lines: list[str], into: str, key: Token | None) -> None:
        """Emit code storing ``part``'s value under ``key`` of ``into`` (appending it when ``key`` is None),
        when it has one.

        A leaf is tested by ``in`` and read by subscript: no call, where ``get`` and a test of its result
        would be one per leaf of the mapping, present or not. A value the reader stored is never None:
        the schema, checked before the reader runs, admits no empty leaf."""

        def store(x: str) -> str:
            return f"{into}.append({x})" if key is None else f"{into}[{key!r}] = {x}"

        if isinstance(part, _Leaf):
            lines.append(f"    if {part.index} in {src}: {store(self.leaf(part, src))}")
        else:
            item = self.value(part, src, path, lines)
            lines.append(f"    if {item}: {store(item)}")

    @staticmethod
    def leaf(leaf: _Leaf, src: str) -> str:
        """The expression of a leaf's canonical JSON value, read from ``src`` (where it is present)."""
        convert = CONVERT.get(leaf.type)
        text = f"{src}[{leaf.index}]"
        return convert.format(v=text) if convert else text

    def item_function(self, node: _Node) -> str:
        assert node.repeat is not None
        name = f"item{node.index}"
        lines: list[str] = []
        result = self.value(self.tree(node, inside_repeat=True), "f", (*node.repeat, "*"), lines)
        self.functions += [f"def {name}(f):", *lines, f"    return {result}", ""]
        return name


def _place(tree: dict[Token, Any], tokens: tuple[Token, ...], item: Any) -> None:
    for tok in tokens[:-1]:
        tree = tree.setdefault(tok, {})
    tree[tokens[-1]] = item


def _merge(tree: dict[Token, Any], tok: Token, part: Any) -> None:
    if isinstance(part, dict) and isinstance(tree.get(tok), dict):
        for k, v in part.items():
            _merge(tree[tok], k, v)
    else:
        tree[tok] = part


class _Writer:
    """Builds the ``<IWO>`` element of one canonical order (JSON form) with a function generated from
    the mapping, as the reader does: each value is fetched once along its canonical path, and an
    element is created only when it or one of its descendants has a value, in schema order."""

    def __init__(self, m: XmlMapping) -> None:
        self.m = m
        self.write = _WriterSource(m).compile()

    def order(self, data: Mapping[str, Any]) -> etree._Element:
        el = etree.Element(self.m.order_tag, nsmap=self.m.nsmap)
        self.write(data, el)
        return el


def _item(items: Any, index: int) -> Any:
    """``items[index]`` of a JSON list, or an empty mapping when there is none."""
    return items[index] if items and len(items) > index and items[index] is not None else _EMPTY


_EMPTY: Mapping[str, Any] = {}


def _letter(letters: Mapping[str, str], value: Any, path: str) -> str | None:
    if value is None:
        return None
    letter = letters.get(str(value))
    if letter is None:
        raise RecordError("RENDER_VALUE", f"{path}: frequency {value!r} has no e-IWO code", field=path)
    return letter


# canonical JSON value → XML text, as code for the generated writer (None: write no element)
TEXT_OF = {
    "integer": "None if {v} is None else str({v})",
    "yes_no": "None if {v} is None else 'Y' if {v} else 'N'",
    "indicator": "'T' if {v} else None",
    "frequency": "_letter(LETTERS, {v}, {path!r})",
}


class _WriterSource:
    """Generates the writer function (see ``_Writer``)."""

    def __init__(self, m: XmlMapping) -> None:
        self.m = m
        self.n = 0
        self.functions: list[str] = []
        self.env: dict[str, Any] = {
            "SE": etree.SubElement,
            "E": _EMPTY,
            "_item": _item,
            "_letter": _letter,
            "_json": json.dumps,
            "LETTERS": {word: letter for letter, word in m.frequency.items()},
        }

    def compile(self) -> Callable[[Mapping[str, Any], etree._Element], None]:
        body = self.function("write", self.m.order)
        exec(compile("\n".join([*self.functions, *body, ""]), "<eiwo-xml writer>", "exec"), self.env)
        fn: Callable[[Mapping[str, Any], etree._Element], None] = self.env["write"]
        return fn

    def name(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}{self.n}"

    def function(self, fname: str, node: _Node) -> list[str]:
        """``def fname(d, parent)``: the children of ``node`` from the JSON object ``d``."""
        values: list[str] = []
        getters: dict[tuple[Token, ...], str] = {(): "d"}
        build: list[str] = []
        self.children(node, "parent", values, build, getters, "    ")
        return [f"def {fname}(d, parent):", *values, *build, "    return None", ""]

    def getter(self, tokens: tuple[Token, ...], getters: dict[tuple[Token, ...], str], values: list[str]) -> str:
        """A variable holding the object at ``tokens`` (an empty mapping when absent)."""
        if tokens in getters:
            return getters[tokens]
        above = self.getter(tokens[:-1], getters, values)
        var = self.name("g")
        tok = tokens[-1]
        # a list position indexes the list above (an empty mapping when it is absent or too short)
        expr = f"_item({above}, {tok})" if isinstance(tok, int) else f"({above}.get({tok!r}) or E)"
        values.append(f"    {var} = {expr}")
        getters[tokens] = var
        return var

    def children(
        self,
        node: _Node,
        parent: str,
        values: list[str],
        build: list[str],
        getters: dict[tuple[Token, ...], str],
        ind: str,
    ) -> str:
        """Emit value fetches into ``values`` and element creation into ``build``; return an
        expression that is true when anything below ``node`` will be written."""
        present: list[str] = []
        for sub in node.children:
            tag = self.name("T")
            self.env[tag] = sub.tag
            if sub.repeat is not None:
                fn = self.name("item")
                self.functions += self.function(fn, sub)
                owner = self.getter(sub.repeat[:-1], getters, values)
                items = self.name("r")
                values.append(f"    {items} = {owner}.get({sub.repeat[-1]!r}) or ()")
                build += [f"{ind}for x in {items}:", f"{ind}    {fn}(x, SE({parent}, {tag}))"]
                present.append(f"bool({items})")
            elif sub.leaf is not None and sub.leaf.type == "extra":
                owner = self.getter(sub.leaf.tokens[:-1], getters, values)
                extra = self.name("x")
                values.append(f"    {extra} = {owner}.get({sub.leaf.tokens[-1]!r}) or E")
                build += [
                    f"{ind}for k, v in {extra}.items():",
                    f"{ind}    SE({parent}, {tag}, key=k).text = _json(v, sort_keys=True, separators=(',', ':'))",
                ]
                present.append(f"bool({extra})")
            elif sub.leaf is not None:
                leaf = sub.leaf
                owner = self.getter(leaf.tokens[:-1], getters, values)
                v = self.name("v")
                last = leaf.tokens[-1]
                fetch = f"_item({owner}, {last}) or None" if isinstance(last, int) else f"{owner}.get({last!r})"
                values.append(f"    {v} = {fetch}")
                convert = TEXT_OF.get(leaf.type)
                if convert:
                    values.append(f"    {v} = {convert.format(v=v, path=leaf.path)}")
                build.append(f"{ind}if {v} is not None: SE({parent}, {tag}).text = {v}")
                present.append(f"{v} is not None")
            else:
                el = self.name("e")
                inner: list[str] = []
                flag = self.children(sub, el, values, inner, getters, ind + "    ")
                p = self.name("p")
                values.append(f"    {p} = {flag}")
                build += [f"{ind}if {p}:", f"{ind}    {el} = SE({parent}, {tag})", *inner]
                present.append(p)
        return " or ".join(present) or "False"


# =========================================================================== envelope fields


def _time_text(value: Any) -> str:
    """Record form ``HHMMSS`` (as the flat file's time fields) → XML ``HH:MM:SS``."""
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S")
    text = str(value)
    if len(text) == 6 and text.isdigit():
        return f"{text[:2]}:{text[2:4]}:{text[4:]}"
    return text


def _envelope_value(kind: str, text: str) -> Any:
    if kind == "integer":
        return int(text)
    if kind == "date":
        return dt.date.fromisoformat(text)
    if kind == "time":
        return text.replace(":", "")
    return text


# Characters XML 1.0 cannot carry in text (lxml refuses them when a text is set).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_NOT_XML_WHY = "holds a character XML cannot carry (a control character)"


def _envelope_text(kind: str, value: Any, path: str) -> str:
    """An envelope value's element text; a value that has no text form of its own is refused, not
    written as ``str()`` of it (a list would pass the schema's string types as ``['...']``)."""
    if kind == "time" and isinstance(value, dt.time):
        text = _time_text(value)
    elif kind == "date" and isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        text = value.isoformat()
    elif isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise RecordError("RENDER_VALUE", f"{path}: not a {kind or 'text'} value", field=path)
    else:
        text = _time_text(value) if kind == "time" else str(value)
    if _NOT_XML.search(text):
        raise RecordError("RENDER_VALUE", f"{path}: {_NOT_XML_WHY}", field=path)
    return text


# =========================================================================== schema errors


def _element_at(root: etree._Element, xpath: str) -> etree._Element | None:
    """Resolve libxml2's positional path (``/*/*[3]/*``) below a validated element."""
    el = root
    for step in xpath.strip("/").split("/")[1:]:
        index = int(step[2:-1]) - 1 if step.startswith("*[") else 0
        kids = [c for c in el if isinstance(c.tag, str)]
        if index >= len(kids):
            return None
        el = kids[index]
    return el


def _element_path(el: etree._Element, top: etree._Element) -> str:
    names: list[str] = []
    cur: etree._Element | None = el
    while cur is not None and cur is not top:
        names.append(str(cur.tag).rpartition("}")[2])
        cur = cur.getparent()
    return "/".join(reversed(names))


def schema_problem(
    m: XmlMapping, top: etree._Element, log: etree._ListErrorLog, leaves: Mapping[str, Any]
) -> RecordError:
    """The first schema error of ``top`` as a coded ``RecordError``, without any value from the file.

    libxml2 messages quote the offending value, so only the element path, the kind of failure and
    (for structure errors) the names of the expected elements are passed on.
    """
    err = log[0]
    el = _element_at(top, err.path or "")
    path = _element_path(el, top) if el is not None else ""
    where = f"{m.local(str(top.tag))}/{path}" if path else m.local(str(top.tag))
    line = err.line
    if err.type_name == "SCHEMAV_ELEMENT_CONTENT" or not err.type_name.startswith("SCHEMAV_CVC_"):
        expected = _EXPECTED.search(err.message)
        names = _NS_PREFIX.sub("", expected.group(1)) if expected else ""
        what = "missing child element" if "Missing child" in err.message else "element not expected here"
        detail = f"; expected {names}" if names else ""
        return RecordError("XSD_VIOLATION", f"{where}: {what}{detail} (line {line})", field=where)
    kind = leaves.get(path, "text")
    code = XSD_CODE_BY_TYPE.get(kind, "XSD_VIOLATION")
    facet = err.type_name.removeprefix("SCHEMAV_CVC_").split("_VALID")[0].lower()
    why = FACET_WORDS.get(facet, "is not a valid value of its type")
    return RecordError(code, f"{where}: value {why} (line {line})", field=where)


def canonical_problem(m: XmlMapping, exc: ValidationError) -> RecordError:
    """The first canonical-model error as a coded ``RecordError`` naming the XML element."""
    first = exc.errors(include_input=False, include_url=False)[0]
    loc = tuple(first["loc"])
    generic = tuple("*" if isinstance(t, int) and i and loc[i - 1] == "children" else t for i, t in enumerate(loc))
    xml = None
    for cut in range(len(generic), -1, -1):
        xml = m.xml_by_canonical.get(generic[:cut])
        if xml is not None:
            break
    where = f"{m.local(m.order_tag)}/{xml}" if xml else m.local(m.order_tag)
    last = next((t for t in reversed(loc) if isinstance(t, str)), "")
    code = {"ssn": "SSN_INVALID", "fein": "FEIN_INVALID"}.get(last, "ORDER_INVALID")
    return RecordError(code, f"{where}: {first['msg']}", field=where)


# =========================================================================== the adapter


class EiwoXmlAdapter:
    """e-IWO XML documents (file/batch envelope + ``<IWO>`` orders) ⇄ ``IncomeWithholdingOrder``."""

    key: ClassVar[str] = "eiwo-xml"
    title: ClassVar[str] = "e-IWO income withholding orders, XML form (csgate schema from the OCSE field inventory)"
    direction: ClassVar[Direction] = Direction.BOTH
    source: ClassVar[SourceInfo] = SourceInfo(
        document="OCSE e-IWO Record Layouts App. D field inventory; XML names by csgate (OCSE XSD not public)",
        version="csgate e-IWO XML 1 (App. D v4.0 inventory)",
        status="choice",
        notes="element names, root and namespace are our choice; see mappings/employer/eiwo_xml/",
    )

    def __init__(self, mappings: Path | None = None) -> None:
        self.mapping = load_mapping(mappings)
        self.reader = _Reader(self.mapping)
        self.writer = _Writer(self.mapping)
        self.order_leaves = {path: leaf.type for path, leaf in self.mapping.leaf_by_path.items()}

    def detect(self, head: bytes) -> bool:
        """An XML document whose first element is our root in our namespace."""
        text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
        if not text.startswith(b"<"):
            return False
        m = self.mapping
        found = _ROOT_TAG.search(_skip_prolog(text))
        return found is not None and found.group(1) == m.local(m.root_tag).encode() and m.ns.encode() in head

    def parse(self, stream: BinaryIO) -> Iterator[Result]:
        return _Parser(self).run(stream)

    def render(self, records: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
        return _Renderer(self).run(records)

    def order_element(self, order: IncomeWithholdingOrder | Mapping[str, Any]) -> etree._Element:
        """The validated ``<IWO>`` element of one order; ``RecordError`` when it breaks the schema."""
        try:  # validated first, so no order the canonical model refuses is written
            model = order if isinstance(order, IncomeWithholdingOrder) else IncomeWithholdingOrder.model_validate(order)
        except ValidationError as exc:
            raise canonical_problem(self.mapping, exc) from None
        data = model.model_dump(mode="json", exclude_none=True)  # absent and None write the same: nothing
        try:
            el = self.writer.order(data)
        except ValueError:  # lxml refuses such a text; which one, its message does not say
            raise RecordError("RENDER_VALUE", f"a value of the order {_NOT_XML_WHY}") from None
        self.check(el, self.order_leaves)
        return el

    def check(self, el: etree._Element, leaves: Mapping[str, Any]) -> None:
        schema = self.mapping.schema
        try:
            valid = schema.validate(el)
        except etree.XMLSchemaValidateError:  # libxml2 gives up on unexpanded entity references
            name = self.mapping.local(str(el.tag))
            raise RecordError(
                "XSD_VIOLATION",
                f"{name}: holds content the schema cannot check (entity references are not allowed)",
                field=name,
            ) from None
        if not valid:
            raise schema_problem(self.mapping, el, schema.error_log, leaves)


def _skip_prolog(text: bytes) -> bytes:
    """Drop the XML declaration, comments, processing instructions and DOCTYPE before the root."""
    while True:
        text = text.lstrip()
        if text.startswith(b"<?"):
            end = text.find(b"?>")
        elif text.startswith(b"<!--"):
            end = text.find(b"-->")
        elif text.startswith(b"<!"):
            end = text.find(b">")
        else:
            return text
        if end < 0:
            return b""
        text = text[end + 2 :] if not text.startswith(b"<!D") else text[end + 1 :]


# =========================================================================== parsing


@dataclass(slots=True)
class _Batch:
    line: int
    header: dict[str, Any] | None = None
    orders: int = 0
    trailer: bool = False


class _SharedParts:
    """Validates orders, reusing the validated form of parts that repeat across a document.

    The employer of a batch, the state's payee address and contacts are the same in every order, and
    validating the canonical model is the most expensive step of reading an order. A part is reused
    only when its JSON is identical to one that validated inside an earlier order, so every order is
    still checked in full (a new or different part goes through the whole model, errors included)."""

    LIMIT = 4096

    def __init__(self, fields: tuple[str, ...]) -> None:
        self.fields = fields
        self.cache: dict[tuple[str, bytes], Any] = {}
        # The model's validator itself: ``model_validate`` is a Python wrapper that passes six keyword
        # arguments through on every call, a measurable share of validating a small order.
        self.validate_python = IncomeWithholdingOrder.__pydantic_validator__.validate_python

    def validate(self, data: dict[str, Any]) -> IncomeWithholdingOrder:
        known: dict[str, Any] = {}
        keys: list[tuple[str, bytes]] = []
        for name in self.fields:
            part = data.get(name)
            if part is None:
                continue
            key = (name, orjson.dumps(part))
            hit = self.cache.get(key)
            if hit is None:
                keys.append(key)
            else:
                known[name] = hit
        order: IncomeWithholdingOrder = self.validate_python({**data, **known} if known else data)
        if len(self.cache) > self.LIMIT:
            self.cache.clear()
        for key in keys:
            self.cache[key] = getattr(order, key[0])
        return order


class _Parser:
    """One pass over one document; state lives here so the adapter is reusable."""

    def __init__(self, adapter: EiwoXmlAdapter) -> None:
        self.a = adapter
        self.m = adapter.mapping
        self.problems: list[tuple[str, str]] = []
        self.record_no = 0
        self.root: etree._Element | None = None
        self.file_header: dict[str, Any] | None = None
        self.file_trailer = False
        self.batch: _Batch | None = None
        self.batches = 0
        self.orders = 0
        self.foreign = False
        self.control_numbers: set[str] = set()
        self.tracking: set[str] = set()
        self.shared = _SharedParts(self.m.shared)
        env = {e.tag: e for e in self.m.envelopes.values()}
        self.envelope_by_tag = env
        self.known = {self.m.batch_tag, self.m.order_tag, *env}

    def problem(self, code: str, message: str) -> None:
        # A damaged document can fault on every element: keep the first ones, they explain the rest.
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append((code, message))

    def next_no(self) -> int:
        self.record_no += 1
        return self.record_no

    def run(self, stream: BinaryIO) -> Iterator[Result]:
        m = self.m
        head = stream.read(4096)
        first = _ROOT_TAG.search(_skip_prolog(head.lstrip(b"\xef\xbb\xbf")))
        if head.strip() and first is not None and first.group(1) != m.local(m.root_tag).encode():
            # A different document type: say so at once instead of building its whole tree.
            raise FileStructureError("XML_ROOT", f"document element is not {m.local(m.root_tag)}")
        source = with_head(head, stream)
        local = m.local
        tags = [f"{{*}}{local(t)}" for t in (m.root_tag, m.batch_tag, m.order_tag, *self.envelope_by_tag)]
        events = etree.iterparse(
            source,
            events=("start", "end"),
            tag=tags,
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            remove_comments=True,
            remove_pis=True,
            huge_tree=False,
            # Indentation between elements (as our renderer writes) is not kept as text nodes: it
            # carries nothing, and building, validating and freeing those nodes cost about a twentieth
            # of the work per order. libxml2 keeps an element's own text however blank it is, so a value of
            # spaces still reaches the schema and is refused there.
            remove_blank_text=True,
        )
        try:
            for event, el in events:
                if event == "start":
                    self.start(el)
                elif (result := self.end(el)) is not None:
                    yield result
        except etree.XMLSyntaxError as exc:
            self.problems.insert(0, _syntax_problem(exc))
        else:
            self.finish()
        if self.problems:
            raise FileStructureError.from_problems(self.problems)

    # ---- structure
    def start(self, el: etree._Element) -> None:
        tag = el.tag
        if self.foreign:
            return
        if tag == self.m.root_tag:
            self.root = el
        elif self.root is None and el.getparent() is None:
            # our root name in another namespace: another schema's document, nothing in it is ours
            self.foreign = True
            self.problem("XML_NAMESPACE", f"document element is not in namespace {self.m.ns}")
        elif tag == self.m.batch_tag and el.getparent() is self.root and self.root is not None:
            if self.file_header is None and not self.batches:
                self.problem("MISSING_FILE_HEADER", f"line {_line(el)}: batch before the file header")
            if self.file_trailer:
                self.problem("RECORD_AFTER_FILE_TRAILER", f"line {_line(el)}: batch after the file trailer")
            self.batches += 1
            self.batch = _Batch(_line(el))

    def end(self, el: etree._Element) -> Result | None:
        """Handle a closed element: the record it makes, if any (a plain function, not a generator: one
        generator per element was a measurable cost per order)."""
        tag = str(el.tag)
        m = self.m
        if self.foreign:
            self.free(el)
            return None
        if tag not in self.known and tag != m.root_tag:
            self.problem("XML_NAMESPACE", f"line {_line(el)}: element {m.local(tag)} is not in {m.ns}")
            self.free(el)
            return None
        parent = el.getparent()
        if tag == m.root_tag:
            self.check_leftovers(el)
            return None
        if tag == m.batch_tag:
            if parent is self.root:
                self.close_batch(el)
            else:
                self.problem("XSD_STRUCTURE", f"line {_line(el)}: Batch must be a child of {m.local(m.root_tag)}")
            self.free(el)
            return None
        in_batch = parent is not None and parent.tag == m.batch_tag and parent.getparent() is self.root
        at_top = parent is self.root and parent is not None
        if tag == m.order_tag:
            result = None
            if in_batch and self.batch is not None:
                self.batch.orders += 1
                self.orders += 1
                if self.batch.header is None and not self.batch.trailer and self.batch.orders == 1:
                    self.problem("MISSING_BATCH_HEADER", f"line {_line(el)}: order before the batch header")
                if self.batch.trailer:
                    self.problem("RECORD_AFTER_BATCH_TRAILER", f"line {_line(el)}: order after the batch trailer")
                result = self.order(el)
            else:
                self.problem("XSD_STRUCTURE", f"line {_line(el)}: IWO outside a Batch")
            self.free(el)
            return result
        env = self.envelope_by_tag[tag]
        placed = in_batch if env.record.startswith("batch_") else at_top
        if not placed:
            self.problem("XSD_STRUCTURE", f"line {_line(el)}: {m.local(tag)} is misplaced")
            self.free(el)
            return None
        result = self.envelope(env, el)
        self.free(el)
        return result

    def free(self, el: etree._Element) -> None:
        """Drop what has been handled so memory stays bounded; flag anything unexpected on the way."""
        parent = el.getparent()
        el.clear(keep_tail=True)  # type: ignore[call-arg]  # lxml-stubs lack keep_tail
        if parent is None:
            return
        while (prev := el.getprevious()) is not None:
            if not self.foreign and isinstance(prev.tag, str) and prev.tag not in self.known:
                self.problem("XSD_STRUCTURE", f"line {_line(prev)}: unexpected element {self.m.local(prev.tag)}")
            del parent[0]

    def check_leftovers(self, root: etree._Element) -> None:
        for child in root:
            if isinstance(child.tag, str) and child.tag not in self.known:
                self.problem("XSD_STRUCTURE", f"line {_line(child)}: unexpected element {self.m.local(child.tag)}")

    # ---- records
    def order(self, el: etree._Element) -> Result:
        line = _line(el)
        no = self.next_no()
        try:
            self.a.check(el, self.a.order_leaves)
            data = self.a.reader.order(el)
            order = self.shared.validate(data)
        except RecordError as err:
            return Rejected(no, line, err.code, err.message, err.field, None, None, "order")
        except ValidationError as exc:
            problem = canonical_problem(self.m, exc)
            return Rejected(no, line, problem.code, problem.message, problem.field, None, None, "order")
        if order.document_tracking_id in self.tracking:  # DTL 72: the join key for ACKs and results
            where = f"{self.m.local(self.m.order_tag)}/{self.m.xml_by_canonical[('document_tracking_id',)]}"
            return Rejected(
                no,
                line,
                "DUPLICATE_TRACKING_ID",
                f"{where}: already used by an earlier order",
                where,
                None,
                None,
                "order",
            )
        self.tracking.add(order.document_tracking_id)
        # ``data`` is the JSON form the order was validated from: it re-validates to the same order and
        # saves re-serialising every order of a large batch (defaults are left out, not lost).
        return Parsed(no, "order", data, line, order)

    def envelope(self, env: _Envelope, el: etree._Element) -> Result:
        line = _line(el)
        leaves = {self.m.local(tag): kind for tag, _, kind in env.fields}
        try:
            self.a.check(el, leaves)
        except RecordError as err:
            self.problem(f"{env.record.upper()}_INVALID", f"line {line}: {env.record} breaks the schema ({err.code})")
            self.track(env.record, el, None)
            return Rejected(self.next_no(), line, err.code, err.message, err.field, None, None, env.record)
        data: dict[str, Any] = dict.fromkeys(key for _, key, _ in env.fields)
        for child in el:
            spec = env.by_tag.get(child.tag)
            if spec is not None:
                data[spec[0]] = _envelope_value(spec[1], child.text or "")
        self.track(env.record, el, data)
        return Parsed(self.next_no(), env.record, data, line)

    def track(self, record: str, el: etree._Element, data: dict[str, Any] | None) -> None:
        """Envelope order, pairing, counts and control numbers (§1.1)."""
        line = _line(el)
        control = (data or {}).get("control_number")
        if record == "file_header":
            if self.file_header is not None or self.batches or self.file_trailer:
                self.problem("FILE_HEADER_NOT_FIRST", f"line {line}: file header is not the first element")
            self.file_header = data or {}
            self.unique(control, line)
        elif record == "batch_header":
            b = self.batch
            if b is None or b.header is not None or b.orders:
                self.problem("BATCH_HEADER_NOT_FIRST", f"line {line}: batch header is not first in its batch")
            if b is not None:
                b.header = data or {}
            self.unique(control, line)
        elif record == "batch_trailer":
            b = self.batch
            if b is None:
                return
            b.trailer = True
            if data is None:
                return
            if data["record_count"] != b.orders:
                self.problem(
                    "BATCH_RECORD_COUNT",
                    f"line {line}: batch trailer counts {data['record_count']} orders, the batch holds {b.orders}",
                )
            if b.header and control != b.header.get("control_number"):
                self.problem(
                    "CONTROL_NUMBER_MISMATCH", f"line {line}: batch trailer control number differs from its header"
                )
        elif record == "file_trailer":
            if self.batch is not None:
                self.problem("XSD_STRUCTURE", f"line {line}: file trailer inside a batch")
            self.file_trailer = True
            if data is None:
                return
            if data["batch_count"] != self.batches:
                self.problem(
                    "FILE_BATCH_COUNT",
                    f"line {line}: file trailer counts {data['batch_count']} batches, the file holds {self.batches}",
                )
            if self.file_header and control != self.file_header.get("control_number"):
                self.problem(
                    "CONTROL_NUMBER_MISMATCH", f"line {line}: file trailer control number differs from its header"
                )

    def unique(self, control: str | None, line: int | None) -> None:
        if control is None:
            return
        if control in self.control_numbers:
            self.problem("DUPLICATE_CONTROL_NUMBER", f"line {line}: a control number is used twice in the file")
        self.control_numbers.add(control)

    def close_batch(self, el: etree._Element) -> None:
        b, self.batch = self.batch, None
        if b is None:
            return
        if b.header is None:
            self.problem("MISSING_BATCH_HEADER", f"batch at line {b.line} has no batch header")
        if not b.orders:
            self.problem("EMPTY_BATCH", f"batch at line {b.line} holds no order")
        if not b.trailer:
            self.problem("MISSING_BATCH_TRAILER", f"batch at line {b.line} has no batch trailer")

    def finish(self) -> None:
        m = self.m
        if self.foreign:
            return
        if self.root is None:
            self.problem("XML_ROOT", f"no {m.local(m.root_tag)} element in {m.ns}")
            return
        if self.file_header is None:
            self.problem("MISSING_FILE_HEADER", "document has no file header")
        if not self.batches:
            self.problem("NO_BATCH", "document holds no batch")
        if not self.file_trailer:
            self.problem("MISSING_FILE_TRAILER", "document has no file trailer")


def _line(el: etree._Element) -> int:
    """The element's line in the document (lxml-stubs leave ``sourceline`` untyped)."""
    return cast(int | None, el.sourceline) or 0


def _syntax_problem(exc: etree.XMLSyntaxError) -> tuple[str, str]:
    """A well-formedness error by libxml2's error name and position only (its text may quote data)."""
    log = cast(Any, exc.error_log)  # a _ListErrorLog; lxml-stubs give it no members
    entry = log.last_error if log else None
    name = entry.type_name if entry is not None else "ERR"
    line, column = exc.position if exc.position else (0, 0)
    if name in ("ERR_DOCUMENT_EMPTY",):
        return "EMPTY_FILE", "no XML content"
    code = (
        "TRUNCATED"
        if name in ("ERR_TAG_NOT_FINISHED", "ERR_DOCUMENT_END", "ERR_LTSLASH_REQUIRED") or "Premature end" in str(exc)
        else "XML_SYNTAX"
    )
    return code, f"line {line}, column {column}: XML is not well-formed ({name})"


# =========================================================================== rendering


class _Renderer:
    """Writes records as one document: envelope from the header records, trailers computed.

    Given trailer counts must agree with what the batches hold (a stale count would make the
    receiver reject the file); a missing trailer is written from the header it closes.
    """

    def __init__(self, adapter: EiwoXmlAdapter) -> None:
        self.a = adapter
        self.m = adapter.mapping
        self.started = False
        self.ended = False
        self.file_header: Mapping[str, Any] | None = None
        self.batch_header: Mapping[str, Any] | None = None
        self.batch_orders = 0
        self.batches = 0
        self.tracking: set[str | None] = set()
        self.tracking_tag = self.m.q(self.m.xml_by_canonical[("document_tracking_id",)])

    def run(self, records: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
        for rec in records:
            canonical = rec.get("canonical")
            rtype = rec.get("type")
            if isinstance(canonical, IncomeWithholdingOrder) or rtype == "order":
                yield self.order(canonical if isinstance(canonical, IncomeWithholdingOrder) else rec.get("data") or {})
            elif rtype in self.m.envelopes:
                yield from self.envelope(str(rtype), rec.get("data") or {})
            else:
                raise RecordError("RENDER_TYPE", f"record type {rtype!r} is not part of an e-IWO XML document")
        yield from self.close()

    def element(self, el: etree._Element) -> bytes:
        """Serialised element without the namespace declaration the root already makes."""
        text: bytes = etree.tostring(el, pretty_print=True)
        return text.replace(f' xmlns="{self.m.ns}"'.encode(), b"", 1)

    def envelope_element(self, record: str, data: Mapping[str, Any]) -> bytes:
        env = self.m.envelopes[record]
        el = etree.Element(env.tag, nsmap=self.m.nsmap)
        for tag, key, kind in env.fields:
            value = data.get(key)
            if value is not None and value != "":
                etree.SubElement(el, tag).text = _envelope_text(kind, value, f"{record}.{key}")
        self.a.check(el, {self.m.local(tag): kind for tag, _, kind in env.fields})
        return self.element(el)

    def envelope(self, record: str, data: Mapping[str, Any]) -> Iterator[bytes]:
        if self.ended:
            raise RecordError("RENDER_STRUCTURE", "records after the file trailer")
        if record == "file_header":
            if self.started:
                raise RecordError("RENDER_STRUCTURE", "a second file header")
            self.started, self.file_header = True, data
            root = f'<{self.m.local(self.m.root_tag)} xmlns="{self.m.ns}">'
            yield f'<?xml version="1.0" encoding="UTF-8"?>\n{root}\n'.encode()
            yield self.envelope_element(record, data)
            return
        if not self.started:
            raise RecordError("RENDER_STRUCTURE", "an e-IWO XML document starts with a file_header record")
        if record == "batch_header":
            yield from self.close_batch()
            self.batch_header, self.batch_orders = data, 0
            self.batches += 1
            yield f"<{self.m.local(self.m.batch_tag)}>\n".encode()
            yield self.envelope_element(record, data)
        elif record == "batch_trailer":
            if self.batch_header is None:
                raise RecordError("RENDER_STRUCTURE", "batch trailer without a batch header")
            yield from self.close_batch(data)
        else:
            yield from self.close(data)

    def order(self, order: IncomeWithholdingOrder | Mapping[str, Any]) -> bytes:
        if self.batch_header is None:
            raise RecordError("RENDER_STRUCTURE", "an order must follow a batch_header record")
        el = self.a.order_element(order)
        tracking = el.findtext(self.tracking_tag)
        if tracking in self.tracking:
            raise RecordError(
                "DUPLICATE_TRACKING_ID", "two orders share a document tracking identifier", field="document_tracking_id"
            )
        self.tracking.add(tracking)
        self.batch_orders += 1
        return self.element(el)

    def close_batch(self, given: Mapping[str, Any] | None = None) -> Iterator[bytes]:
        h = self.batch_header
        if h is None:
            return
        data = self.trailer(h, "BT", {"batch_count": 0, "record_count": self.batch_orders}, given)
        yield self.envelope_element("batch_trailer", data)
        yield f"</{self.m.local(self.m.batch_tag)}>\n".encode()
        self.batch_header = None

    def close(self, given: Mapping[str, Any] | None = None) -> Iterator[bytes]:
        if self.ended:
            return
        if not self.started:
            raise RecordError("RENDER_STRUCTURE", "an e-IWO XML document starts with a file_header record")
        yield from self.close_batch()
        assert self.file_header is not None
        data = self.trailer(self.file_header, "FT", {"batch_count": self.batches, "record_count": 0}, given)
        yield self.envelope_element("file_trailer", data)
        yield f"</{self.m.local(self.m.root_tag)}>\n".encode()
        self.ended = True

    @staticmethod
    def trailer(
        header: Mapping[str, Any], prefix: str, counts: dict[str, int], given: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """The trailer closing ``header``: code, control number and counts computed (§1.1); supplied
        values must agree with them. The two "sent" counts are informational: passed through, or left out."""
        code = str(header.get("document_code") or "")
        computed: dict[str, Any] = {
            "document_code": prefix + code[2:3],
            "control_number": header.get("control_number"),
            **counts,
        }
        data = dict(computed)
        for key, value in (given or {}).items():
            if value is None or key in ("type", "kind"):
                continue
            if key not in computed:
                data[key] = value
        agree(given or {}, computed, "trailer")
        return data


__all__ = ["EiwoXmlAdapter", "XmlMapping", "load_mapping"]
