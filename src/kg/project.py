"""Finding a kg project and reading its configuration (``kg.toml``).

A project is a folder holding ``kg.toml``; the CLI looks for the nearest one upward
from the working directory, as git does, so ``kg`` works from any sub-folder.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from kg.errors import InputError, UsageError

CONFIG_NAME = "kg.toml"
_STEM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class Project:
    """Paths and settings of one kg project, all resolved against its root."""

    root: Path
    name: str = "kg"
    base: str = "https://w3id.org/kg-diplo/id/"
    ontology: tuple[Path, ...] = ()
    shapes: tuple[Path, ...] = ()
    data_dirs: tuple[Path, ...] = ()
    queries_dir: Path = field(default_factory=Path)
    context: Path | None = None

    @classmethod
    def find(cls, start: Path | str | None = None) -> Project:
        """Load the project whose ``kg.toml`` is in *start* or the nearest folder above it."""
        here = Path(start or Path.cwd()).resolve()
        for folder in (here, *here.parents):
            if (folder / CONFIG_NAME).is_file():
                return cls.load(folder)
        raise UsageError(
            f"no {CONFIG_NAME} in {here} or any folder above it: run kg inside a kg project "
            f"or pass --project DIR (a folder holding {CONFIG_NAME})."
        )

    @classmethod
    def load(cls, root: Path | str) -> Project:
        """Read ``root/kg.toml``; every path in it is relative to *root*."""
        root = Path(root).resolve()
        path = root / CONFIG_NAME
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UsageError(f"{root} is not a kg project: it has no {CONFIG_NAME}.") from None
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"not valid TOML ({exc}); fix the file.", path=str(path)) from None
        cfg = raw.get("project", {})

        def paths(key: str, default: list[str]) -> tuple[Path, ...]:
            value = cfg.get(key, default)
            if isinstance(value, str):
                value = [value]
            return tuple(root / v for v in value)

        context = cfg.get("context")
        base = cfg.get("base", cls.base)
        if not re.fullmatch(r"https?://[^\s<>\"{}|^`\\]+[/#]", str(base)):
            raise InputError(
                f"base = {base!r} is not an http(s) IRI ending in '/' or '#'; fix it.",
                path=str(path),
            )
        return cls(
            root=root,
            name=cfg.get("name", root.name),
            base=base,
            ontology=paths("ontology", ["ontology/kg.ttl"]),
            shapes=paths("shapes", ["ontology/shapes.ttl"]),
            data_dirs=paths("data", ["data"]),
            queries_dir=root / cfg.get("queries", "queries"),
            context=root / context if context else None,
        )

    def data_files(self) -> list[Path]:
        """The source files, sorted so that loading order (and output) is deterministic."""
        files: list[Path] = []
        for folder in self.data_dirs:
            files.extend(sorted(folder.rglob("*.ttl")))
        return files

    def sources(self, paths: list[Path] | None = None) -> dict[str, Path]:
        """Source graph IRI -> file, for the data files (or *paths*): the graph of
        ``data/<stem>.ttl`` is ``<base><stem>``, so stems must be IRI-safe and unique."""
        files: dict[str, Path] = {}
        for path in paths if paths is not None else self.data_files():
            shown = self.relative(path)
            if not _STEM.match(path.stem):
                raise InputError(
                    "a source file name may hold only letters, digits, '.', '_' and '-', "
                    "because it becomes the IRI of the source; rename the file.",
                    path=shown,
                )
            name = self.base + path.stem
            if name in files:
                raise InputError(
                    f"two files share the stem {path.stem!r} (the other is "
                    f"{self.relative(files[name])}); rename one.",
                    path=shown,
                )
            files[name] = path
        return files

    def inputs(self) -> list[Path]:
        """Every file whose change changes the compiled graph."""
        return [*self.ontology, *self.shapes, *self.data_files(), self.root / CONFIG_NAME]

    def relative(self, path: Path) -> str:
        """*path* as shown to people: relative to the project root where possible."""
        try:
            return str(path.resolve().relative_to(self.root))
        except ValueError:
            return str(path)
