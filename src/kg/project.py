"""Finding a kg project and reading its configuration (``kg.toml``).

A project is a folder holding ``kg.toml``; the CLI looks for the nearest one upward
from the working directory, as git does, so ``kg`` works from any sub-folder.

The configuration is checked, not trusted: an unknown key or a value of the wrong type is
an error naming the key, and every configured path must lie inside the project once
symlinks are resolved (unless ``allow_outside_paths = true``), so a shared ``kg.toml``
cannot make kg read ``/etc/shadow`` or walk the whole file system. Nothing in it may
hold a control or bidi character, lists are capped, and every file it names (this one
included) must be a regular file: reading a FIFO waits for a writer, for ever.
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
#: kg.toml is a few lines; a bigger file is a mistake, and reading it whole would cost memory.
MAX_CONFIG_BYTES = 1 << 20
#: Entries a list in kg.toml may hold: each path is resolved and walked, so 200,000 copies
#: of ``"data"`` ran for minutes before this cap.
MAX_LIST = 1_000
#: Characters a configured path or IRI may hold (Linux's PATH_MAX): longer ones fail in
#: the file system with ENAMETOOLONG anyway, later and less clearly.
MAX_CHARS = 4_096
#: C0 and C1 controls, DEL, bidi controls (which make text read other than it is) and lone
#: surrogates: none belongs in a path or an IRI, and each crashed kg or garbled a terminal.
_CONTROL = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_NOT_REGULAR = "is not a regular file (a FIFO, device or folder)"


@dataclass(frozen=True)
class WikidataConfig:
    """kg.toml's ``[wikidata]`` table: where and how ``kg link`` asks a Wikibase."""

    #: Who runs kg (an e-mail address or a web page), sent in the User-Agent: Wikimedia
    #: throttles or bans clients that do not say who they are. Online use needs it.
    contact: str = ""
    api: str = "https://www.wikidata.org/w/api.php"
    sparql: str = "https://query.wikidata.org/sparql"
    #: The review queue (an SSSOM file of candidates), relative to the project; keep it
    #: outside the data folders, so that candidates are never loaded as links.
    queue: str = "links/queue.sssom.tsv"
    #: A candidate is accepted only with a score of at least this...
    min_score: float = 0.95
    #: ...and at least this far ahead of the runner-up.
    margin: float = 0.1


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
    "vocabulary": {
        "allow": ((list,), "a list of IRIs, or namespace IRIs ending in '#' or '/'"),
    },
    "wikidata": {
        "contact": ((str,), "a string: an e-mail address or web page where you can be reached"),
        "api": ((str,), "the http(s) IRI of a Wikibase action API (api.php)"),
        "sparql": ((str,), "the http(s) IRI of a SPARQL endpoint"),
        "queue": ((str,), "a path (the review queue, an SSSOM file)"),
        "min_score": ((int, float), "a number from 0 to 1, e.g. 0.95"),
        "margin": ((int, float), "a number from 0 to 1, e.g. 0.1"),
    },
}


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
        raw = _read_config(path, root)
        cfg, qcfg = raw.get("project", {}), raw.get("query", {})
        outside = cfg.get("allow_outside_paths", False)

        def inside(value: str, key: str) -> Path:
            _check_text(value, key)
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
            _check_length(items, key)
            if not all(isinstance(v, str) for v in items):
                raise InputError(
                    f"{key} must be {_SCHEMA['project'][key][1]}; fix it.", path=CONFIG_NAME
                )
            return tuple(inside(v, key) for v in items)

        context = cfg.get("context")
        base = cfg.get("base", cls.base)
        _check_text(base, "base")
        if not re.fullmatch(r"https?://[^\s<>\"{}|^`\\]+[/#]", base):
            raise InputError(
                f"base = {shown(base)} is not an http(s) IRI ending in '/' or '#'; fix it.",
                path=CONFIG_NAME,
            )
        _check_iri(base, "base")
        _check_text(cfg.get("name", ""), "name")
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
                "memory_mib under [query] must be a number of MiB from 64 to 16777216.",
                path=CONFIG_NAME,
            )
        _check_length(services, "services")
        for service in services:
            if isinstance(service, str):
                _check_text(service, "services")
            if not isinstance(service, str) or not re.fullmatch(
                r"https?://[^\s<>\"{}|^`\\]+", service
            ):
                raise InputError(
                    f"services under [query] must list http(s) endpoint IRIs; "
                    f"{shown(str(service))} is not one.",
                    path=CONFIG_NAME,
                )
            _check_iri(service, "services")
        allow = raw.get("vocabulary", {}).get("allow", [])
        _check_length(allow, "allow")
        for term in allow:
            if isinstance(term, str):
                _check_text(term, "allow")
            if not isinstance(term, str) or not re.fullmatch(r"https?://[^\s<>\"{}|^`\\]+", term):
                raise InputError(
                    f"allow under [vocabulary] must list http(s) IRIs of terms, or namespace "
                    f"IRIs ending in '#' or '/'; {shown(str(term))} is not one.",
                    path=CONFIG_NAME,
                )
            _check_iri(term, "allow")
        wikidata = _wikidata_config(raw.get("wikidata", {}))
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
            timeout=float(timeout),
            memory_mib=int(memory),
            services=tuple(services),
            allow_outside_paths=outside,
            vocabulary_allow=tuple(allow),
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
                    f"{_NOT_REGULAR}; {key} in kg.toml must name a file.",
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


def _wikidata_config(table: dict[str, Any]) -> WikidataConfig:
    """The ``[wikidata]`` table checked: endpoints are http(s) IRIs, the scores lie in
    0..1, and nothing holds a control character (types are checked by the schema)."""
    config = WikidataConfig(**table)
    for key in ("contact", "api", "sparql", "queue"):
        _check_text(getattr(config, key), key)
    for key in ("api", "sparql"):
        value = getattr(config, key)
        if not re.fullmatch(r"https?://[^\s<>\"{}|^`\\]+", value):
            raise InputError(
                f"{key} under [wikidata] must be an http(s) IRI; {shown(value)} is not one.",
                path=CONFIG_NAME,
            )
        _check_iri(value, key)
    for key in ("min_score", "margin"):
        value = getattr(config, key)
        if not 0 <= value <= 1:
            raise InputError(
                f"{key} under [wikidata] must be a number from 0 to 1, not {value}.",
                path=CONFIG_NAME,
            )
    if not config.queue:
        raise InputError("queue under [wikidata] must name a file.", path=CONFIG_NAME)
    return WikidataConfig(
        contact=config.contact.strip(),
        api=config.api,
        sparql=config.sparql,
        queue=config.queue,
        min_score=float(config.min_score),
        margin=float(config.margin),
    )


def _stat(path: Path) -> os.stat_result | None:
    """The status of the file *path* leads to, or None if there is none."""
    try:
        return os.stat(path)
    except (OSError, ValueError):
        return None


def _check_text(value: str, key: str) -> None:
    """Refuse a configured path or IRI holding a control or bidi character, or too long.

    Such a value passed the old checks (``\\s`` does not match ESC) and failed later:
    Oxigraph refused the IRI mid-build (exit 3), a NUL made the path unusable, and a
    bidi override makes a path read as another in every message that shows it."""
    match = _CONTROL.search(value)
    if match:
        raise InputError(
            f"{key} = {shown(value)} holds a control or bidi character "
            f"(U+{ord(match.group()):04X}), which no path or IRI in kg.toml may hold; "
            "remove it.",
            path=CONFIG_NAME,
        )
    if len(value) > MAX_CHARS:
        raise InputError(
            f"{key} = {shown(value)} is longer than {MAX_CHARS:,} characters; no path or "
            "IRI in kg.toml may be.",
            path=CONFIG_NAME,
        )


def _plain(name: str) -> str:
    """A table name as written, or quoted and escaped by :func:`shown` when it holds
    anything a terminal would act on or is too long to show whole."""
    return name if len(name) <= 60 and not _CONTROL.search(name) else shown(name)


def _check_length(items: list[Any], key: str) -> None:
    if len(items) > MAX_LIST:
        raise InputError(
            f"{key} lists {len(items):,} entries; kg.toml's lists hold at most {MAX_LIST:,}.",
            path=CONFIG_NAME,
        )


def _check_iri(iri: str, key: str) -> None:
    """Refuse an IRI the engine would refuse (``%zz``, a bad host): found at start-up,
    not when a build or a SERVICE call first uses it."""
    from kg.resolve import check_iri

    try:
        check_iri(iri)
    except UsageError as exc:
        raise InputError(f"{key}: {exc} Fix it.", path=CONFIG_NAME) from None


def read_regular(path: Path, limit: int, *, shown_as: str) -> bytes:
    """The bytes of *path*, which must be a regular file of at most *limit* bytes.

    Opening a FIFO waits for a writer, for ever, so the file is checked with
    :func:`os.stat` before it is opened, then opened non-blocking and checked again on
    the open descriptor (a file swapped for a FIFO in between cannot block either).
    :class:`FileNotFoundError` passes through, for the caller to say what is missing;
    every other failure is an :class:`InputError` naming *shown_as*.
    """

    def refuse(why: str) -> InputError:
        return InputError(why, path=shown_as)

    def check(st: os.stat_result) -> None:
        if not stat.S_ISREG(st.st_mode):
            raise refuse(f"{_NOT_REGULAR}; kg reads only regular files here.")
        if st.st_size > limit:
            raise refuse(f"is larger than {limit:,} bytes ({st.st_size:,}); kg refuses it.")

    try:
        check(os.stat(path))
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise
    except OSError as exc:
        why = "a symlink that loops" if exc.errno == errno.ELOOP else exc.strerror
        raise refuse(f"cannot read it ({why}).") from None
    try:
        check(os.fstat(fd))
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise refuse(f"cannot read it ({exc.strerror}).") from None
    finally:
        os.close(fd)
    if size > limit:  # it grew since it was checked
        raise refuse(f"is larger than {limit:,} bytes; kg refuses it.")
    return b"".join(chunks)


def _within(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except (ValueError, OSError, RuntimeError):
        return False


def _read_config(path: Path, root: Path) -> dict[str, Any]:
    """kg.toml parsed and its tables and keys checked against :data:`_SCHEMA`.

    Whatever goes wrong while reading it is an :class:`InputError` naming it: tomllib
    raises more than TOMLDecodeError (RecursionError for arrays nested thousands deep,
    ValueError for a number of more than 4,300 digits), and those were exit 3.
    """
    try:
        data = read_regular(path, MAX_CONFIG_BYTES, shown_as=CONFIG_NAME)
    except FileNotFoundError:
        raise UsageError(f"{root} is not a kg project: it has no {CONFIG_NAME}.") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"is not UTF-8 text (an invalid byte at offset {exc.start:,}); save it as UTF-8.",
            path=CONFIG_NAME,
        ) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML ({exc}); fix the file.", path=CONFIG_NAME) from None
    except RecursionError:
        raise InputError(
            "not valid TOML for kg (arrays or tables nested too deeply); fix the file.",
            path=CONFIG_NAME,
        ) from None
    except Exception as exc:  # any failure of the parser is the file's
        raise InputError(
            f"not valid TOML ({type(exc).__name__}: {shown(str(exc), 120)}); fix the file.",
            path=CONFIG_NAME,
        ) from None
    for table, value in raw.items():
        if table not in _SCHEMA:
            raise InputError(
                f"unknown table [{_plain(table)}]; kg.toml has [project], [query], "
                "[vocabulary] and [wikidata].",
                path=CONFIG_NAME,
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
