"""Remote store addresses and the credentials sent to them.

Credentials never come from the command line, where every user of the machine can read
them (``ps``) and the shell history keeps them: a URL holding ``user:password@`` is
refused. They come from the environment or from ``~/.netrc``, in this order:

- ``KG_TOKEN``: sent as ``Authorization: Bearer <token>``;
- ``KG_USER`` and ``KG_PASSWORD``: sent as HTTP Basic;
- the ``machine`` entry of ``~/.netrc`` (or of the file ``$NETRC`` names) for the
  endpoint's host name: its ``login`` and ``password``, sent as HTTP Basic.

They are sent with every request to that endpoint (pre-emptively: SPARQL servers ask
for them with a 401 on the first request otherwise). Use ``https`` for anything beyond
the local machine: Basic credentials travel in clear over ``http``.
"""

from __future__ import annotations

import base64
import netrc
import os
from pathlib import Path
from urllib.parse import urlsplit

from kg.errors import UsageError, shown

#: The environment variables read, documented in ``kg push --help`` and the README.
ENV_TOKEN, ENV_USER, ENV_PASSWORD = "KG_TOKEN", "KG_USER", "KG_PASSWORD"

CREDENTIALS_HELP = (
    f"set {ENV_USER} and {ENV_PASSWORD} (or {ENV_TOKEN} for a bearer token) in the "
    "environment, or add a 'machine HOST login USER password PASSWORD' line to ~/.netrc"
)


def check_url(url: str, option: str = "--endpoint") -> str:
    """*url* when it is an http(s) URL with a host and no credentials, else UsageError."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        raise UsageError(f"{option} {shown(url)} is not a valid URL ({exc}).") from None
    if any(c.isspace() or not c.isprintable() for c in url):
        raise UsageError(
            f"{option} {shown(url)} holds a space or a control character; write it as "
            "%20 (or leave it out)."
        )
    if parts.scheme.lower() not in ("http", "https"):
        raise UsageError(
            f"{option} {shown(url)} is not an http or https URL; give the endpoint's address, "
            "e.g. http://localhost:7878/query."
        )
    if parts.username is not None or parts.password is not None:
        raise UsageError(
            f"{option} holds credentials (user:password@); kg never takes them on the command "
            f"line, where other users and the shell history can read them: {CREDENTIALS_HELP}."
        )
    if not parts.hostname:
        raise UsageError(f"{option} {shown(url)} names no host; write e.g. http://localhost:7878.")
    if parts.fragment:
        raise UsageError(f"{option} {shown(url)} holds a '#' fragment; leave it out.")
    return url


def authorization(url: str) -> str | None:
    """The ``Authorization`` header value for *url*, or None when no credentials are set."""
    token = os.environ.get(ENV_TOKEN)
    if token:
        _check_sendable(ENV_TOKEN, token)
        return f"Bearer {token}"
    user, password = os.environ.get(ENV_USER), os.environ.get(ENV_PASSWORD)
    if user or password:
        if not (user and password):
            missing = ENV_PASSWORD if user else ENV_USER
            raise UsageError(
                f"{ENV_USER} and {ENV_PASSWORD} go together, and {missing} is not set; set "
                f"both, or neither to use ~/.netrc."
            )
        return _basic(user, password)
    found = _from_netrc(urlsplit(url).hostname or "")
    return _basic(*found) if found else None


def _check_sendable(name: str, value: str) -> None:
    """Refuse a token an HTTP header cannot carry (a line break pasted with it, a letter
    outside ASCII), naming the variable but never showing the value: messages end up in
    logs. (User and password go base64-encoded: anything goes.)"""
    if not all("!" <= c <= "~" for c in value):
        raise UsageError(
            f"{name} holds a space, a line break or a character outside ASCII, which a "
            "bearer token cannot hold; set it again as the server gave it."
        )


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def _from_netrc(host: str) -> tuple[str, str] | None:
    """(login, password) of *host* in $NETRC or ~/.netrc; None when there is no file or
    no entry (a 'default' entry counts, as for curl and ftp)."""
    path = Path(os.environ.get("NETRC") or Path.home() / ".netrc")
    if not path.is_file():
        return None
    try:
        entry = netrc.netrc(str(path)).authenticators(host)
    except netrc.NetrcParseError as exc:
        # not str(exc): it quotes the word it stumbled on, which may be a password
        raise UsageError(
            f"cannot read the credentials in {path}: line {exc.lineno} is not in the form "
            "'machine HOST login USER password PASSWORD' (the line is not shown: it may "
            f"hold a password). Fix the file, or set {ENV_USER}/{ENV_PASSWORD} in the "
            "environment."
        ) from None
    except OSError as exc:
        raise UsageError(
            f"cannot read the credentials in {path}: {exc.strerror or exc}. Fix the file, "
            f"or set {ENV_USER}/{ENV_PASSWORD} in the environment."
        ) from None
    if entry is None:
        return None
    login, _account, password = entry
    return (login, password or "") if login else None
