"""`edgespec fmt`: canonical formatting that keeps every comment and blank line.

Two passes. Keys of block mappings, and of the block mappings that are items of a list (a
`source` list, `split_points`), are put in the order the spec language defines (the order of the
models' fields; maps keyed by name keep their order) by moving whole text blocks, so the comments
above a key move with it. Then ruamel.yaml re-emits the document round-trip with one
indentation style (2 spaces, sequences indented under their key) and plain scalars wherever
quotes are not needed. Flow collections (`{p95_ms: 50}`) keep their style. Applying it twice
changes nothing.
"""

from __future__ import annotations

import functools
import io
import re

_KEY = re.compile(r"^( *)([^\s#'\"\-{\[][^:#]*?|'[^']*'|\"[^\"]*\"):(?:\s|$)")


@functools.cache
def _schema() -> dict:
    from edgespec.spec.schema import generate

    return generate()


def _resolve(node: dict) -> list[dict]:
    schema = _schema()
    while "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[1]]
    for union in ("anyOf", "oneOf"):  # oneOf: a mapping or a list of them (`source`)
        if union in node:
            return [b for n in node[union] for b in _resolve(n)]
    return [node]


def _child(nodes: list[dict], key: str) -> list[dict]:
    out = []
    for node in nodes:
        for branch in _resolve(node):
            if key in branch.get("properties", {}):
                out.append(branch["properties"][key])
            elif isinstance(branch.get("additionalProperties"), dict):
                out.append(branch["additionalProperties"])
    return out


def _order(nodes: list[dict]) -> list[str] | None:
    """Field order of the object these schema nodes describe (None for maps keyed by name)."""
    for node in nodes:
        for branch in _resolve(node):
            if "properties" in branch:
                return list(branch["properties"])
    return None


def _blocks(lines: list[str], indent: int) -> tuple[list[str], list[tuple[str, list[str]]], list[str]]:
    """Split a block mapping's lines into (head, [(key, block lines)], tail).

    A key's block starts with the comments and blank lines right above it and runs to the next
    key at the same indent; comments after the last key's content stay in the tail."""
    head: list[str] = []
    blocks: list[tuple[str, list[str]]] = []
    pending: list[str] = []
    for line in lines:
        m = _KEY.match(line)
        if m and len(m.group(1)) == indent:
            blocks.append((m.group(2).strip("'\""), [*pending, line]))
            pending = []
        elif not line.strip() or (line.lstrip().startswith("#") and len(line) - len(line.lstrip()) <= indent):
            pending.append(line)
        elif blocks:
            blocks[-1][1].extend([*pending, line])
            pending = []
        else:
            head.extend([*pending, line])
            pending = []
    return head, blocks, pending


def _reorder(lines: list[str], indent: int, nodes: list[dict]) -> list[str]:
    head, blocks, tail = _blocks(lines, indent)
    if indent == 0 and blocks:
        # the comments above the document's first key are the file's header (the modeline): they stay first
        key, block = blocks[0]
        first = next(i for i, line in enumerate(block) if _KEY.match(line))
        head, blocks[0] = head + block[:first], (key, block[first:])
    order = _order(nodes)
    if order is not None:
        rank = {k: i for i, k in enumerate(order)}
        blocks = sorted(blocks, key=lambda b: rank.get(b[0], len(rank)))  # stable: unknown keys keep their place
    out = list(head)
    for key, block in blocks:
        first = next(i for i, line in enumerate(block) if _KEY.match(line) and len(_KEY.match(line).group(1)) == indent)
        body = block[first + 1 :]
        deeper = [line for line in body if line.strip() and not line.lstrip().startswith("#")]
        child_indent = len(deeper[0]) - len(deeper[0].lstrip()) if deeper else None
        if child_indent is not None and child_indent > indent and _KEY.match(deeper[0]):
            body = _reorder(body, child_indent, _child(nodes, key))
        elif child_indent is not None and child_indent >= indent and deeper[0].lstrip().startswith("- "):
            body = _reorder_items(body, child_indent, _items(_child(nodes, key)))
        out.extend([*block[: first + 1], *body])
    return out + tail


def _items(nodes: list[dict]) -> list[dict]:
    """The schema of a list's items, for the nodes of a key whose value may be a list."""
    return [b["items"] for node in nodes for b in _resolve(node) if b.get("type") == "array" and "items" in b]


def _reorder_items(lines: list[str], indent: int, nodes: list[dict]) -> list[str]:
    """A block sequence at `indent` whose items are block mappings (`- uri: ...`): each item's keys
    in the order the spec language defines, as for any mapping. Scalar and flow items stay as they are."""
    head: list[str] = []
    items: list[list[str]] = []
    for line in lines:
        if line.startswith(" " * indent + "- "):
            items.append([line])
        elif items:
            items[-1].append(line)
        else:
            head.append(line)
    out = list(head)
    for item in items:
        rest = item[0][indent + 2 :]
        key_indent = indent + 2 + len(rest) - len(rest.lstrip())
        if not nodes or not _KEY.match(" " * key_indent + rest.lstrip()):
            out.extend(item)
            continue
        ordered = _reorder([" " * key_indent + rest.lstrip(), *item[1:]], key_indent, nodes)
        at = next(i for i, line in enumerate(ordered) if (m := _KEY.match(line)) and len(m.group(1)) == key_indent)
        ordered[at] = " " * indent + "- " + " " * (key_indent - indent - 2) + ordered[at][key_indent:]
        out.extend(ordered)
    return out


def _yaml():
    from ruamel.yaml import YAML

    y = YAML(typ="rt")
    y.indent(mapping=2, sequence=4, offset=2)
    y.width = 4096  # never re-wrap long lines
    y.preserve_quotes = False
    return y


def format_text(text: str) -> str:
    """The canonical form of a spec's text. Raises ruamel's errors on invalid YAML."""
    lines = text.replace("\r\n", "\n").split("\n")
    trailing_newline = lines and lines[-1] == ""
    if trailing_newline:
        lines = lines[:-1]
    reordered = "\n".join(_reorder(lines, 0, [_schema()])) + "\n"
    y = _yaml()
    data = y.load(reordered)
    out = io.StringIO()
    y.dump(data, out)
    return out.getvalue()
