"""A stand-in for VCS's password helpers (vcsencrypt -agent / vcsdecrypt).

The real algorithm is not public and is not imitated: this is a keyed, reversible encoding
with the same behaviour an agent sees. The decrypt program prints the plaintext for a
value made with its key and fails for anything else (as after vcsencrypt -gensecinfo).
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _stream(key: bytes, length: int) -> bytes:
    out = b""
    counter = 0
    while len(out) < length:
        out += hashlib.sha256(key + counter.to_bytes(4, "big")).digest()
        counter += 1
    return out[:length]


def encrypt_with(key: bytes, plaintext: str) -> str:
    data = plaintext.encode()
    mixed = bytes(a ^ b for a, b in zip(data, _stream(key, len(data)), strict=True))
    tag = hashlib.sha256(key + data).digest()[:4]
    return base64.b32encode(tag + mixed).decode().rstrip("=")


def decrypt_with(key: bytes, encrypted: str) -> str | None:
    try:
        raw = base64.b32decode(encrypted + "=" * (-len(encrypted) % 8))
    except ValueError:
        return None
    tag, mixed = raw[:4], raw[4:]
    data = bytes(a ^ b for a, b in zip(mixed, _stream(key, len(mixed)), strict=True))
    if hashlib.sha256(key + data).digest()[:4] != tag:
        return None
    return data.decode(errors="replace")


@dataclass(frozen=True)
class PasswordHelper:
    decrypt_program: Path
    key_file: Path

    def encrypt(self, plaintext: str) -> str:
        return encrypt_with(self.key_file.read_bytes(), plaintext)

    def regenerate_key(self) -> None:
        """Like vcsencrypt -gensecinfo: values encrypted before no longer decrypt."""
        self.key_file.write_bytes(secrets.token_bytes(32))


def install_password_helper(folder: Path) -> PasswordHelper:
    folder.mkdir(parents=True, exist_ok=True)
    key_file = folder / "vcs.key"
    key_file.write_bytes(secrets.token_bytes(32))
    key_file.chmod(0o600)
    program = folder / "vcsdecrypt"
    program.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        f"sys.path.insert(0, {str(REPO)!r})\n"
        "from stubs.vcscrypt import main\n"
        f"sys.exit(main(sys.argv[1:], {str(key_file)!r}))\n"
    )
    program.chmod(0o755)
    return PasswordHelper(program, key_file)


def main(argv: list[str], key_file: str) -> int:
    words = [w for w in argv if w != "-agent"]
    if len(words) != 1:
        print("usage: vcsdecrypt [-agent] <encrypted>", file=sys.stderr)
        return 2
    plaintext = decrypt_with(Path(key_file).read_bytes(), words[0])
    if plaintext is None:
        print("vcsdecrypt: cannot decrypt: wrong key or not an encrypted value", file=sys.stderr)
        return 1
    os.write(1, plaintext.encode() + b"\n")
    return 0
