"""Credential bindings: ``withCredentials([...])`` and ``environment { X = credentials('id') }``.

credentials-binding 728.v902a_273b_8947 (jenkinsci/credentials-binding-plugin,
src/main/java/org/jenkinsci/plugins/credentialsbinding/):
- ``MultiBinding.getCredentials`` l.194-206: an unknown id fails with ``Could not find
  credentials entry with ID '<id>'``; a credential of another kind with ``Credentials
  '<id>' is of type '<kind>' where '<expected>' was expected``.
- ``impl/UsernamePasswordMultiBinding`` l.74-78: the password is secret, the username
  public (``isUsernameSecret`` is false for credentials created without it);
  ``impl/UsernamePasswordBinding`` (``usernameColonPassword``) binds ``user:password``;
  ``impl/StringBinding`` the secret text.
- ``impl/FileBinding`` l.52-56 and ``impl/UnbindableDir``: the content is written to
  ``<dir>@tmp/secretFiles/<uuid>/file<random>.tmp`` (mode 0400, directory 0700), and the
  variable holds that path, which is what gets masked; the directory is deleted after
  the block. ``impl/SSHUserPrivateKeyBinding`` l.103-128: the key goes to such a file
  (keyFileVariable, secret), the passphrase is secret ("" if none), the username public.
- ``impl/BindingStep`` l.138-143: ``Masking supported pattern matches of $A or $B``.

pipeline-model-definition (credentials/impl/*Handler.java, read at HEAD 42c9dc3e):
``X = credentials('id')`` binds usernamePassword as X=user:password, X_USR, X_PSW;
string as X; file as X (the path); sshUserPrivateKey as X (key file), X_USR, X_PSW.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from lab.pipeline.groovyexpr import Call
from lab.pipeline.runtime import Credential, StepError
from lab.pipeline.shell import tmp_dir

# The credential kinds' display names in Jenkins (the descriptors' getDisplayName).
_DISPLAY = {
    "usernamePassword": "Username with password",
    "string": "Secret text",
    "file": "Secret file",
    "sshUserPrivateKey": "SSH Username with private key",
}
# Binding symbol -> the credential kind it accepts.
_ACCEPTS = {
    "usernamePassword": "usernamePassword",
    "usernameColonPassword": "usernamePassword",
    "string": "string",
    "file": "file",
    "sshUserPrivateKey": "sshUserPrivateKey",
}


@dataclass
class Bound:
    """What a set of bindings gives the block: variables (secret and public) and files."""

    secret: dict[str, str] = field(default_factory=dict)
    public: dict[str, str] = field(default_factory=dict)
    dirs: list[Path] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        return {**self.public, **self.secret}

    def release(self) -> None:
        for path in self.dirs:
            shutil.rmtree(path, ignore_errors=True)


def lookup(credentials: Mapping[str, Credential], cred_id: str, binding: str) -> Credential:
    cred = credentials.get(cred_id)
    if cred is None:
        raise StepError(f"Could not find credentials entry with ID '{cred_id}'")
    expected = _ACCEPTS[binding]
    if cred.kind != expected:
        raise StepError(
            f"Credentials '{cred_id}' is of type '{_DISPLAY.get(cred.kind, cred.kind)}' "
            f"where '{_DISPLAY[expected]}' was expected"
        )
    return cred


def _secret_file(cwd: Path, content: str) -> tuple[Path, Path]:
    """UnbindableDir + createTempFile("file", null): (file, its directory)."""
    secrets = tmp_dir(cwd) / "secretFiles"
    secrets.mkdir(parents=True, exist_ok=True)
    secrets.chmod(0o700)
    folder = secrets / str(uuid.uuid4())
    folder.mkdir(mode=0o700)
    fd, name = tempfile.mkstemp(prefix="file", suffix=".tmp", dir=folder)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(content)
    os.chmod(name, 0o400)
    return Path(name), folder


def _variable(call: Call, key: str, required: bool = True) -> str | None:
    value = call.kwargs.get(key)
    if value is None or value == "":
        if required:
            raise StepError(f"{call.name}: missing {key}")
        return None
    return str(value)


def bind(call: Call, credentials: Mapping[str, Credential], cwd: Path, into: Bound) -> None:
    """Apply one binding (a ``usernamePassword(...)``-like call) to ``into``."""
    if call.name not in _ACCEPTS:
        raise StepError(f"withCredentials: unsupported binding {call.name}()")
    cred_id = _variable(call, "credentialsId") or ""
    cred = lookup(credentials, cred_id, call.name)
    if call.name == "usernamePassword":
        into.public[_variable(call, "usernameVariable") or ""] = cred.username
        into.secret[_variable(call, "passwordVariable") or ""] = cred.secret
    elif call.name == "usernameColonPassword":
        into.secret[_variable(call, "variable") or ""] = f"{cred.username}:{cred.secret}"
    elif call.name == "string":
        into.secret[_variable(call, "variable") or ""] = cred.secret
    elif call.name == "file":
        path, folder = _secret_file(cwd, cred.secret)
        into.dirs.append(folder)
        into.secret[_variable(call, "variable") or ""] = str(path)
    else:
        key = cred.secret if cred.secret.endswith("\n") else cred.secret + "\n"
        path, folder = _secret_file(cwd, key)
        into.dirs.append(folder)
        into.secret[_variable(call, "keyFileVariable") or ""] = str(path)
        passphrase_var = _variable(call, "passphraseVariable", required=False)
        if passphrase_var:
            into.secret[passphrase_var] = cred.passphrase
        user_var = _variable(call, "usernameVariable", required=False)
        if user_var:
            into.public[user_var] = cred.username


def environment_credential(
    name: str, cred_id: str, credentials: Mapping[str, Credential], cwd: Path, into: Bound
) -> None:
    """``NAME = credentials('id')`` in an ``environment`` directive (the *Handler classes)."""
    cred = credentials.get(cred_id)
    if cred is None:
        raise StepError(f"Could not find credentials entry with ID '{cred_id}'")
    if cred.kind == "usernamePassword":
        bind(Call("usernameColonPassword", (), {"credentialsId": cred_id, "variable": name}),
             credentials, cwd, into)  # fmt: skip
        bind(
            Call(
                "usernamePassword",
                (),
                {
                    "credentialsId": cred_id,
                    "usernameVariable": f"{name}_USR",
                    "passwordVariable": f"{name}_PSW",
                },
            ),
            credentials,
            cwd,
            into,
        )
    elif cred.kind in ("string", "file"):
        bind(
            Call(cred.kind, (), {"credentialsId": cred_id, "variable": name}),
            credentials,
            cwd,
            into,
        )
    elif cred.kind == "sshUserPrivateKey":
        args = {
            "credentialsId": cred_id,
            "keyFileVariable": name,
            "usernameVariable": f"{name}_USR",
            "passphraseVariable": f"{name}_PSW",
        }
        bind(Call("sshUserPrivateKey", (), args), credentials, cwd, into)
    else:
        raise StepError(
            f"No suitable binding handler could be found for type {cred.kind}. "
            "Supported types are usernamePassword,string,file,sshUserPrivateKey."
        )


def masking_line(bound: Bound) -> str:
    return "Masking supported pattern matches of " + " or ".join(f"${v}" for v in bound.secret)
