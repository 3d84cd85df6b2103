"""Masking of bound secrets in the build log, as credentials-binding does it.

credentials-binding 728.v902a_273b_8947 (jenkinsci/credentials-binding-plugin,
src/main/java/org/jenkinsci/plugins/credentialsbinding/masking/): every secret value is
expanded by each ``SecretPatternFactory`` (Literal, Bash, Almquist shell, Dollar, Batch,
Base64), forms shorter than 3 characters are dropped, the rest are joined longest first
into one pattern, and each log line has its matches replaced by ``****``
(``SecretPatterns.getAggregateSecretPattern`` and ``MaskingOutputStream``).

Jenkins masks a secret only inside the ``withCredentials`` block that bound it; the
local driver masks the secrets of every credential the build may bind, and every value
bound so far, in the whole log (a superset).
"""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Iterable

MASK = "****"
_MIN_ENCODED = 3  # SecretPatterns.MINIMUM_ENCODED_LENGTH


def _bash(secret: str) -> set[str]:
    # BashSecretPatternFactory: ' quoted as '\'' ; also surrounded by quotes; and the
    # form with backslash-escapes removed.
    quoted = secret.replace("'", "'\\''")
    return {quoted, f"'{quoted}'", re.sub(r"(\\)(\\?)", r"\2", secret)}


def _almquist(secret: str) -> set[str]:
    # AlmquistShellSecretPatternFactory: each run of ' becomes '"<run>"'
    return {re.sub(r"('+)", lambda m: "'\"" + m.group(1) + "\"'", secret)}


def _dollar(secret: str) -> set[str]:
    return {secret.replace("$", "$$")} if "$" in secret else set()


def _batch(secret: str) -> set[str]:
    return {re.sub(r"(\^)(\^?)", r"\2", secret)} if "^" in secret else set()


def _base64(secret: str) -> set[str]:
    # Base64SecretPatternFactory: standard and URL alphabets, shifted by 0-2 leading
    # characters so the secret's encoding inside a longer encoded text is found too.
    forms: set[str] = set()
    for shift in ("", "a", "aa"):
        raw = (shift + secret).encode()
        for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
            text = encoded.decode()[2 * len(shift) :]
            forms.add(text)
            if text.endswith("=="):
                forms.add(text[:-3])
            elif text.endswith("="):
                forms.add(text[:-2])
            else:
                forms.add(text)
    return forms


def encoded_forms(secret: str) -> set[str]:
    """Every form of ``secret`` credentials-binding masks (at least 3 characters long)."""
    if not secret:
        return set()
    forms = {secret} | _bash(secret) | _almquist(secret) | _dollar(secret)
    forms |= _batch(secret) | _base64(secret)
    return {f for f in forms if len(f) >= _MIN_ENCODED}


class Masker:
    """Replaces every form of the secrets added so far with ``****``; thread-safe."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._forms: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        with self._lock:
            before = len(self._forms)
            for secret in secrets:
                self._forms |= encoded_forms(secret)
            if len(self._forms) != before:
                ordered = sorted(self._forms, key=lambda f: (-len(f), f))
                self._pattern = re.compile("|".join(re.escape(f) for f in ordered))

    def __call__(self, text: str) -> str:
        pattern = self._pattern
        return text if pattern is None else pattern.sub(MASK, text)
