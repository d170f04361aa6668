"""A real OpenID provider for tests, and a browser-like driver for its pages.

The provider is panva's ``oidc-provider`` on Node.js (``tests/oidc/provider.mjs``), started on
127.0.0.1 by :func:`oidc_provider`. It requires PKCE (S256), puts ``email``/``name`` claims in
the ID token and offers RP-initiated logout. Its login page accepts an account's ``sub`` or
``email``; the password is checked only when the account has one.

Usage::

    client = OidcClient("app", "secret", redirect_uris=["http://testserver/auth/callback"])
    account = OidcAccount("u1", "anna@example.org", name="Anna")
    with oidc_provider([client], [account]) as provider, httpx2.Client() as browser:
        # the app under test redirects to provider.metadata["authorization_endpoint"]
        callback_url = sign_in_at_provider(browser, authorization_url, login="anna@example.org")
        # ... hand callback_url (redirect_uri?code=...&state=...) to the app

The ``browser`` must be a real ``httpx2.Client``: Starlette's TestClient sends every request to
the app, whatever the host, so it cannot reach the provider.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import httpx2

OIDC_DIR = Path(__file__).resolve().parent / "oidc"
_STAMP_NAME = ".priemnaya-install-stamp"
_INSTALL_TIMEOUT = 600.0
_MAX_PAGES = 20


class OidcProviderError(RuntimeError):
    """The provider could not be installed or started."""


class ProviderPageError(RuntimeError):
    """The provider showed a page the driver cannot get past (an error page, a refused login)."""

    def __init__(self, message: str, *, url: str, status_code: int, text: str) -> None:
        super().__init__(f"{message} at {url} (HTTP {status_code}): {text}")
        self.url = url
        self.status_code = status_code
        self.text = text


@dataclass
class OidcClient:
    """A relying party registered at the provider (oidc-provider client metadata)."""

    client_id: str
    client_secret: str
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str] = field(default_factory=list)
    token_endpoint_auth_method: str = "client_secret_basic"
    # Overrides the provider-wide ID token lifetime for this client only.
    id_token_ttl: int | None = None

    def to_config(self) -> dict[str, Any]:
        config = asdict(self)
        if self.id_token_ttl is None:
            del config["id_token_ttl"]
        return config


@dataclass
class OidcAccount:
    """A user of the provider; the claims are returned in the ID token per granted scope."""

    sub: str
    email: str
    email_verified: bool = True
    name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    # None accepts any password, which is all most tests need.
    password: str | None = None


@dataclass
class RunningProvider:
    issuer: str
    port: int
    _output: deque[str] = field(repr=False)

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    @cached_property
    def metadata(self) -> dict[str, Any]:
        """The discovery document."""
        return _get_json(self.discovery_url)

    def jwks(self) -> dict[str, Any]:
        return _get_json(str(self.metadata["jwks_uri"]))

    def output(self) -> str:
        """The provider's recent stdout and stderr, for failure messages."""
        return "".join(self._output)


def _get_json(url: str) -> dict[str, Any]:
    response = httpx2.get(url, timeout=5.0)
    response.raise_for_status()
    data: dict[str, Any] = response.json()
    return data


# --- installation -----------------------------------------------------------------------------


def _install_fingerprint() -> str:
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        path = OIDC_DIR / name
        if path.exists():
            digest.update(name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _is_installed(fingerprint: str) -> bool:
    stamp = OIDC_DIR / "node_modules" / _STAMP_NAME
    return stamp.exists() and stamp.read_text().strip() == fingerprint


def _require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise OidcProviderError(
            f"`{name}` was not found on PATH: the OIDC tests need Node.js (>= 20.19) and npm "
            "to run the oidc-provider package from tests/oidc/"
        )
    return path


def ensure_installed() -> None:
    """Install tests/oidc/node_modules when missing or older than package(-lock).json.

    Idempotent and safe to call from parallel test processes: a file lock serialises `npm ci`,
    and a stamp holding a hash of package.json + package-lock.json marks a finished install.
    """
    _require_tool("node")
    fingerprint = _install_fingerprint()
    if _is_installed(fingerprint):
        return
    npm = _require_tool("npm")
    lock_path = OIDC_DIR / ".npm-install.lock"
    with lock_path.open("w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            # Another process may have finished the install while this one waited.
            if _is_installed(fingerprint):
                return
            has_lock = (OIDC_DIR / "package-lock.json").exists()
            command = [npm, "ci" if has_lock else "install"]
            command += ["--no-audit", "--no-fund", "--loglevel=error"]
            try:
                result = subprocess.run(
                    command,
                    cwd=OIDC_DIR,
                    capture_output=True,
                    text=True,
                    timeout=_INSTALL_TIMEOUT,
                    check=False,
                )
            except subprocess.TimeoutExpired as exc:
                raise OidcProviderError(f"`{' '.join(command)}` in {OIDC_DIR} timed out") from exc
            if result.returncode != 0:
                raise OidcProviderError(
                    f"`{' '.join(command)}` in {OIDC_DIR} failed ({result.returncode}):\n"
                    f"{result.stdout}{result.stderr}"
                )
            (OIDC_DIR / "node_modules" / _STAMP_NAME).write_text(fingerprint + "\n")
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


# --- running ----------------------------------------------------------------------------------


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _wait_for_discovery(url: str, process: subprocess.Popen[str], deadline: float) -> None:
    last_error = "no answer"
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx2.get(url, timeout=1.0).status_code == 200:
                return
        except httpx2.TransportError as exc:
            last_error = repr(exc)
        time.sleep(0.05)
    raise OidcProviderError(f"the discovery document {url} did not answer: {last_error}")


@contextlib.contextmanager
def oidc_provider(
    clients: Sequence[OidcClient],
    accounts: Sequence[OidcAccount],
    id_token_ttl: int = 600,
    access_token_ttl: int = 600,
    *,
    ttl: dict[str, int] | None = None,
    port: int = 0,
    token_delay_ms: int = 0,
    startup_timeout: float = 30.0,
) -> Iterator[RunningProvider]:
    """Run oidc-provider on 127.0.0.1 for the duration of the block.

    ``port=0`` lets the provider bind a free port itself (no race between picking a port and
    listening on it); the issuer is then ``http://127.0.0.1:<port>``. ``ttl`` overrides other
    oidc-provider lifetimes in seconds, e.g. ``{"AuthorizationCode": 5, "Session": 60}``.
    ``token_delay_ms`` holds each token response back after minting it (a slow provider).
    """
    ensure_installed()
    node = _require_tool("node")
    config = {
        "port": port,
        "clients": [client.to_config() for client in clients],
        "accounts": [asdict(account) for account in accounts],
        "ttl": {"IdToken": id_token_ttl, "AccessToken": access_token_ttl, **(ttl or {})},
        "token_delay_ms": token_delay_ms,
    }
    output: deque[str] = deque(maxlen=200)
    ready: dict[str, Any] = {}
    ready_event = threading.Event()

    with tempfile.TemporaryDirectory(prefix="oidc-provider-") as tmp:
        config_path = Path(tmp) / "config.json"
        config_path.write_text(json.dumps(config))
        process = subprocess.Popen(
            [node, "provider.mjs"],
            cwd=OIDC_DIR,
            env={**os.environ, "OIDC_PROVIDER_CONFIG": str(config_path)},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

        # Drains the pipe for the whole run so a chatty provider never blocks on a full pipe.
        def read_output() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                output.append(line)
                if not ready_event.is_set() and line.startswith("{"):
                    with contextlib.suppress(ValueError):
                        message = json.loads(line)
                        if isinstance(message, dict) and message.get("ready"):
                            ready.update(message)
                            ready_event.set()
            ready_event.set()

        reader = threading.Thread(target=read_output, name="oidc-provider-output", daemon=True)
        reader.start()
        try:
            deadline = time.monotonic() + startup_timeout
            ready_event.wait(startup_timeout)
            if not ready:
                raise OidcProviderError(
                    "oidc-provider did not start"
                    + (f" (exit code {process.poll()})" if process.poll() is not None else "")
                    + ":\n"
                    + "".join(output)
                )
            running = RunningProvider(issuer=ready["issuer"], port=ready["port"], _output=output)
            _wait_for_discovery(running.discovery_url, process, deadline)
            yield running
        finally:
            _stop(process)
            reader.join(timeout=5)


# --- browser-like driver ------------------------------------------------------------------------


@dataclass
class _Form:
    id: str | None
    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    # Named submit buttons, as (name, value): a browser sends only the one clicked.
    buttons: list[tuple[str, str]] = field(default_factory=list)

    def value_of(self, name: str) -> str | None:
        return next((value for key, value in self.fields if key == name), None)


class _PageParser(HTMLParser):
    """Collects forms, including controls placed outside a form with a form="id" attribute."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[_Form] = []
        self.text: list[str] = []
        self._current: _Form | None = None
        self._detached: list[tuple[str, tuple[str, str], bool]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {key: value or "" for key, value in attrs}
        if tag == "form":
            self._current = _Form(
                id=attributes.get("id"),
                action=attributes.get("action", ""),
                method=attributes.get("method", "get").lower(),
            )
            self.forms.append(self._current)
        elif tag in ("input", "button") and "name" in attributes:
            kind = attributes.get("type", "submit" if tag == "button" else "text").lower()
            if kind in ("checkbox", "radio") and "checked" not in attributes:
                return
            control = (attributes["name"], attributes.get("value", ""))
            is_button = kind == "submit"
            if "form" in attributes:
                self._detached.append((attributes["form"], control, is_button))
            elif self._current is not None:
                (self._current.buttons if is_button else self._current.fields).append(control)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.text.append(data.strip())

    def close(self) -> None:
        super().close()
        for form_id, control, is_button in self._detached:
            for form in self.forms:
                if form.id == form_id:
                    (form.buttons if is_button else form.fields).append(control)


@dataclass
class _Page:
    url: str
    status_code: int
    forms: list[_Form]
    text: str


def _parse_page(response: httpx2.Response) -> _Page:
    parser = _PageParser()
    if "html" in response.headers.get("content-type", ""):
        parser.feed(response.text)
    parser.close()
    text = " ".join(parser.text) if parser.text else response.text[:500]
    return _Page(str(response.url), response.status_code, parser.forms, text)


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


# Picks the form to submit and the data to send, or None when the page is the end of the walk.
_Chooser = Callable[[_Page], tuple[_Form, list[tuple[str, str]]] | None]


def _walk(browser: httpx2.Client, url: str, choose: _Chooser) -> str:
    """Follow redirects and submit forms on the provider until it redirects elsewhere.

    Returns the first URL outside the provider's origin without requesting it, or the URL of
    the provider page where ``choose`` stops.
    """
    provider = _origin(url)
    response = browser.get(url, follow_redirects=False)
    for _ in range(_MAX_PAGES):
        if response.is_redirect:
            target = urljoin(str(response.url), response.headers["location"])
            if _origin(target) != provider:
                return target
            response = browser.get(target, follow_redirects=False)
            continue
        page = _parse_page(response)
        if response.status_code != 200:
            raise ProviderPageError(
                "the provider answered with an error",
                url=page.url,
                status_code=page.status_code,
                text=page.text,
            )
        choice = choose(page)
        if choice is None:
            return page.url
        form, data = choice
        action = urljoin(page.url, form.action or page.url)
        if form.method == "post":
            response = browser.post(action, data=dict(data), follow_redirects=False)
        else:
            response = browser.get(action, params=tuple(data), follow_redirects=False)
    raise ProviderPageError(
        f"gave up after {_MAX_PAGES} pages", url=str(response.url), status_code=0, text=""
    )


def _no_form(page: _Page, expected: str) -> ProviderPageError:
    return ProviderPageError(
        f"expected {expected}", url=page.url, status_code=page.status_code, text=page.text
    )


def sign_in_at_provider(
    browser: httpx2.Client,
    authorization_url: str,
    login: str,
    *,
    password: str = "",
    consent: bool = True,
) -> str:
    """Sign in at the provider as a browser would and return the redirect to the app.

    ``authorization_url`` is the provider's authorization endpoint with the app's parameters.
    The provider's cookies stay in ``browser``, so a second call for the same user finds the
    existing session and returns without showing any page. The result is the app's
    ``redirect_uri`` with ``code`` and ``state`` (or ``error`` when the provider refuses the
    request, or ``error=access_denied`` when ``consent`` is False); it is not requested.
    Raises :class:`ProviderPageError` when the provider shows an error page (e.g. an unknown
    ``redirect_uri``) or refuses the login.
    """
    logins_sent = 0

    def choose(page: _Page) -> tuple[_Form, list[tuple[str, str]]] | None:
        nonlocal logins_sent
        prompt_forms = {form.value_of("prompt"): form for form in page.forms}
        abort = next((form for form in page.forms if form.action.endswith("/abort")), None)
        if "login" in prompt_forms:
            if logins_sent:
                raise _no_form(page, f"the provider to accept the login {login!r}")
            logins_sent += 1
            form = prompt_forms["login"]
            data = [(k, v) for k, v in form.fields if k not in ("login", "password")]
            return form, [*data, ("login", login), ("password", password)]
        if "consent" in prompt_forms:
            if not consent:
                if abort is None:
                    raise _no_form(page, "a form to deny consent")
                return abort, abort.fields
            form = prompt_forms["consent"]
            return form, form.fields
        raise _no_form(page, "a login or consent form")

    return _walk(browser, authorization_url, choose)


def end_session_at_provider(browser: httpx2.Client, url: str, *, confirm: bool = True) -> str:
    """Walk RP-initiated logout at the provider's ``end_session_endpoint`` URL.

    Confirms the provider's "sign out?" question (or declines it when ``confirm`` is False) and
    returns the ``post_logout_redirect_uri`` (with ``state``) the provider redirects to, without
    requesting it; without such a URI it returns the provider's own "signed out" page URL.
    """

    def choose(page: _Page) -> tuple[_Form, list[tuple[str, str]]] | None:
        form = next((form for form in page.forms if form.id == "op.logoutForm"), None)
        if form is None:
            return None
        data = list(form.fields)
        if confirm:
            data += [button for button in form.buttons if button == ("logout", "yes")]
        return form, data

    return _walk(browser, url, choose)


def callback_params(url: str) -> dict[str, str]:
    """The query parameters of a redirect returned by the driver (code, state, error...)."""
    return dict(parse_qsl(urlsplit(url).query))
