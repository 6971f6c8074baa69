"""The native probes: each service's protocol spoken with the standard library (imaplib,
poplib, smtplib, http.client, ssl; LDAP's one search encoded here), every phase timed
and all of them held to the threshold the core gave.

Imported only when a native probe runs: an entry point that runs none never pays for
these modules. The password lives in this process's memory only; every error text that
leaves this module has it removed, since a server may echo what it was sent.
"""

from __future__ import annotations

import contextlib
import imaplib
import poplib
import smtplib
import socket
import ssl
import time

from jescore.policy.commands import DialogueResult, NativeProbe, Phase, Protocol, Timed
from jescore.policy.secrets import MASK
from jescore.typenames import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

ERROR_LIMIT = 300  # characters of a server's error kept for the log
LDAP_ANSWER_LIMIT = 256 * 1024  # more than cn=monitor ever holds
EHLO_NAME = "jesagent-probe.invalid"  # never looked up: getfqdn() could stall on DNS


class Refused(Exception):
    """The server answered, but not what a healthy one says."""


class Unresolved(Exception):
    """The host name did not resolve: nothing is known of the server."""


class Talk:
    """One dialogue's clock, phases and socket."""

    def __init__(self, probe: NativeProbe, timeout: float, password: str) -> None:
        self.probe = probe
        self.password = password
        self.began = time.monotonic()
        self.deadline = self.began + max(timeout, 0.1)
        self.done: list[Timed] = []
        self.current: Phase | None = None
        self.phase_began = self.began
        self.sock: socket.socket | None = None
        self.answer = ""

    def left(self) -> float:
        """What is left of the threshold; none left is a timeout of the current phase."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        return left

    def begin(self, phase: Phase) -> None:
        self.end()
        self.current, self.phase_began = phase, time.monotonic()
        if self.sock is not None:
            self.sock.settimeout(self.left())

    def end(self) -> None:
        if self.current is not None:
            self.done.append(Timed(self.current, time.monotonic() - self.phase_began))
            self.current = None

    def open(self, then: Phase | None = None) -> socket.socket:
        """Connect (and complete the TLS handshake when the probe asks), then begin `then`."""
        probe = self.probe
        self.begin(Phase.CONNECT)
        try:
            addresses = socket.getaddrinfo(probe.host, probe.port, type=socket.SOCK_STREAM)
        except OSError as error:
            raise Unresolved(f"cannot resolve {probe.host}: {error}") from error
        last: OSError = ConnectionError("no address")
        for family, kind, proto, _, address in addresses:
            raw = socket.socket(family, kind, proto)
            try:
                raw.settimeout(self.left())
                raw.connect(address)
            except OSError as error:
                raw.close()
                last = error
                if _timed_out(error):
                    break
                continue
            self.sock = raw
            break
        if self.sock is None:
            raise last
        if probe.tls:
            self.begin(Phase.TLS)
            # The check is that the port completes TLS, not whom its certificate names.
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            self.sock = context.wrap_socket(self.sock, server_hostname=probe.host)
        if then is not None:
            self.begin(then)
        else:
            self.end()
        return self.sock

    def close(self) -> None:
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.close()

    def result(self, error: BaseException | None) -> DialogueResult:
        seconds = time.monotonic() - self.began
        if error is None:
            self.end()
            return DialogueResult(tuple(self.done), seconds=seconds, answer=self.answer)
        return DialogueResult(
            tuple(self.done), self.current or Phase.CONNECT, self.explain(error), seconds
        )

    def explain(self, error: BaseException) -> str:
        """The error in a few words, without the password whatever the server echoed."""
        if _timed_out(error):
            text = f"no answer within the {self.deadline - self.began:.1f} s threshold"
        elif isinstance(error, ConnectionRefusedError):
            text = "connection refused"
        elif isinstance(error, OSError) and error.strerror:
            text = error.strerror
        elif error.args and isinstance(error.args[0], bytes):  # imaplib, poplib: the reply
            text = error.args[0].decode("utf-8", "replace")
        else:
            text = str(error) or type(error).__name__
        return scrub(text, self.password)[:ERROR_LIMIT]


def _timed_out(error: BaseException | None) -> bool:
    """A timeout, even one a client library rewrapped (smtplib's "Connection unexpectedly
    closed: timed out")."""
    seen = 0
    while error is not None and seen < 5:
        if isinstance(error, TimeoutError):
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False


def scrub(text: str, password: str) -> str:
    """The text with the password, as sent and as Python would quote it, masked."""
    if not password:
        return text
    for form in {password, repr(password)[1:-1], password.encode().hex()}:
        if form:
            text = text.replace(form, MASK)
    return text


def converse(probe: NativeProbe, timeout: float, password: str = "") -> DialogueResult:
    """Hold the probe's dialogue; never raises."""
    talk = Talk(probe, timeout, password)
    try:
        SPEAKERS[probe.protocol](talk)
    except Unresolved as error:
        return DialogueResult(ran=False, error=str(error), seconds=time.monotonic() - talk.began)
    except Exception as error:
        return talk.result(error)
    finally:
        talk.close()
    return talk.result(None)


# --- the dialogues ------------------------------------------------------------------


class _Imap(imaplib.IMAP4):
    def __init__(self, talk: Talk) -> None:
        self.talk = talk
        super().__init__(talk.probe.host, talk.probe.port, timeout=talk.left())

    def _create_socket(self, timeout: float | None = None) -> socket.socket:
        return self.talk.open(then=Phase.GREETING)  # the constructor reads the greeting


def imap(talk: Talk) -> None:
    client = _Imap(talk)
    if talk.probe.user:
        talk.begin(Phase.LOGIN)
        client.login(talk.probe.user, talk.password)
    talk.begin(Phase.LOGOUT)
    status, _ = client.logout()
    if status != "BYE":
        raise Refused(f"LOGOUT answered {status}")


class _Pop(poplib.POP3):
    def __init__(self, talk: Talk) -> None:
        self.talk = talk
        super().__init__(talk.probe.host, talk.probe.port, timeout=talk.left())

    def _create_socket(self, timeout: float) -> socket.socket:
        return self.talk.open(then=Phase.GREETING)


def pop3(talk: Talk) -> None:
    client = _Pop(talk)
    if talk.probe.user:
        talk.begin(Phase.LOGIN)
        client.user(talk.probe.user)
        client.pass_(talk.password)
    talk.begin(Phase.LOGOUT)
    client.quit()


class _Smtp(smtplib.SMTP):
    talk: Talk

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return self.talk.open(then=Phase.GREETING)


class _Lmtp(smtplib.LMTP):
    talk: Talk

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return self.talk.open(then=Phase.GREETING)


def _expect(reply: tuple[int, bytes], codes: tuple[int, ...], what: str) -> None:
    code, text = reply
    if code not in codes:
        said = text.decode("utf-8", "replace").strip() or "nothing readable"
        raise Refused(f"{what} answered {code}: {said}")


def mta(talk: Talk) -> None:
    """SMTP or LMTP: greeting, EHLO or LHLO, then MAIL FROM and RCPT TO the test address
    when there is one, undone by RSET, and QUIT: nothing is ever delivered."""
    lmtp = talk.probe.protocol is Protocol.LMTP
    client = (_Lmtp if lmtp else _Smtp)(local_hostname=EHLO_NAME, timeout=talk.left())
    client.talk = talk
    _expect(client.connect(talk.probe.host, talk.probe.port), (220,), "the greeting")
    talk.begin(Phase.LHLO if lmtp else Phase.EHLO)
    _expect(client.ehlo(EHLO_NAME), (250,), "LHLO" if lmtp else "EHLO")
    address = talk.probe.user
    if address:
        talk.begin(Phase.MAIL)
        _expect(client.mail(address), (250,), "MAIL FROM")
        talk.begin(Phase.RCPT)
        _expect(client.rcpt(address), (250, 251), "RCPT TO")
        talk.begin(Phase.RSET)
        _expect(client.rset(), (250,), "RSET")
    talk.begin(Phase.QUIT)
    _expect(client.docmd("quit"), (221,), "QUIT")
    client.close()


def http(talk: Talk) -> None:
    """A GET of the target; any status below 500 is a healthy front end's answer."""
    import http.client

    probe = talk.probe
    conn = http.client.HTTPConnection(probe.host, probe.port, timeout=talk.left())
    conn.sock = talk.open(then=Phase.REQUEST)
    conn.request("GET", probe.target or "/", headers={"User-Agent": "jesagent-probe"})
    response = conn.getresponse()
    talk.answer = f"HTTP {response.status}"
    if response.status >= 500:
        raise Refused(f"status {response.status} {response.reason}")
    conn.close()


def ldap(talk: Talk) -> None:
    """An anonymous base search of the target (cn=monitor) for its version, then unbind."""
    sock = talk.open(then=Phase.SEARCH)
    limit = max(1, int(talk.left()))
    sock.sendall(_ldap_search(1, talk.probe.target, limit))
    received = b""
    while True:
        message, received = _next_message(talk, sock, received)
        msgid, op_tag, op = _ldap_op(message)
        if msgid != 1:
            raise Refused(f"an answer to message {msgid}, not to the search")
        if op_tag == 0x64:  # SearchResultEntry
            talk.answer = _version_of(op) or talk.answer
        elif op_tag == 0x65:  # SearchResultDone
            _, code_start, code_end = _tlv(op, 0)
            result = int.from_bytes(op[code_start:code_end], "big")
            if result != 0:
                raise Refused(f"the search answered result code {result}")
            break
    # The search answered: an unbind the server does not wait for changes nothing.
    with contextlib.suppress(OSError):
        sock.sendall(_ber(0x30, _integer(2) + _ber(0x42, b"")))  # UnbindRequest


SPEAKERS: dict[Protocol, Callable[[Talk], None]] = {
    Protocol.IMAP: imap,
    Protocol.POP3: pop3,
    Protocol.SMTP: mta,
    Protocol.LMTP: mta,
    Protocol.HTTP: http,
    Protocol.LDAP: ldap,
}


# --- LDAP's search in BER (RFC 4511): just what one anonymous base search needs -------


def _ber(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content


def _integer(value: int) -> bytes:
    """A non-negative INTEGER in its shortest form (a leading zero keeps it positive)."""
    return _ber(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def _ldap_search(msgid: int, base: str, time_limit: int) -> bytes:
    request = (
        _ber(0x04, base.encode())
        + _ber(0x0A, b"\x00")  # scope: baseObject
        + _ber(0x0A, b"\x00")  # derefAliases: never
        + _integer(0)  # sizeLimit: none
        + _integer(time_limit)
        + _ber(0x01, b"\x00")  # typesOnly: false
        + _ber(0x87, b"objectClass")  # filter: (objectClass=*)
        + _ber(0x30, _ber(0x04, b"version"))
    )
    return _ber(0x30, _integer(msgid) + _ber(0x63, request))


def _tlv(data: bytes, at: int) -> tuple[int, int, int]:
    """The tag at `at`, and where its content starts and ends; ValueError if cut short."""
    if at + 2 > len(data):
        raise ValueError("cut short")
    tag, first = data[at], data[at + 1]
    start = at + 2
    if first & 0x80:
        count = first & 0x7F
        if count == 0 or count > 4 or start + count > len(data):
            raise ValueError("a length that cannot be read")
        size = int.from_bytes(data[start : start + count], "big")
        start += count
    else:
        size = first
    if start + size > len(data):
        raise ValueError("cut short")
    return tag, start, start + size


def _next_message(talk: Talk, sock: socket.socket, received: bytes) -> tuple[bytes, bytes]:
    """One whole LDAPMessage from the socket, and what followed it; every read within
    what is left of the threshold."""
    while True:
        try:
            tag, start, end = _tlv(received, 0)
        except ValueError:
            if len(received) > LDAP_ANSWER_LIMIT:
                raise Refused("not an LDAP answer") from None
            sock.settimeout(talk.left())
            chunk = sock.recv(65536)
            if not chunk:
                raise Refused("the server closed the connection") from None
            received += chunk
            continue
        if tag != 0x30:
            raise Refused("not an LDAP answer")
        return received[start:end], received[end:]


def _ldap_op(message: bytes) -> tuple[int, int, bytes]:
    try:
        _, id_start, id_end = _tlv(message, 0)
        tag, op_start, op_end = _tlv(message, id_end)
    except ValueError as error:
        raise Refused(f"not an LDAP answer ({error})") from None
    return int.from_bytes(message[id_start:id_end], "big"), tag, message[op_start:op_end]


def _version_of(entry: bytes) -> str:
    """The `version` value of a SearchResultEntry, or "" when it has none."""
    try:
        _, _, name_end = _tlv(entry, 0)
        _, at, attrs_end = _tlv(entry, name_end)
        while at < attrs_end:
            _, inner, attr_end = _tlv(entry, at)
            _, type_start, type_end = _tlv(entry, inner)
            _, values_start, _ = _tlv(entry, type_end)
            if entry[type_start:type_end].lower() == b"version":
                _, value_start, value_end = _tlv(entry, values_start)
                return "version: " + entry[value_start:value_end].decode("utf-8", "replace")
            at = attr_end
    except ValueError:
        return ""
    return ""
