"""Reading kg.toml and checking its tables and values.

The configuration is checked, not trusted: an unknown table or key, or a value of the
wrong type, is an error naming it. Nothing in it may hold a control or bidi character,
lists are capped, every IRI must be one the engine accepts, and the file itself must be
a regular file: reading a FIFO waits for a writer, for ever. Whether a configured path
lies inside the project is checked by :class:`kg.project.Project`, which knows the root.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kg.errors import InputError, UsageError, shown

CONFIG_NAME = "kg.toml"
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
#: An http(s) IRI as kg.toml may give one (no space or character IRIs forbid).
_HTTP_IRI = re.compile(r"https?://[^\s<>\"{}|^`\\]+")
#: C0 and C1 controls, DEL, bidi controls (which make text read other than it is) and lone
#: surrogates: none belongs in a path or an IRI, and each crashed kg or garbled a terminal.
_CONTROL = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
NOT_REGULAR = "is not a regular file (a FIFO, device or folder)"


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
    "serve": {
        "host": ((str,), 'an address to listen on, e.g. "127.0.0.1"'),
        "port": ((int,), "a port number from 0 to 65535, e.g. 7878"),
        "workers": ((int,), "a number of query worker processes, e.g. 2"),
        "queue": ((int,), "a number of requests that may wait for a worker, e.g. 16"),
        "max_rows": ((int,), "a number of rows, e.g. 10000"),
        "max_request_bytes": ((int,), "a number of bytes, e.g. 65536"),
        "cors": ((list,), 'a list of origins, e.g. ["https://example.org"]'),
        "access_log": ((str,), "a path (the JSON-lines access log)"),
        "cache_mib": ((int, float), "a number of MiB of answers to keep, e.g. 64 (0: none)"),
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


def read_config(path: Path, root: Path) -> dict[str, Any]:
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
                "[vocabulary], [wikidata] and [serve].",
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


def path_list(value: str | list[Any], key: str) -> list[str]:
    """A ``[project]`` key naming paths (``ontology``, ``shapes``, ``data``) as a list of
    strings: it holds one path or a list of them."""
    items = [value] if isinstance(value, str) else value
    _check_length(items, key)
    if not all(isinstance(v, str) for v in items):
        raise InputError(f"{key} must be {_SCHEMA['project'][key][1]}; fix it.", path=CONFIG_NAME)
    return items


def check_base(base: str) -> None:
    """Refuse a ``base`` that is not an http(s) IRI ending in '/' or '#'."""
    check_text(base, "base")
    if not re.fullmatch(r"https?://[^\s<>\"{}|^`\\]+[/#]", base):
        raise InputError(
            f"base = {shown(base)} is not an http(s) IRI ending in '/' or '#'; fix it.",
            path=CONFIG_NAME,
        )
    _check_iri(base, "base")


def query_config(table: dict[str, Any]) -> tuple[float, int, tuple[str, ...]]:
    """The ``[query]`` table checked: the timeout in seconds, the memory limit in MiB and
    the endpoints SERVICE may call."""
    timeout = table.get("timeout", DEFAULT_TIMEOUT)
    memory = table.get("memory_mib", DEFAULT_MEMORY_MIB)
    services = table.get("services", [])
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
    _check_iri_list(services, "services", "services under [query] must list http(s) endpoint IRIs")
    return float(timeout), int(memory), tuple(services)


def vocabulary_allow(table: dict[str, Any]) -> tuple[str, ...]:
    """The ``[vocabulary]`` table's ``allow`` checked: http(s) IRIs of terms, or of
    namespaces ending in '#' or '/'."""
    allow = table.get("allow", [])
    _check_iri_list(
        allow,
        "allow",
        "allow under [vocabulary] must list http(s) IRIs of terms, or namespace IRIs "
        "ending in '#' or '/'",
    )
    return tuple(allow)


def _check_iri_list(values: Any, key: str, rule: str) -> None:
    """Refuse a list under *key* that is too long or holds anything but http(s) IRIs
    free of control characters; *rule* says what the list must hold."""
    _check_length(values, key)
    for value in values:
        if isinstance(value, str):
            check_text(value, key)
        if not isinstance(value, str) or not _HTTP_IRI.fullmatch(value):
            raise InputError(f"{rule}; {shown(str(value))} is not one.", path=CONFIG_NAME)
        _check_iri(value, key)


def wikidata_config(table: dict[str, Any]) -> WikidataConfig:
    """The ``[wikidata]`` table checked: endpoints are http(s) IRIs, the scores lie in
    0..1, and nothing holds a control character (types are checked by the schema)."""
    config = WikidataConfig(**table)
    for key in ("contact", "api", "sparql", "queue"):
        check_text(getattr(config, key), key)
    for key in ("api", "sparql"):
        value = getattr(config, key)
        if not _HTTP_IRI.fullmatch(value):
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


@dataclass(frozen=True)
class ServeConfig:
    """kg.toml's ``[serve]`` table: how ``kg serve`` listens and what it allows."""

    host: str = "127.0.0.1"
    port: int = 7878
    workers: int = 0  # 0: the number of CPUs plus one
    #: Requests that may wait for a busy worker; beyond them, 503 with Retry-After.
    queue: int = 16
    #: Rows (or triples) a /sparql answer may hold; beyond them it is cut (X-KG-Truncated).
    max_rows: int = 10_000
    max_request_bytes: int = 65_536
    cors: tuple[str, ...] = ()
    access_log: str = ""
    #: MiB of rendered answers ``kg serve`` keeps by ETag; 0 turns the cache off.
    cache_mib: float = 64.0


def serve_config(table: dict[str, Any]) -> ServeConfig:
    """The ``[serve]`` table checked: numbers in range, origins that are origins."""
    limits = {
        "port": (0, 65_535),
        "workers": (0, 256),
        "queue": (0, 100_000),
        "max_rows": (1, 100_000_000),
        "max_request_bytes": (1_024, 1 << 30),
        "cache_mib": (0, 1 << 20),
    }
    for key, (low, high) in limits.items():
        value = table.get(key)
        if value is not None and (isinstance(value, bool) or not low <= value <= high):
            raise InputError(
                f"{key} under [serve] must be a number from {low:,} to {high:,}, not {value}.",
                path=CONFIG_NAME,
            )
    for key in ("host", "access_log"):
        if key in table:
            check_text(table[key], key)
    cors = table.get("cors", [])
    _check_length(cors, "cors")
    for origin in cors:
        if not isinstance(origin, str) or not re.fullmatch(r"https?://[^\s/<>\"{}|^`\\]+", origin):
            raise InputError(
                f"cors under [serve] must list origins (scheme://host[:port], no path); "
                f"{shown(str(origin))} is not one.",
                path=CONFIG_NAME,
            )
    return ServeConfig(**{**table, "cors": tuple(cors)})


def check_text(value: str, key: str) -> None:
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
            raise refuse(f"{NOT_REGULAR}; kg reads only regular files here.")
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
