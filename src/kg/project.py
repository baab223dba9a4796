"""Finding a kg project and reading its configuration (``kg.toml``).

A project is a folder holding ``kg.toml``; the CLI looks for the nearest one upward
from the working directory, as git does, so ``kg`` works from any sub-folder.

The configuration is checked, not trusted: an unknown key or a value of the wrong type is
an error naming the key, and every configured path must lie inside the project once
symlinks are resolved (unless ``allow_outside_paths = true``), so a shared ``kg.toml``
cannot make kg read ``/etc/shadow`` or walk the whole file system.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kg.errors import InputError, UsageError, shown

CONFIG_NAME = "kg.toml"
_STEM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
DEFAULT_TIMEOUT = 60.0
DEFAULT_MEMORY_MIB = 4096

#: table -> key -> (accepted types, what to write), for messages that say what fits.
_SCHEMA: dict[str, dict[str, tuple[tuple[type, ...], str]]] = {
    "project": {
        "name": ((str,), "a string"),
        "base": ((str,), "an http(s) IRI ending in '/' or '#'"),
        "ontology": ((str, list), "a path or a list of paths"),
        "shapes": ((str, list), "a path or a list of paths"),
        "data": ((str, list), "a folder or a list of folders"),
        "queries": ((str,), "a folder"),
        "context": ((str,), "a path"),
        "allow_outside_paths": ((bool,), "true or false"),
    },
    "query": {
        "timeout": ((int, float), "a number of seconds, e.g. 60"),
        "memory_mib": ((int,), "a number of MiB, e.g. 4096"),
        "services": ((list,), "a list of endpoint IRIs SERVICE may call"),
    },
}


def is_source_name(name: str) -> bool:
    """Whether a file name under ``data/`` is a source: ``*.ttl`` in any case, but not a
    hidden file, an editor's lock or backup file (``.#x.ttl``, ``#x.ttl#``, ``x.ttl~``)."""
    return (
        name.lower().endswith(".ttl") and not name.startswith((".", "#")) and not name.endswith("~")
    )


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
    #: Seconds a query may run before kg stops it (``--timeout`` overrides).
    timeout: float = DEFAULT_TIMEOUT
    #: Memory a query may use, in MiB, before kg stops it.
    memory_mib: int = DEFAULT_MEMORY_MIB
    #: Endpoints a SPARQL ``SERVICE`` clause may call; none by default.
    services: tuple[str, ...] = ()
    allow_outside_paths: bool = False

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
        raw = _read_config(path, root)
        cfg, qcfg = raw.get("project", {}), raw.get("query", {})
        outside = cfg.get("allow_outside_paths", False)

        def inside(value: str, key: str) -> Path:
            full = root / value
            if not outside and not _within(full, root):
                raise InputError(
                    f"{key} = {shown(value)} lies outside the project ({root}); kg reads only "
                    "files inside it. Move the file in, or set allow_outside_paths = true "
                    "under [project] if you mean it.",
                    path=CONFIG_NAME,
                )
            return full

        def paths(key: str, default: list[str]) -> tuple[Path, ...]:
            value = cfg.get(key, default)
            items = [value] if isinstance(value, str) else value
            if not all(isinstance(v, str) for v in items):
                raise InputError(
                    f"{key} must be {_SCHEMA['project'][key][1]}; fix it.", path=CONFIG_NAME
                )
            return tuple(inside(v, key) for v in items)

        context = cfg.get("context")
        base = cfg.get("base", cls.base)
        if not re.fullmatch(r"https?://[^\s<>\"{}|^`\\]+[/#]", base):
            raise InputError(
                f"base = {shown(base)} is not an http(s) IRI ending in '/' or '#'; fix it.",
                path=CONFIG_NAME,
            )
        timeout = qcfg.get("timeout", DEFAULT_TIMEOUT)
        memory = qcfg.get("memory_mib", DEFAULT_MEMORY_MIB)
        services = qcfg.get("services", [])
        if isinstance(timeout, bool) or not 0 < timeout <= 86_400:
            raise InputError(
                "timeout under [query] must be a number of seconds between 0 and 86400.",
                path=CONFIG_NAME,
            )
        if isinstance(memory, bool) or not 64 <= memory <= 1 << 24:
            raise InputError(
                "memory_mib under [query] must be a number of MiB, at least 64.",
                path=CONFIG_NAME,
            )
        for service in services:
            if not isinstance(service, str) or not re.fullmatch(
                r"https?://[^\s<>\"{}|^`\\]+", service
            ):
                raise InputError(
                    f"services under [query] must list http(s) endpoint IRIs; "
                    f"{shown(str(service))} is not one.",
                    path=CONFIG_NAME,
                )
        return cls(
            root=root,
            name=cfg.get("name", root.name),
            base=base,
            ontology=paths("ontology", ["ontology/kg.ttl"]),
            shapes=paths("shapes", ["ontology/shapes.ttl"]),
            data_dirs=paths("data", ["data"]),
            queries_dir=inside(cfg.get("queries", "queries"), "queries"),
            context=inside(context, "context") if context else None,
            timeout=float(timeout),
            memory_mib=int(memory),
            services=tuple(services),
            allow_outside_paths=outside,
        )

    def data_files(self) -> list[Path]:
        """The source files, sorted so that loading order (and output) is deterministic.

        Nothing is skipped silently: a folder that cannot be read, a symlink that loops
        or leads nowhere, and anything named ``*.ttl`` that is not a regular file are
        errors naming the path; hidden files and editor lock and backup files are ignored
        (see :func:`is_source_name`). Symlinked folders are followed once.
        """
        files: list[Path] = []
        for folder in self.data_dirs:
            if not folder.exists():
                continue  # a project may have no data yet
            if not folder.is_dir():
                raise InputError(
                    "is not a folder; 'data' in kg.toml lists folders of Turtle files.",
                    path=self.relative(folder),
                )
            files.extend(self._walk(folder))
        return sorted(files)

    def _walk(self, folder: Path) -> list[Path]:
        found: list[Path] = []
        seen: set[tuple[int, int]] = set()

        def fail(error: OSError) -> None:
            where = self.relative(Path(error.filename)) if error.filename else "data"
            raise InputError(
                f"cannot read this folder ({error.strerror}); its sources would be left "
                "out. Fix its permissions, or move it out of data/.",
                path=where,
            )

        for top, dirs, names in os.walk(folder, onerror=fail, followlinks=True):
            st = os.stat(top)
            if (st.st_dev, st.st_ino) in seen:
                dirs[:] = []  # a symlink back up the tree: walked already
                continue
            seen.add((st.st_dev, st.st_ino))
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(names + [d for d in dirs if d.lower().endswith(".ttl")]):
                if not is_source_name(name):
                    continue
                path = Path(top) / name
                found.append(self._check_source(path))
            dirs[:] = [d for d in dirs if not d.lower().endswith(".ttl")]
        return found

    def _check_source(self, path: Path) -> Path:
        where = self.relative(path)
        try:
            st = path.stat()
        except OSError as exc:
            why = "a symlink that loops" if exc.errno == errno.ELOOP else exc.strerror
            raise InputError(
                f"cannot read this source ({why}); fix or remove it.", path=where
            ) from None
        if stat.S_ISDIR(st.st_mode):
            raise InputError(
                "is a folder named like a Turtle file; rename it (kg reads every *.ttl "
                "under data/ as a source).",
                path=where,
            )
        if not stat.S_ISREG(st.st_mode):
            raise InputError(
                "is not a regular file (a FIFO, socket or device); a source must be a "
                "Turtle file. Remove it from data/.",
                path=where,
            )
        if not os.access(path, os.R_OK):
            raise InputError(
                "cannot read this source (permission denied); its facts would be left "
                "out. Fix its permissions, or move it out of data/.",
                path=where,
            )
        if not self.allow_outside_paths and not _within(path, self.root):
            raise InputError(
                "is a symlink to a file outside the project; kg reads only files inside "
                "it. Copy the file in, or set allow_outside_paths = true in kg.toml.",
                path=where,
            )
        return path

    def sources(self, paths: list[Path] | None = None) -> dict[str, Path]:
        """Source graph IRI -> file, for the data files (or *paths*): the graph of
        ``data/<stem>.ttl`` is ``<base><stem>``, so stems must be IRI-safe and unique."""
        files: dict[str, Path] = {}
        for path in paths if paths is not None else self.data_files():
            where = self.relative(path)
            stem = path.name[:-4] if path.name.lower().endswith(".ttl") else path.stem
            if not _STEM.match(stem):
                raise InputError(
                    "a source file name may hold only letters, digits, '.', '_' and '-', "
                    "because it becomes the IRI of the source; rename the file.",
                    path=where,
                )
            name = self.base + stem
            if name in files:
                raise InputError(
                    f"two files share the stem {stem!r} (the other is "
                    f"{self.relative(files[name])}); rename one.",
                    path=where,
                )
            files[name] = path
        return files

    def inputs(self) -> list[Path]:
        """Every file whose change changes the compiled graph."""
        return [*self.ontology, *self.shapes, *self.data_files(), self.root / CONFIG_NAME]

    def relative(self, path: Path) -> str:
        """*path* as shown to people: relative to the project root where possible."""
        path = Path(path)
        try:
            return str(path.absolute().relative_to(self.root))
        except ValueError:
            pass
        try:
            return str(path.resolve().relative_to(self.root))
        except (ValueError, OSError, RuntimeError):
            return str(path)


def _within(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except (ValueError, OSError, RuntimeError):
        return False


def _read_config(path: Path, root: Path) -> dict[str, Any]:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise UsageError(f"{root} is not a kg project: it has no {CONFIG_NAME}.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read it ({exc}).", path=CONFIG_NAME) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML ({exc}); fix the file.", path=CONFIG_NAME) from None
    for table, value in raw.items():
        if table not in _SCHEMA:
            raise InputError(
                f"unknown table [{table}]; kg.toml has [project] and [query].", path=CONFIG_NAME
            )
        if not isinstance(value, dict):
            raise InputError(f"{table} must be a table ([{table}]).", path=CONFIG_NAME)
        for key, item in value.items():
            if key not in _SCHEMA[table]:
                known = ", ".join(_SCHEMA[table])
                raise InputError(
                    f"unknown key {shown(key)} under [{table}]; the keys are: {known}.",
                    path=CONFIG_NAME,
                )
            types, what = _SCHEMA[table][key]
            if not isinstance(item, types) or (isinstance(item, bool) and bool not in types):
                raise InputError(
                    f"{key} under [{table}] must be {what}, not {type(item).__name__} "
                    f"{shown(str(item), 40)}.",
                    path=CONFIG_NAME,
                )
    return raw
