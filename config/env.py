"""Reading settings from the environment.

Every problem names the variable and stops the process with a one-line message (exit code 3), so an operator
sees ``Configuration error: SECRET_KEY ...`` instead of a traceback from deep inside Django. Exit code 3 is
also what gunicorn's arbiter treats as "worker failed to boot": it stops instead of respawning forever.
"""

import os
import sys

CONFIG_ERROR_EXIT_CODE = 3

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def config_error(variable: str, problem: str) -> SystemExit:
    sys.stderr.write(f"Configuration error: {variable} {problem}\n")
    return SystemExit(CONFIG_ERROR_EXIT_CODE)


def env_str(variable: str, default: str = "") -> str:
    return os.environ.get(variable, default).strip()


def env_bool(variable: str, default: bool) -> bool:
    raw = os.environ.get(variable)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise config_error(variable, f"must be true or false (1/0, yes/no, on/off), got {raw!r}")


def env_int(variable: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(variable)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise config_error(variable, f"must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise config_error(variable, f"must be at least {minimum}, got {value}")
    return value


def env_list(variable: str, default: list[str]) -> list[str]:
    raw = os.environ.get(variable)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]
