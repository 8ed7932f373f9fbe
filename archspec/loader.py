"""Finding and reading spec files: built-in names, YAML errors, `extends` and `include`.

Includes and bases are confined to allowed roots (the top spec's folder, the
built-in specs and any roots the caller adds), so a spec cannot read files from
elsewhere on the machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from archspec.errors import Collector, Diagnostic, SpecError, did_you_mean
from archspec.limits import LIMITS
from archspec.source import Pos, SDict, load_yaml


def _builtin_dir() -> Path:
    """The built-in zoo: top-level `specs/` of a source checkout (or editable install), which a
    wheel installs as `archspec/specs/` (pyproject.toml maps the package `archspec.specs` to it)."""
    package = Path(__file__).resolve().parent
    installed = package / "specs"
    return installed if installed.is_dir() else package.parent / "specs"


BUILTIN_DIR = _builtin_dir()
MERGED_KEYS = ("args", "blocks")  # merged key by key with a base; every other key replaces (but `reference`)


def builtin_names() -> list[str]:
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.yaml"))


def find_spec(spec: str | Path) -> Path:
    """A path, or the name of a built-in spec."""
    if "\0" in str(spec):
        raise SpecError(Diagnostic(f"a spec name or path cannot hold a NUL character: {str(spec)!r}"))
    path = Path(spec)
    if path.is_file():
        return path
    builtin = BUILTIN_DIR / f"{spec}.yaml"
    if not str(spec).endswith((".yaml", ".yml")) and builtin.is_file():
        return builtin
    raise SpecError(Diagnostic(f"no spec file or built-in spec named '{spec}'",
                               hint=did_you_mean(str(spec), builtin_names())))


@dataclass
class Source:
    """A spec merged with its bases, and the blocks of its includes."""

    raw: SDict
    path: Path
    blocks: dict[str, tuple[SDict, Pos | None]] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)

    def text(self) -> str:
        """All source text that defines the model, for hashing."""
        return "\n".join(p.read_text(encoding="utf-8") for p in self.files)


def read(path: Path, roots: list[Path] | None = None) -> Source:
    path = path.resolve()
    allowed = [path.parent, BUILTIN_DIR.resolve(), *(r.resolve() for r in roots or [])]
    errors = Collector()
    files: list[Path] = []
    raw = _with_bases(path, allowed, errors, files, ())
    errors.raise_if_any()
    src = Source(raw, path, files=files)
    _collect_blocks(src, raw, path, allowed, errors, set())
    errors.raise_if_any()
    return src


def parse_file(path: Path) -> SDict:
    """One YAML file as an SDict; syntax errors become diagnostics at their line."""
    text = read_text(path)
    try:
        data = load_yaml(text, str(path))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        pos = _in_text(text, path, mark) if mark else None
        problem = getattr(e, "problem", None) or str(e)
        context = getattr(e, "context", None) or ""
        cmark = getattr(e, "context_mark", None)
        notes = [(_in_text(text, path, cmark), context)] if cmark and context else []
        raise SpecError(Diagnostic(f"YAML syntax: {problem}", pos, notes=notes)) from None
    if not isinstance(data, SDict):
        raise SpecError(Diagnostic("a spec file must be a YAML mapping", Pos(str(path), 1, 1)))
    return data


def _in_text(text: str, path: Path, mark: yaml.Mark) -> Pos:
    """A YAML mark as a position inside the file: the end of the stream, past the last line
    break, is reported at the end of the last line."""
    lines = text.splitlines() or [""]
    if mark.line < len(lines):
        return Pos(str(path), mark.line + 1, min(mark.column, len(lines[mark.line])) + 1)
    return Pos(str(path), len(lines), len(lines[-1]) + 1)


def read_text(path: Path) -> str:
    """A spec, library or recipe file's text: a regular file within LIMITS.spec_bytes, UTF-8."""
    if not path.is_file():  # checked before opening: opening a pipe would wait for a writer
        raise SpecError(Diagnostic(f"cannot read {path}: not a regular file"))
    try:
        with open(path, "rb") as f:
            data = f.read(LIMITS.spec_bytes + 1)
    except OSError as e:
        raise SpecError(Diagnostic(f"cannot read {path}: {e.strerror or e}")) from None
    if len(data) > LIMITS.spec_bytes:
        raise SpecError(Diagnostic(f"{path} is larger than {LIMITS.spec_bytes:,} bytes (limit spec_bytes; "
                                   f"raise it with --limit spec_bytes=N)"))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise SpecError(Diagnostic(f"not UTF-8 text: byte {data[e.start]:#04x} cannot be decoded",
                                   Pos(str(path), line, e.start - data.rfind(b"\n", 0, e.start)))) from None


def _resolve(ref: str, base: Path, pos: Pos | None, allowed: list[Path], errors: Collector) -> Path | None:
    if "\0" in ref:
        errors.add(f"a path cannot hold a NUL character: {ref!r}", pos)
        return None
    target = (base.parent / ref).resolve() if not ref.startswith("builtin:") else (
        BUILTIN_DIR / ref.removeprefix("builtin:")).resolve()
    if not any(target.is_relative_to(root) for root in allowed):
        errors.add(f"'{ref}' is outside the allowed roots", pos,
                   hint="allowed: " + ", ".join(str(r) for r in allowed))
        return None
    if not target.is_file():
        errors.add(f"cannot find '{ref}' (looked at {target})", pos)
        return None
    return target


def _with_bases(path: Path, allowed: list[Path], errors: Collector, files: list[Path],
                chain: tuple[Path, ...]) -> SDict:
    raw = parse_file(path)
    files.append(path)
    base_ref = raw.get("extends")
    if not isinstance(base_ref, str):
        return raw
    pos = raw.at("extends")
    if path in chain:
        errors.add("'extends' forms a cycle", pos)
        return raw
    target = _resolve(base_ref, path, pos, allowed, errors)
    if target is None:
        return raw
    base = _with_bases(target, allowed, errors, files, (*chain, path))
    return _merge(base, raw)


def _merge(base: SDict, child: SDict) -> SDict:
    out = _over(base, child)
    for key in MERGED_KEYS:
        if isinstance(base.get(key), SDict) and isinstance(child.get(key), SDict):
            out[key] = _merge(base[key], child[key])
    if "reference" in base and "reference" in child:  # (a child's `reference: null` drops the base's)
        b, c = _model_map(base), _model_map(child)
        if b is not None and c is not None:
            out["reference"] = _merge_reference(b, c)
    out.pop("extends", None)
    return out


def _over(base: SDict, child: SDict) -> SDict:
    """The child's keys over the base's, positions kept."""
    out = SDict({**base, **child})
    out.pos = child.pos
    out.key_pos = {**base.key_pos, **child.key_pos}
    out.val_pos = {**base.val_pos, **child.val_pos}
    return out


def _model_map(spec: SDict) -> SDict | None:
    """A spec's `reference` as a mapping: `torchvision.x` is `{model: torchvision.x}`."""
    ref = spec["reference"]
    if isinstance(ref, SDict):
        return ref
    if not isinstance(ref, str):
        return None
    out, at = SDict(model=ref), spec.at("reference")
    out.pos, out.key_pos, out.val_pos = at, {}, {"model": at} if at else {}
    return out


def _merge_reference(base: SDict, child: SDict) -> SDict:
    """The child's `reference` over the base's, key by key, and `kwargs` key by key: a family
    library can hold the common kwargs and each member name its constructor."""
    out = _over(base, child)
    if isinstance(base.get("kwargs"), SDict) and isinstance(child.get("kwargs"), SDict):
        out["kwargs"] = _over(base["kwargs"], child["kwargs"])
    return out


def _collect_blocks(src: Source, raw: SDict, path: Path, allowed: list[Path], errors: Collector,
                    seen: set[Path]) -> None:
    """Blocks of included libraries first, so the including file's own blocks override them. Each
    library is read once: an include diamond (A includes B and C, both include D) costs one read
    of D, not one per path to it, which grows exponentially with the diamond's depth."""
    seen.add(path)
    includes = raw.get("include") or []
    if isinstance(includes, list):
        for i, ref in enumerate(includes):
            pos = includes.at(i) if hasattr(includes, "at") else raw.at("include")
            target = _resolve(str(ref), path, pos, allowed, errors)
            if target is None or target in seen:
                continue
            lib = parse_file(target)
            src.files.append(target)
            _collect_blocks(src, lib, target, allowed, errors, seen)
    blocks = raw.get("blocks")
    if isinstance(blocks, SDict):
        for name, body in blocks.items():
            src.blocks[name] = (body, blocks.key_pos.get(name))
