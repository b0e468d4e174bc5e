#!/usr/bin/env python3
"""Generates the known-answer vectors hard-coded in vectors_test.go.

The vectors are computed with implementations independent of the Go code
under test: the system libcrypt (libxcrypt) for bcrypt, pyca/cryptography for
argon2, and Python's hashlib for PBKDF2 (including SHA3) and scrypt. Salts are
fixed so the output is reproducible.

Run: python3 internal/hash/testdata/gen_vectors.py
"""

import base64
import hashlib
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt  # removed in Python 3.13; libxcrypt provides bcrypt

from cryptography.hazmat.primitives.kdf.argon2 import Argon2i, Argon2id


def b64(data: bytes, pad: bool = False) -> str:
    s = base64.b64encode(data).decode()
    return s if pad else s.rstrip("=")


def bcrypt_vec(prefix: str, cost: int, salt22: str, password: str) -> str:
    return crypt.crypt(password, f"{prefix}{cost:02d}${salt22}")


def argon2_vec(kind, name, password, salt, m, t, p, keylen):
    kdf = kind(salt=salt, length=keylen, iterations=t, lanes=p, memory_cost=m)
    key = kdf.derive(password.encode())
    return f"${name}$v=19$m={m},t={t},p={p}${b64(salt)}${b64(key)}"


def pbkdf2_vec(alg, py_alg, password, salt, iterations, keylen, pad=False):
    key = hashlib.pbkdf2_hmac(py_alg, password.encode(), salt, iterations, keylen)
    return f"$pbkdf2-{alg}$i={iterations},l={keylen}${b64(salt, pad)}${b64(key, pad)}"


def scrypt_vec(password, salt, n, r, p, keylen, pad=True):
    key = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=keylen)
    # Kratos convention: "ln" carries N itself, not log2(N).
    return f"$scrypt$ln={n},r={r},p={p}${b64(salt, pad)}${b64(key, pad)}"


def main():
    vectors = []
    # Openwall crypt_blowfish reference vector.
    vectors.append(("U*U", bcrypt_vec("$2a$", 5, "CCCCCCCCCCCCCCCCCCCCC.", "U*U")))
    vectors.append(("correct horse", bcrypt_vec("$2b$", 4, "abcdefghijklmnopqrstuu", "correct horse")))
    vectors.append(("correct horse", bcrypt_vec("$2y$", 4, "0123456789ABCDEFGHIJKu", "correct horse")))
    vectors.append(("pässwörd ✓", bcrypt_vec("$2b$", 4, "ZYXWVUTSRQPONMLKJIHGFe", "pässwörd ✓")))
    # 72 bytes exactly: the longest password bcrypt takes into account.
    vectors.append(("x" * 72, bcrypt_vec("$2b$", 4, "abcdefghijklmnopqrstuu", "x" * 72)))

    salt16 = bytes(range(16))
    vectors.append(("hunter2", argon2_vec(Argon2id, "argon2id", "hunter2", salt16, 64, 1, 1, 32)))
    vectors.append(("hunter2", argon2_vec(Argon2id, "argon2id", "hunter2", b"saltsaltsalt", 256, 2, 2, 16)))
    vectors.append(("hunter2", argon2_vec(Argon2i, "argon2i", "hunter2", salt16, 64, 2, 1, 32)))
    vectors.append(("pässwörd ✓", argon2_vec(Argon2i, "argon2i", "pässwörd ✓", b"0123456789abcdef", 128, 1, 4, 24)))

    salt = b"pepper and salt!"
    for alg, py_alg in [("sha1", "sha1"), ("sha224", "sha3_224"), ("sha256", "sha256"),
                        ("sha384", "sha3_384"), ("sha512", "sha512")]:
        vectors.append(("tr0ub4dor&3", pbkdf2_vec(alg, py_alg, "tr0ub4dor&3", salt, 1000, 32)))
    vectors.append(("tr0ub4dor&3", pbkdf2_vec("sha256", "sha256", "tr0ub4dor&3", b"short", 1200, 20, pad=True)))
    vectors.append(("tr0ub4dor&3", pbkdf2_vec("sha512", "sha512", "tr0ub4dor&3", salt, 10, 100)))

    vectors.append(("s3cr3t", scrypt_vec("s3cr3t", salt, 1024, 8, 1, 32)))
    vectors.append(("s3cr3t", scrypt_vec("s3cr3t", b"different salt", 16, 1, 2, 64, pad=False)))
    vectors.append(("pässwörd ✓", scrypt_vec("pässwörd ✓", salt16, 2048, 4, 1, 16)))

    for password, encoded in vectors:
        print(f"\t{{{password!r}, {encoded!r}}},".replace("'", '"'))


if __name__ == "__main__":
    main()
