"""Give git a username and token without putting them in a URL, a file or argv.

git asks its credential helpers when a server answers 401. The helper configured here
(through ``GIT_CONFIG_COUNT``/``GIT_CONFIG_KEY_n``/``GIT_CONFIG_VALUE_n``, so nothing
is written to any git config file) prints two environment variables of the git process
itself. An empty ``credential.helper`` first resets any helper from the user's config.
"""

from __future__ import annotations

from collections.abc import Mapping

USER_VAR = "LAB_GIT_AUTH_USER"
TOKEN_VAR = "LAB_GIT_AUTH_TOKEN"  # noqa: S105 (a variable name, not a secret)
_HELPER = (
    '!f() { test "$1" = get || exit 0; '
    f'echo "username=${{{USER_VAR}}}"; echo "password=${{{TOKEN_VAR}}}"; }}; f'
)


def git_credential_env(
    base: Mapping[str, str], credentials: tuple[str, str] | None
) -> dict[str, str]:
    """``base`` plus what makes git answer a 401 with ``credentials`` (none: never prompt)."""
    env = {
        k: v
        for k, v in base.items()
        if k != "GIT_CONFIG_COUNT" and not k.startswith(("GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_"))
    }
    env["GIT_TERMINAL_PROMPT"] = "0"
    if credentials is None:
        return env
    env.update(
        {
            "GIT_CONFIG_COUNT": "2",
            "GIT_CONFIG_KEY_0": "credential.helper",
            "GIT_CONFIG_VALUE_0": "",
            "GIT_CONFIG_KEY_1": "credential.helper",
            "GIT_CONFIG_VALUE_1": _HELPER,
            USER_VAR: credentials[0],
            TOKEN_VAR: credentials[1],
        }
    )
    return env
