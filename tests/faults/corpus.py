"""A deterministic corpus of damaged Turtle files, generated from the shipped data.

kg reads Turtle that analysts receive from other people: files cut short by a download,
saved in the wrong encoding, edited on another system, written by careless or hostile
tools. Each :class:`Case` is one such file. The corpus is generated at test time (from
``data/*.ttl`` and small synthetic files, with a fixed seed) rather than stored, so it
costs nothing in the repository and follows the data when the data changes.

Every case must give exit 0 (still valid Turtle), 1 (SHACL violations) or 2 (unusable
input, with a message naming the file), never 3 or a hang; a case may narrow that down
(:attr:`Case.expect`, :attr:`Case.same_as`).
"""

from __future__ import annotations

import gzip
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SEED = 20261129
ANY = (0, 1, 2)
REFUSED = (2,)
READ = (0, 1)  # valid Turtle: it conforms or it does not
BIG = 17 << 20  # past Oxigraph's 16 MiB buffer for one term

PREFIXES = b"""@prefix kg: <https://w3id.org/kg-diplo/ontology#> .
@prefix ex: <https://w3id.org/kg-diplo/id/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""
#: A small source file that describes itself and conforms to the shapes.
DESCRIBED = b"""<> a kg:WebPage ; rdfs:label "Synthetic"@en ; kg:title "Synthetic"@en ;
   kg:author ex:nato ; kg:publisher ex:nato ; kg:datePublished "2025-02-02"^^xsd:date .
ex:nato a kg:InternationalOrganisation ; rdfs:label "NATO"@en .
"""
SYNTHETIC = PREFIXES + DESCRIBED
#: A statement to damage, after the description: ``{}`` is replaced by the damage.
STATEMENT = b'ex:nato rdfs:comment "{}"@en .\n'


@dataclass(frozen=True)
class Case:
    """One damaged file: *data* is written as ``<stem>.ttl`` in a folder of its own."""

    name: str  # unique, readable: "<kind>-<what>"
    kind: str
    stem: str  # a shipped file's stem when derived from it, so that it still describes itself
    data: bytes
    #: The exit codes this case may give.
    expect: tuple[int, ...] = ANY
    #: The stem of the shipped file whose exit code this case must give (same meaning).
    same_as: str | None = None
    #: Whether the reference loader (rdflib) must accept or refuse it as Oxigraph does.
    engines_agree: bool = True
    #: Part of the sample that gets a full ``kg build`` in a copied project.
    build: bool = False


#: The shipped sources the corpus is made from: named, so that a user's own sources in
#: data/ neither change the corpus nor its size (which the README states).
SHIPPED = (
    "caliber-az-2025-azerbaijan-nato",
    "ref-azerbaijan-mfa-nato",
    "ref-nacc-statement-1991",
    "ref-nato-press-release-2008-ipap",
    "ref-nato-ruge-biography",
    "ref-nato-statement-2021-12-04",
    "ref-nato-topics-49111",
    "ref-trend-2024-06-26",
    "ref-wikidata-ids",
    "x-jafarhuseynzade-2025-01-31",
)


def shipped() -> dict[str, bytes]:
    """The shipped data files, stem -> bytes, in a stable order. The Wikidata links moved
    to an SSSOM mapping set (data/wikidata-links.sssom.tsv); their former Turtle file is
    kept beside this module as test data, so that the corpus (and its size) stay as they
    were."""
    return {
        stem: (
            Path(__file__).with_name(f"{stem}.ttl")
            if stem == "ref-wikidata-ids"
            else ROOT / "data" / f"{stem}.ttl"
        ).read_bytes()
        for stem in SHIPPED
    }


def cases(seed: int = SEED) -> list[Case]:
    """The whole corpus, the same for the same seed and data."""
    files = shipped()
    found = [
        *_originals(files),
        *_byte_damage(files, seed),
        *_truncations(files, seed),
        *_span_damage(files, seed),
        *_encodings(files),
        *_nul_bytes(files),
        *_huge(),
        *_deep(),
        *_bad_iris(),
        *_relative_iris(),
        *_bases(files),
        *_prefixes(files),
        *_boms(files),
        *_line_ends(files),
        *_undescribed(files),
        *_empty(),
        *_hostile(),
        *_other_formats(),
        *_literals(),
    ]
    names = [c.name for c in found]
    assert len(names) == len(set(names)), "case names must be unique"
    return found


def write(case: Case, folder: Path) -> Path:
    """Write *case* as ``folder/<name>/<stem>.ttl``; return the file's path."""
    path = folder / case.name / f"{case.stem}.ttl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(case.data)
    return path


# -- the kinds of damage ------------------------------------------------------------------


def _originals(files: dict[str, bytes]) -> Iterator[Case]:
    """The shipped files as they are: the baseline the other cases are compared with."""
    for stem, data in files.items():
        yield Case(f"original-{stem}", "original", stem, data, expect=READ)


def _byte_damage(files: dict[str, bytes], seed: int) -> Iterator[Case]:
    """Bytes replaced, inserted or deleted at random places (a disk or transfer error)."""
    for stem, data in files.items():
        rng = random.Random(f"{seed}-bytes-{stem}")
        for n in range(6):
            damaged = bytearray(data)
            for _ in range(rng.randint(1, 3)):
                at = rng.randrange(len(damaged))
                how = rng.choice(("replace", "replace", "insert", "delete"))
                if how == "replace":
                    damaged[at] = (damaged[at] + rng.randrange(1, 256)) % 256
                elif how == "insert":
                    damaged.insert(at, rng.randrange(256))
                else:
                    del damaged[at]
            sample = n == 0 and stem.startswith("caliber")
            yield Case(f"flip-{stem}-{n}", "byte flip", stem, bytes(damaged), build=sample)


def _truncations(files: dict[str, bytes], seed: int) -> Iterator[Case]:
    """Files cut at a random point (an interrupted download or copy)."""
    for stem, data in files.items():
        rng = random.Random(f"{seed}-cut-{stem}")
        for n in range(4):
            cut = rng.randrange(1, len(data))
            sample = n == 0 and stem.startswith("caliber")
            yield Case(f"cut-{stem}-{n}", "truncation", stem, data[:cut], build=sample)


def _span_damage(files: dict[str, bytes], seed: int) -> Iterator[Case]:
    """A run of bytes lost, repeated or overwritten with zeros (a bad block, a bad merge)."""
    for stem, data in files.items():
        rng = random.Random(f"{seed}-span-{stem}")
        at = rng.randrange(len(data))
        size = rng.randint(1, 200)
        yield Case(f"lost-{stem}", "span lost", stem, data[:at] + data[at + size :])
        yield Case(f"repeated-{stem}", "span repeated", stem, data[: at + size] + data[at:])
        if stem.startswith("ref-n"):
            zeros = data[:at] + b"\0" * size + data[at + size :]
            yield Case(f"zeroed-{stem}", "span zeroed", stem, zeros, expect=REFUSED)


def _encodings(files: dict[str, bytes]) -> Iterator[Case]:
    """Text that is not UTF-8: another encoding, or bytes that no encoder writes."""
    text = files["x-jafarhuseynzade-2025-01-31"].decode("utf-8")
    latin = text.replace("…", "\xe9").encode("latin-1")
    yield Case("utf8-latin1", "encoding", "x-jafarhuseynzade-2025-01-31", latin, REFUSED)
    yield Case("utf8-utf16", "encoding", "synthetic", SYNTHETIC.decode().encode("utf-16"), REFUSED)
    yield Case(
        "utf8-utf16-no-bom",
        "encoding",
        "synthetic",
        SYNTHETIC.decode().encode("utf-16-le"),
        REFUSED,
    )
    yield Case("utf8-utf32", "encoding", "synthetic", SYNTHETIC.decode().encode("utf-32"), REFUSED)
    cp1252 = SYNTHETIC + STATEMENT.replace(b"{}", "\u201cquoted\u201d".encode("cp1252"))
    yield Case("utf8-cp1252", "encoding", "synthetic", cp1252, REFUSED, build=True)
    bad = {
        "ff": b"\xff",
        "lone-continuation": b"\x80",
        "overlong": b"\xc0\xaf",
        "surrogate": b"\xed\xa0\x80",
        "beyond-unicode": b"\xf4\x90\x80\x80",
        "cut-sequence": b"\xe2\x82",
    }
    for what, raw in bad.items():
        in_literal = SYNTHETIC + STATEMENT.replace(b"{}", b"a" + raw + b"b")
        yield Case(f"utf8-{what}-literal", "encoding", "synthetic", in_literal, REFUSED)
    yield Case("utf8-in-comment", "encoding", "synthetic", SYNTHETIC + b"# caf\xe9\n", REFUSED)
    yield Case(
        "utf8-in-iri", "encoding", "synthetic", SYNTHETIC + b"ex:a a <urn:x\xff> .\n", REFUSED
    )
    yield Case("utf8-at-end", "encoding", "synthetic", SYNTHETIC + b"\xe2\x82", REFUSED)
    # a file cut inside a multi-byte character
    cut = text.encode("utf-8").index("…".encode()) + 1
    yield Case(
        "utf8-cut-in-character",
        "encoding",
        "x-jafarhuseynzade-2025-01-31",
        text.encode("utf-8")[:cut],
        REFUSED,
    )


def _nul_bytes(files: dict[str, bytes]) -> Iterator[Case]:
    """NUL bytes: in a literal (which Turtle allows but no text editor writes), between
    tokens, in a comment, and the zero padding of a download that stopped short."""
    nato = files["ref-nato-ruge-biography"]
    places = {
        "literal": SYNTHETIC + STATEMENT.replace(b"{}", b"a\0b"),
        "comment": SYNTHETIC + b"# a\0b\n",
        "between": SYNTHETIC + b"ex:a \0 a kg:State .\n",
        "start": b"\0" + SYNTHETIC,
        "end": SYNTHETIC + b"\0",
    }
    for what, data in places.items():
        yield Case(f"nul-{what}", "nul", "synthetic", data, REFUSED, build=what == "literal")
    padded = nato[: len(nato) // 2] + b"\0" * 4096
    yield Case("nul-padding", "nul", "ref-nato-ruge-biography", padded, REFUSED)


def _huge() -> Iterator[Case]:
    """One term over 16 MiB: a literal on one line, and a long string over many lines."""
    literal = SYNTHETIC + STATEMENT.replace(b"{}", b"a" * BIG)
    yield Case(
        "huge-literal", "huge", "synthetic", literal, REFUSED, engines_agree=False, build=True
    )
    lines = (b"x" * 79 + b"\n") * (BIG // 80 + 1)
    long = SYNTHETIC + b'ex:nato rdfs:comment """' + lines + b'"""@en .\n'
    yield Case("huge-long-string", "huge", "synthetic", long, REFUSED, engines_agree=False)


def _deep() -> Iterator[Case]:
    """Blank nodes and collections nested 10,000 deep (valid Turtle; a stack killer for
    recursive parsers), closed, unclosed and mismatched."""
    depth = 10_000
    bnodes = b"[ rdfs:comment " * depth + b'"x"' + b" ]" * depth
    items = b"( " * depth + b'"x"' + b" )" * depth
    mixed = b"[ rdfs:seeAlso ( " * (depth // 2) + b'"x"' + b" ) ]" * (depth // 2)
    for what, nest in {"bnodes": bnodes, "collections": items, "mixed": mixed}.items():
        data = SYNTHETIC + b"ex:nato rdfs:seeAlso " + nest + b" .\n"
        # rdflib's parser recurses and runs out of stack; Oxigraph's does not
        yield Case(
            f"deep-{what}",
            "deep nesting",
            "synthetic",
            data,
            READ,
            engines_agree=False,
            build=what == "bnodes",
        )
    subject = SYNTHETIC + b"[ rdfs:comment " * depth + b'"x"' + b" ]" * depth + b" .\n"
    yield Case("deep-subject", "deep nesting", "synthetic", subject, READ, engines_agree=False)
    unclosed = SYNTHETIC + b"ex:nato rdfs:seeAlso " + b"[ rdfs:comment " * depth + b'"x" .\n'
    yield Case("deep-unclosed-bnodes", "deep nesting", "synthetic", unclosed, REFUSED)
    open_items = SYNTHETIC + b"ex:nato rdfs:seeAlso " + b"( " * depth + b'"x" .\n'
    yield Case("deep-unclosed-collections", "deep nesting", "synthetic", open_items, REFUSED)
    crossed = SYNTHETIC + b"ex:nato rdfs:seeAlso " + b"[ rdfs:comment ( " * 100 + b"1 ] ) .\n"
    yield Case("deep-crossed", "deep nesting", "synthetic", crossed, REFUSED)


def _bad_iris() -> Iterator[Case]:
    """IRIs holding what an IRI may not hold, written raw, escaped, or through a prefix."""
    iris = {
        "space": b"<https://example.org/a b>",
        "lt": b"<https://example.org/a<b>",
        "quote": b'<https://example.org/a"b>',
        "brace": b"<https://example.org/a{b}>",
        "pipe": b"<https://example.org/a|b>",
        "backslash": b"<https://example.org/a\\b>",
        "caret": b"<https://example.org/a^b>",
        "tab": b"<https://example.org/a\tb>",
        "newline": b"<https://example.org/a\nb>",
        "escape-sequence": b"<https://example.org/\x1b[31mred\x1b[0m>",
        "del": b"<https://example.org/a\x7fb>",
        "c1-control": "<https://example.org/a\x85b>".encode(),
        "uchar-space": b"<https://example.org/a\\u0020b>",
        "uchar-gt": b"<https://example.org/a\\u003Eb>",
        "uchar-escape": b"<https://example.org/\\u001B[2J>",
    }
    for what, iri in iris.items():
        data = SYNTHETIC + b"ex:nato rdfs:seeAlso " + iri + b" .\n"
        yield Case(f"iri-{what}", "bad IRI", "synthetic", data, REFUSED)
    prefix = PREFIXES + b"@prefix bad: <https://example.org/a b#> .\n" + DESCRIBED
    yield Case("iri-bad-prefix", "bad IRI", "synthetic", prefix + b"bad:x a kg:State .\n", REFUSED)
    datatype = SYNTHETIC + b'ex:nato rdfs:comment "x"^^<https://example.org/a b> .\n'
    yield Case("iri-bad-datatype", "bad IRI", "synthetic", datatype, REFUSED)
    unclosed = SYNTHETIC + b"ex:nato rdfs:seeAlso <https://example.org/a .\n"
    yield Case("iri-unclosed", "bad IRI", "synthetic", unclosed, REFUSED)


def _relative_iris() -> Iterator[Case]:
    """Relative IRIs: resolved against the source's IRI, as Turtle says."""
    refs = {
        "sibling": b"<other>",
        "parent": b"<../up>",
        "fragment": b"<#part>",
        "query": b"<?q=1>",
        "network-path": b"<//example.org/x>",
        "dots": b"<./a/../b>",
        "empty": b"<>",
    }
    for what, ref in refs.items():
        data = SYNTHETIC + b"ex:nato rdfs:seeAlso " + ref + b" .\n"
        yield Case(f"relative-{what}", "relative IRI", "synthetic", data, READ)
    predicate = SYNTHETIC + b'ex:nato <#note> "x" .\n'
    yield Case("relative-predicate", "relative IRI", "synthetic", predicate, READ)
    datatype = SYNTHETIC + b'ex:nato rdfs:comment "x"^^<#type> .\n'
    yield Case("relative-datatype", "relative IRI", "synthetic", datatype, READ)


def _bases(files: dict[str, bytes]) -> Iterator[Case]:
    """``@base`` and ``BASE`` games: the meaning of ``<>`` moves under the reader's feet."""
    later = SYNTHETIC + b'@base <https://example.org/other/> .\n<> rdfs:comment "moved" .\n'
    yield Case("base-changed-after", "base", "synthetic", later, READ, build=True)
    before = PREFIXES + b"@base <https://example.org/other/> .\n" + DESCRIBED
    yield Case("base-changed-before", "base", "synthetic", before, REFUSED)  # <> is elsewhere
    bases = {
        "relative": b"@base <sub/> .\n",
        "relative-chain": b"@base <a/b/> .\n@base <../c/> .\n",
        "fragment": b"@base <https://w3id.org/kg-diplo/id/synthetic#part> .\n",
        "sparql": b"BASE <https://w3id.org/kg-diplo/id/synthetic>\n",
        "sparql-lower": b"base <https://w3id.org/kg-diplo/id/synthetic>\n",
        "same": b"@base <https://w3id.org/kg-diplo/id/synthetic> .\n",
        "empty": b"@base <> .\n",
        "query": b"@base <?x=1> .\n",
        "urn": b"@base <urn:kg:x> .\n",
    }
    for what, directive in bases.items():
        data = PREFIXES + directive + DESCRIBED
        # rdflib keeps the base's fragment when it resolves <> (RFC 3986 drops it, as
        # Oxigraph does), so <> is not the source and rdflib refuses the file
        agree = what != "fragment"
        yield Case(f"base-{what}", "base", "synthetic", data, engines_agree=agree)
    fragment = SYNTHETIC + b"@base <https://example.org/page#part> .\n<#x> a kg:State .\n"
    yield Case("base-fragment-relative", "base", "synthetic", fragment, engines_agree=False)
    broken = {
        "no-dot": b"@base <https://example.org/>\n",
        "sparql-dot": b"BASE <https://example.org/> .\n",
        "upper-at": b"@BASE <https://example.org/> .\n",
        "no-iri": b"@base .\n",
        "prefixed": b"@base ex:x .\n",
        "bad-iri": b"@base <https://example.org/a b/> .\n",
    }
    for what, directive in broken.items():
        data = PREFIXES + directive + DESCRIBED
        # rdflib takes a prefixed name after @base: a laxity of the reference engine
        agree = what != "prefixed"
        yield Case(f"base-{what}", "base", "synthetic", data, REFUSED, engines_agree=agree)
    stem = "ref-nato-topics-49111"
    text = files[stem]
    middle = text.index(b"\n\n") + 1
    data = text[:middle] + b"@base <https://example.org/elsewhere/> .\n" + text[middle:]
    yield Case(f"base-inserted-{stem}", "base", stem, data, same_as=stem)


def _prefixes(files: dict[str, bytes]) -> Iterator[Case]:
    """Prefixes redeclared, undeclared, or declared wrongly."""
    stem = "ref-trend-2024-06-26"
    text = files[stem]
    at = len(text) // 2
    at = text.index(b"\n\n", at) + 1 if b"\n\n" in text[at:] else len(text)
    moved = b"@prefix ex: <https://example.org/moved/> .\n"
    yield Case(
        f"prefix-redeclared-{stem}", "prefix", stem, text[:at] + moved + text[at:], build=True
    )
    kg = b"@prefix kg: <https://example.org/not-kg#> .\n"
    yield Case(f"prefix-kg-redeclared-{stem}", "prefix", stem, text[:at] + kg + text[at:])
    same = b"@prefix ex: <https://w3id.org/kg-diplo/id/> .\n"
    yield Case(f"prefix-same-again-{stem}", "prefix", stem, text[:at] + same + text[at:])
    both = b"PREFIX ex: <https://example.org/one/>\n@prefix ex: <https://example.org/two/> .\n"
    yield Case("prefix-sparql-and-turtle", "prefix", "synthetic", both + SYNTHETIC)
    empty = SYNTHETIC + b"@prefix : <https://example.org/empty#> .\n:a a kg:State .\n"
    yield Case("prefix-empty-name", "prefix", "synthetic", empty)
    relative = SYNTHETIC + b"@prefix rel: <local#> .\nrel:a a kg:State .\n"
    yield Case("prefix-relative", "prefix", "synthetic", relative)
    broken = {
        "undeclared": SYNTHETIC + b"nope:a a kg:State .\n",
        "no-colon": SYNTHETIC + b"@prefix ex <https://example.org/> .\n",
        "no-dot": b"@prefix zz: <https://example.org/>\n" + SYNTHETIC,
        "bad-name": SYNTHETIC + b"@prefix 1x: <https://example.org/> .\n",
        "removed": SYNTHETIC.replace(b"@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n", b""),
    }
    for what, data in broken.items():
        yield Case(f"prefix-{what}", "prefix", "synthetic", data, REFUSED)


def _boms(files: dict[str, bytes]) -> Iterator[Case]:
    """UTF-8 byte-order marks: at the start (accepted, as editors write them), twice, or
    in the middle (a file pasted after another)."""
    bom = b"\xef\xbb\xbf"
    for stem in (
        "caliber-az-2025-azerbaijan-nato",
        "ref-nacc-statement-1991",
        "x-jafarhuseynzade-2025-01-31",
    ):
        yield Case(
            f"bom-{stem}",
            "BOM",
            stem,
            bom + files[stem],
            same_as=stem,
            build=stem.startswith("caliber"),
        )
    yield Case("bom-synthetic", "BOM", "synthetic", bom + SYNTHETIC, (0,))
    crlf = bom + SYNTHETIC.replace(b"\n", b"\r\n")
    yield Case("bom-crlf", "BOM", "synthetic", crlf, (0,))
    yield Case("bom-only", "BOM", "synthetic", bom, REFUSED)
    yield Case("bom-twice", "BOM", "synthetic", bom + bom + SYNTHETIC, REFUSED)
    yield Case("bom-middle", "BOM", "synthetic", SYNTHETIC + bom + b"ex:a a kg:State .\n", REFUSED)


def _line_ends(files: dict[str, bytes]) -> Iterator[Case]:
    """Windows (CRLF) and old Mac (CR) line ends, and a mix of all three."""
    for stem in ("caliber-az-2025-azerbaijan-nato", "ref-wikidata-ids", "ref-trend-2024-06-26"):
        crlf = files[stem].replace(b"\n", b"\r\n")
        yield Case(
            f"crlf-{stem}", "CRLF", stem, crlf, same_as=stem, build=stem.startswith("caliber")
        )
    stem = "ref-nato-statement-2021-12-04"
    yield Case(f"cr-{stem}", "CR", stem, files[stem].replace(b"\n", b"\r"), same_as=stem)
    lines = files[stem].split(b"\n")
    mixed = b"".join(line + (b"\n", b"\r\n", b"\r")[i % 3] for i, line in enumerate(lines))
    yield Case(f"mixed-line-ends-{stem}", "CRLF", stem, mixed, same_as=stem)
    long = SYNTHETIC + b'ex:nato rdfs:comment """one\r\ntwo\rthree\n"""@en .\n'
    yield Case("crlf-long-string", "CRLF", "synthetic", long.replace(b".\n", b".\r\n"), (0,))


def _undescribed(files: dict[str, bytes]) -> Iterator[Case]:
    """Files that do not say what their source is (kg requires ``<> a kg:...``)."""
    stem = "ref-nacc-statement-1991"
    text = files[stem]
    untyped = text.replace(f"ex:{stem} a kg:WebPage ;".encode(), f"ex:{stem}".encode())
    assert untyped != text
    yield Case(f"undescribed-{stem}", "undescribed", stem, untyped, REFUSED, build=True)
    other = SYNTHETIC.replace(b"<> a kg:WebPage", b"ex:some-other-page a kg:WebPage")
    yield Case("undescribed-other-iri", "undescribed", "synthetic", other, REFUSED)
    label_only = PREFIXES + b'<> rdfs:label "A page"@en .\n'
    yield Case("undescribed-label-only", "undescribed", "synthetic", label_only, REFUSED)
    renamed = files["ref-nato-ruge-biography"]
    yield Case("undescribed-renamed-file", "undescribed", "renamed", renamed, REFUSED)
    yield Case("undescribed-prefixes-only", "undescribed", "synthetic", PREFIXES, REFUSED)


def _empty() -> Iterator[Case]:
    """Files with nothing in them, or only what a parser skips."""
    nothing = {
        "file": b"",
        "spaces": b"   ",
        "whitespace": b" \t\n\r\n \n",
        "newlines": b"\n" * 10_000,
        "comments": b"# nothing here\n# still nothing\n",
    }
    for what, data in nothing.items():
        yield Case(f"empty-{what}", "empty", "synthetic", data, REFUSED, build=what == "file")
    yield Case("empty-form-feed", "empty", "synthetic", b"\x0c\x0b\n", REFUSED)


def _hostile() -> Iterator[Case]:
    """Text meant to reach the reader's terminal, or to flood it, through kg's messages."""
    osc = b"\x1b]0;owned\x07\x1b[2J"
    yield Case("hostile-escape-token", "hostile", "synthetic", SYNTHETIC + osc + b" .\n", REFUSED)
    yield Case(
        "hostile-escape-comment", "hostile", "synthetic", SYNTHETIC + b"# " + osc + b"\n", READ
    )
    literal = SYNTHETIC + STATEMENT.replace(b"{}", osc.replace(b"\x07", b""))
    yield Case("hostile-escape-literal", "hostile", "synthetic", literal, READ)
    bidi = SYNTHETIC + STATEMENT.replace(b"{}", "abc\u202edcba\u2066".encode())
    yield Case("hostile-bidi-literal", "hostile", "synthetic", bidi, READ)
    flood = SYNTHETIC + b"q" * 1_000_000 + b":a a kg:State .\n"
    yield Case("hostile-long-undeclared-prefix", "hostile", "synthetic", flood, REFUSED)
    long_iri = SYNTHETIC + b"ex:nato rdfs:seeAlso <https://example.org/" + b"a" * 1_000_000
    yield Case("hostile-long-bad-iri", "hostile", "synthetic", long_iri + b" b> .\n", REFUSED)
    line = SYNTHETIC + b"ex:nato rdfs:comment " + b'"a" , ' * 20_000 + b'"b" .\n'
    yield Case("hostile-long-line", "hostile", "synthetic", line, READ)
    nonsense = SYNTHETIC + osc * 1000 + b"\n"
    yield Case("hostile-escape-flood", "hostile", "synthetic", nonsense, REFUSED)


def _other_formats() -> Iterator[Case]:
    """Files saved with a .ttl name that hold something else, or a sibling syntax."""
    html = b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head></html>\n"
    jsonld = b'{"@context": {"ex": "https://w3id.org/kg-diplo/id/"}, "@id": "ex:a"}\n'
    others = {
        "html": html,
        "json-ld": jsonld,
        "gzip": gzip.compress(SYNTHETIC, mtime=0),
        "xml": b'<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="urn:x"/>\n',
        "sparql": b"SELECT * WHERE { ?s ?p ?o }\n",
        "trig": PREFIXES + b"ex:g { " + DESCRIBED.replace(b" .\nex:nato", b" . ex:nato") + b"}\n",
        "n3-rule": SYNTHETIC + b"{ ?x a kg:State } => { ?x a kg:Agent } .\n",
        "n3-formula": SYNTHETIC + b"ex:a ex:says { ex:b ex:c ex:d } .\n",
    }
    for what, data in others.items():
        yield Case(f"format-{what}", "other format", "synthetic", data, REFUSED)
    ntriples = (
        b"<https://w3id.org/kg-diplo/id/synthetic> "
        b"<http://www.w3.org/1999/02/22-rdf-syntax-ns#type> "
        b"<https://w3id.org/kg-diplo/ontology#WebPage> .\n"
    )
    yield Case("format-n-triples", "other format", "synthetic", ntriples, READ)


def _literals() -> Iterator[Case]:
    """Literals that are well-formed Turtle with wrong values, or not well-formed."""
    values = {
        "bad-date": b'ex:nato kg:foundingDate "1949-13-45"^^xsd:date .\n',
        "bad-year": b'ex:nato kg:foundingDate "nineteen"^^xsd:gYear .\n',
        "long-integer": b"ex:nato rdfs:comment " + b"9" * 10_000 + b" .\n",
        "escaped-control": b'ex:nato rdfs:comment "\\u0007\\u001B[2J"@en .\n',
        "control-in-violation": b'ex:nato kg:foundingDate "\\u001B]0;owned\\u0007"^^xsd:date .\n',
    }
    for what, statement in values.items():
        # Python refuses to convert integers over 4,300 digits, so rdflib refuses the file
        agree = what != "long-integer"
        data = SYNTHETIC + statement
        yield Case(f"literal-{what}", "literal", "synthetic", data, READ, engines_agree=agree)
    broken = {
        "bad-language": b'ex:nato rdfs:comment "x"@123 .\n',
        "surrogate-escape": b'ex:nato rdfs:comment "\\uD800" .\n',
        "beyond-unicode-escape": b'ex:nato rdfs:comment "\\U0011FFFF" .\n',
        "no-datatype": b'ex:nato rdfs:comment "x"^^ .\n',
        "unterminated": b'ex:nato rdfs:comment "x .\n',
        "unterminated-long": b'ex:nato rdfs:comment """x .\n',
        "newline-in-short": b'ex:nato rdfs:comment "x\ny" .\n',
        "bad-number": b"ex:nato rdfs:comment 1.2.3 .\n",
        "bad-escape": b'ex:nato rdfs:comment "\\q" .\n',
    }
    for what, statement in broken.items():
        # rdflib reads "1.2.3" as 1.2 followed by .3: a laxity of the reference engine
        agree = what != "bad-number"
        data = SYNTHETIC + statement
        yield Case(f"literal-{what}", "literal", "synthetic", data, REFUSED, engines_agree=agree)
