"""Loading and validating question banks (YAML) with ``file:line`` errors.

A bank is a folder of ``*.yaml`` files; each file holds one item (a mapping) or a list of
items. ``builtin`` names the bank shipped in ``questions/bank/``. Every problem is
reported as ``file:line: message`` so an instructor can jump straight to it.

>>> bank = load_bank()
>>> bank.get("clip-positive-advantage").kind
'numeric'
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from questions.errors import AssessmentError, BankError
from questions.expr import Expression
from questions.models import ItemSpec, NumericItem
from questions.params import ParamSampler

__all__ = ["BUILTIN", "BUILTIN_DIR", "Bank", "BankItem", "load_bank", "scan_bank"]

BUILTIN = "builtin"
BUILTIN_DIR = Path(__file__).parent / "bank"
_ITEM = TypeAdapter(ItemSpec)
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: 15x faster


@dataclass(frozen=True)
class BankItem:
    """An item with where it was written."""

    spec: ItemSpec
    path: Path
    line: int

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass
class Bank:
    """Items by id, in load order."""

    items: dict[str, BankItem] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.items)

    def ids(self) -> list[str]:
        return list(self.items)

    def get(self, item_id: str) -> ItemSpec:
        try:
            return self.items[item_id].spec
        except KeyError:
            raise BankError(f"no item {item_id!r} in the bank") from None

    def select(self, item_ids: Sequence[str] | None) -> list[ItemSpec]:
        """The named items (in the given order), or all of them for ``None``."""
        if item_ids is None:
            return [b.spec for b in self.items.values()]
        seen: set[str] = set()
        for item_id in item_ids:
            if item_id in seen:
                raise BankError(f"item {item_id!r} is named twice")
            seen.add(item_id)
        return [self.get(i) for i in item_ids]


def load_bank(sources: Iterable[str | Path] | None = None) -> Bank:
    """Load banks (folders or files; ``builtin`` for the shipped one; default: builtin).

    Raises the first problem as a ``BankError``; ``scan_bank`` lists them all.
    """
    bank, problems = scan_bank(sources)
    if problems:
        raise problems[0]
    return bank


def scan_bank(sources: Iterable[str | Path] | None = None) -> tuple[Bank, list[AssessmentError]]:
    """Load what loads; return the bank and every problem found."""
    bank = Bank()
    problems: list[AssessmentError] = []
    for path in _files(sources, problems):
        for item in _load_file(path, problems):
            first = bank.items.get(item.spec.id)
            if first is not None:
                problems.append(
                    BankError(
                        f"duplicate item id {item.spec.id!r} (first at {first.where})",
                        path=str(item.path),
                        line=item.line,
                    )
                )
                continue
            bank.items[item.spec.id] = item
    return bank, problems


def _files(sources: Iterable[str | Path] | None, problems: list[AssessmentError]) -> list[Path]:
    paths: list[Path] = []
    for source in sources or [BUILTIN]:
        path = BUILTIN_DIR if str(source) == BUILTIN else Path(source)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml"))
            if not found:
                problems.append(BankError("no .yaml files in this folder", path=str(path)))
            paths.extend(found)
        elif path.is_file():
            paths.append(path)
        else:
            problems.append(BankError("no such bank file or folder", path=str(path)))
    return paths


def _load_file(path: Path, problems: list[AssessmentError]) -> list[BankItem]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(BankError(f"cannot read: {exc}", path=str(path)))
        return []
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            problems.append(BankError("the file is empty", path=str(path), line=1))
            return []
        dup = _duplicate_key(node)
        if dup is not None:
            problems.append(BankError(f"duplicate key {dup[0]!r}", path=str(path), line=dup[1]))
            return []
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        problems.append(BankError(f"invalid YAML: {reason}", path=str(path), line=line))
        return []
    finally:
        loader.dispose()
    if isinstance(data, dict):
        entries, nodes = [data], [node]
    elif isinstance(data, list):
        entries, nodes = data, list(node.value)
    else:
        problems.append(BankError("expected an item or a list of items", path=str(path), line=1))
        return []
    items = []
    for entry, entry_node in zip(entries, nodes, strict=True):
        line = entry_node.start_mark.line + 1
        try:
            spec = _ITEM.validate_python(entry)
        except ValidationError as exc:
            for err in exc.errors():
                where = _node_at(entry_node, err["loc"])
                problems.append(
                    BankError(_describe(entry, err), path=str(path), line=where.start_mark.line + 1)
                )
            continue
        problem = _check_expressions(spec, entry_node)
        if problem is not None:
            message, line_no = problem
            problems.append(BankError(f"item {spec.id!r}: {message}", path=str(path), line=line_no))
            continue
        items.append(BankItem(spec=spec, path=path, line=line))
    return items


def _check_expressions(spec: Any, node: yaml.Node) -> tuple[str, int] | None:
    """Parse every expression of an item and check the names it reads."""
    try:
        sampler = ParamSampler.build(spec.params, spec.derived, spec.constraints)
    except AssessmentError as exc:
        return exc.message, _line_of(node, ("constraints",)) or node.start_mark.line + 1
    if isinstance(spec, NumericItem):
        checks = [(("answer", "expr"), spec.answer.expr)]
        checks += [
            (("misconceptions", i, "expr"), m.expr) for i, m in enumerate(spec.misconceptions)
        ]
        for loc, source in checks:
            try:
                expr = Expression.parse(source)
                unknown = expr.names - sampler.names
                if unknown:
                    raise BankError(f"unknown name {sorted(unknown)[0]!r} in {source!r}")
            except AssessmentError as exc:
                return f"{'.'.join(map(str, loc))}: {exc.message}", _line_of(node, loc) or 0
    return None


def _describe(entry: Any, err: Any) -> str:
    item_id = entry.get("id") if isinstance(entry, dict) else None
    loc = [str(p) for p in err["loc"] if p not in ("essay", "multiple_choice", "numeric")]
    dotted = ".".join(loc)
    prefix = f"item {item_id!r}: " if isinstance(item_id, str) else ""
    kind = err["type"]
    if kind == "extra_forbidden":
        return f"{prefix}unknown field {dotted!r}"
    if kind == "missing":
        return f"{prefix}missing field {dotted!r}"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return f"{prefix}kind must be one of essay, multiple_choice, numeric"
    message = err["msg"].removeprefix("Value error, ")
    return f"{prefix}{dotted}: {message}" if dotted else f"{prefix}{message}"


def _node_at(node: yaml.Node, loc: Sequence[Any]) -> yaml.Node:
    """The deepest YAML node on the path ``loc`` (tags and unknown keys are skipped)."""
    for part in loc:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            node = next((v for k, v in node.value if k.value == part), node)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if 0 <= part < len(node.value):
                node = node.value[part]
    return node


def _line_of(node: yaml.Node, loc: Sequence[Any]) -> int | None:
    found = _node_at(node, loc)
    return found.start_mark.line + 1 if found is not node else None


def _duplicate_key(node: yaml.Node) -> tuple[str, int] | None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if key.value in seen:
                return str(key.value), key.start_mark.line + 1
            seen.add(key.value)
            found = _duplicate_key(value)
            if found:
                return found
    elif isinstance(node, yaml.SequenceNode):
        for child in node.value:
            found = _duplicate_key(child)
            if found:
                return found
    return None
