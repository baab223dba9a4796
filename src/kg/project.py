"""Finding a kg project: its paths, its sources and the paths kg must not write over.

A project is a folder holding ``kg.toml``; the CLI looks for the nearest one upward
from the working directory, as git does, so ``kg`` works from any sub-folder.

The configuration is read and checked by :mod:`kg.config`; this module adds that every
configured path must lie inside the project once symlinks are resolved (unless
``allow_outside_paths = true``), so a shared ``kg.toml`` cannot make kg read
``/etc/shadow`` or walk the whole file system, and that every file it names must be a
regular file: reading a FIFO waits for a writer, for ever. The public names of
:mod:`kg.config` that kg imported from here (``CONFIG_NAME``, ``WikidataConfig``,
``read_regular``...) are re-exported, so ``from kg.project import ...`` still works.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from kg.config import (
    CONFIG_NAME,
    DEFAULT_MEMORY_MIB,
    DEFAULT_TIMEOUT,
    MAX_CHARS,
    MAX_CONFIG_BYTES,
    MAX_LIST,
    NOT_REGULAR,
    WikidataConfig,
    check_base,
    check_text,
    path_list,
    query_config,
    read_config,
    read_regular,
    vocabulary_allow,
    wikidata_config,
)
from kg.errors import InputError, UsageError, shown

__all__ = [
    "CONFIG_NAME",
    "DEFAULT_MEMORY_MIB",
    "DEFAULT_TIMEOUT",
    "MAX_CHARS",
    "MAX_CONFIG_BYTES",
    "MAX_LIST",
    "SOURCE_SUFFIXES",
    "Project",
    "WikidataConfig",
    "is_source_name",
    "read_regular",
    "source_stem",
]

_STEM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


#: What a source file's name ends with (in any case): Turtle, or an SSSOM mapping set.
SOURCE_SUFFIXES = (".ttl", ".sssom.tsv")


def is_source_name(name: str) -> bool:
    """Whether a file name under ``data/`` is a source: ``*.ttl`` or ``*.sssom.tsv`` (an
    SSSOM mapping set, see :mod:`kg.sssom`) in any case, but not a hidden file, an
    editor's lock or backup file (``.#x.ttl``, ``#x.ttl#``, ``x.ttl~``)."""
    return (
        name.lower().endswith(SOURCE_SUFFIXES)
        and not name.startswith((".", "#"))
        and not name.endswith("~")
    )


def source_stem(name: str) -> str:
    """The stem of a source file's name: without ``.ttl`` or ``.sssom.tsv``."""
    lower = name.lower()
    for suffix in SOURCE_SUFFIXES:
        if lower.endswith(suffix):
            return name[: -len(suffix)]
    return name.rsplit(".", 1)[0] if "." in name else name


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
    #: Terms of other vocabularies sources may use beyond those the ontology names: IRIs,
    #: or namespaces (ending in '#' or '/') whose every term is allowed (see kg.vocab).
    vocabulary_allow: tuple[str, ...] = ()
    #: The ``[wikidata]`` table (see :class:`WikidataConfig`).
    wikidata: WikidataConfig = field(default_factory=WikidataConfig)

    @classmethod
    def find(cls, start: Path | str | None = None) -> Project:
        """Load the project whose ``kg.toml`` is in *start* or the nearest folder above it.

        Any ``kg.toml`` counts, not only a regular file: a FIFO or folder by that name is
        refused by :meth:`load` rather than passed over for a project further up."""
        here = Path(start or Path.cwd()).resolve()
        for folder in (here, *here.parents):
            if os.path.exists(folder / CONFIG_NAME):
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
        raw = read_config(path, root)
        cfg = raw.get("project", {})
        outside = cfg.get("allow_outside_paths", False)

        def inside(value: str, key: str) -> Path:
            check_text(value, key)
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
            return tuple(inside(v, key) for v in path_list(cfg.get(key, default), key))

        context = cfg.get("context")
        base = cfg.get("base", cls.base)
        check_base(base)
        check_text(cfg.get("name", ""), "name")
        timeout, memory, services = query_config(raw.get("query", {}))
        allow = vocabulary_allow(raw.get("vocabulary", {}))
        wikidata = wikidata_config(raw.get("wikidata", {}))
        inside(wikidata.queue, "queue")
        project = cls(
            root=root,
            name=cfg.get("name", root.name),
            base=base,
            ontology=paths("ontology", ["ontology/kg.ttl"]),
            shapes=paths("shapes", ["ontology/shapes.ttl"]),
            data_dirs=paths("data", ["data"]),
            queries_dir=inside(cfg.get("queries", "queries"), "queries"),
            context=inside(context, "context") if context else None,
            timeout=timeout,
            memory_mib=memory,
            services=services,
            allow_outside_paths=outside,
            vocabulary_allow=allow,
            wikidata=wikidata,
        )
        project.check_files()
        return project

    def check_files(self) -> None:
        """Refuse a configured ontology, shapes or context file that exists but is not a
        regular file: kg would wait for ever to read a FIFO, and a folder or device is a
        mistake in kg.toml. A missing file is left to its reader, which says "file not
        found" when (and only if) it needs the file."""
        named = [("ontology", p) for p in self.ontology] + [("shapes", p) for p in self.shapes]
        if self.context is not None:
            named.append(("context", self.context))
        for key, path in named:
            try:
                st = os.stat(path)
            except OSError as exc:
                if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                    continue
                why = "a symlink that loops" if exc.errno == errno.ELOOP else exc.strerror
                raise InputError(
                    f"cannot read it ({why}); check {key} in kg.toml.", path=self.relative(path)
                ) from None
            if not stat.S_ISREG(st.st_mode):
                raise InputError(
                    f"{NOT_REGULAR}; {key} in kg.toml must name a file.",
                    path=self.relative(path),
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
            try:
                st = os.stat(folder)
            except OSError as exc:
                if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                    continue  # a project may have no data yet
                why = "a symlink that loops" if exc.errno == errno.ELOOP else exc.strerror
                raise InputError(
                    f"cannot read this folder ({why}); check 'data' in kg.toml.",
                    path=self.relative(folder),
                ) from None
            if not stat.S_ISDIR(st.st_mode):
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
            for name in sorted(names + [d for d in dirs if d.lower().endswith(SOURCE_SUFFIXES)]):
                if not is_source_name(name):
                    continue
                path = Path(top) / name
                found.append(self._check_source(path))
            dirs[:] = [d for d in dirs if not d.lower().endswith(SOURCE_SUFFIXES)]
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
        ``data/<stem>.ttl`` (or ``data/<stem>.sssom.tsv``) is ``<base><stem>``, so stems
        must be IRI-safe and unique."""
        files: dict[str, Path] = {}
        for path in paths if paths is not None else self.data_files():
            where = self.relative(path)
            stem = source_stem(path.name)
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
        """Every file whose change changes the compiled graph (checked again here, as a
        long-lived program may see an ontology replaced by a FIFO after it started)."""
        self.check_files()
        return [*self.ontology, *self.shapes, *self.data_files(), self.root / CONFIG_NAME]

    def protected(self, path: Path | str, *, sources: bool = True) -> str | None:
        """Why an output must not be written to *path*, or None when it may be.

        ``kg export -o`` and ``kg context -o`` replace the file they are given; written
        over kg.toml, an ontology or shapes file, a source under the data folders or
        kg's state in ``.kg/``, they would destroy what the project is made of. Paths are
        compared once symlinks are resolved, and existing files also by identity (device
        and inode), so a symlink, a hard link or ``..`` from elsewhere is caught too. The
        context file is allowed: writing it is what ``kg context -o`` is for. A source
        that does not exist yet is not protected (there is nothing to destroy); with
        *sources* false no source is (``kg generate -o data/x.ttl`` regenerates one).
        Stored queries are protected too.
        """
        try:
            target = Path(os.path.realpath(Path(path)))
        except (OSError, ValueError):  # no file can have this name (a NUL byte)
            return None
        found = _stat(target)
        identity = (found.st_dev, found.st_ino) if found else None

        def same(other: Path) -> bool:
            if target == Path(os.path.realpath(other)):
                return True
            st = _stat(other)
            return identity is not None and st is not None and identity == (st.st_dev, st.st_ino)

        if same(self.root / CONFIG_NAME):
            return f"it is the project's configuration ({CONFIG_NAME})"
        for key, files in (("an ontology file", self.ontology), ("a shapes file", self.shapes)):
            for file in files:
                if same(file):
                    return f"it is {key} named in {CONFIG_NAME} ({self.relative(file)})"
        state = Path(os.path.realpath(self.root / ".kg"))
        if target == state or state in target.parents:
            return "it is under .kg/, where kg keeps its store and state"
        queries = Path(os.path.realpath(self.queries_dir))
        if queries in target.parents and target.suffix == ".rq":
            return f"it is a stored query ({self.relative(target)})"
        if not sources or found is None or not stat.S_ISREG(found.st_mode):
            return None
        try:
            sources = self.data_files()
        except InputError:  # a data folder kg cannot walk: judge by the path alone
            sources = [
                target
                for folder in self.data_dirs
                if is_source_name(target.name) and Path(os.path.realpath(folder)) in target.parents
            ]
        for source in sources:
            if same(source):
                return f"it is a source under the data folders ({self.relative(source)})"
        return None

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


def _stat(path: Path) -> os.stat_result | None:
    """The status of the file *path* leads to, or None if there is none."""
    try:
        return os.stat(path)
    except (OSError, ValueError):
        return None


def _within(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except (ValueError, OSError, RuntimeError):
        return False
