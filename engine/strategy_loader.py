"""Finding a strategy class by name, import path or file path, and building its config.

A strategy is named in one of three ways (``[strategy] name`` or ``path``, ``--strategy``):

- a registered name: the entry-point group ``obflow.strategies`` (the built-ins register
  there too, in obflow's own ``pyproject.toml``; an installed package adds its own);
- an import path, ``pkg.module:Class`` (or ``pkg.module.Class``);
- a file path, ``path/to/file.py:Class`` (or ``path/to/file.py`` holding one strategy).

Errors name what failed and the config key it came from.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import importlib.util
import inspect
import sys
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from engine.errors import ConfigError
from engine.strategy import is_compiled

GROUP = "obflow.strategies"


def registered() -> dict[str, Any]:
    """Registered strategy names -> their entry points."""
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def is_path(spec: str) -> bool:
    """Whether ``spec`` is an import or file path rather than a registered name."""
    return ":" in spec or "/" in spec or spec.endswith(".py") or "." in spec


def _is_strategy(obj: object) -> bool:
    return inspect.isclass(obj) and (is_compiled(obj) or callable(getattr(obj, "on_decision",
                                                                          None)))


@cache
def _load_file(path: Path) -> Any:
    """Import a strategy file as a module of its own (once per process)."""
    # A name fixed by the path: numba's disk cache files are named after the module.
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:8]
    name = f"obflow_strategy_{path.stem}_{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # numba and dataclasses look their module up by name
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _module(target: str, key: str, spec: str) -> Any:
    if target.endswith(".py") or "/" in target:
        path = Path(target).expanduser().resolve()
        if not path.is_file():
            raise ConfigError(key, f"no such strategy file: {target} (from {spec!r})")
        try:
            return _load_file(path)
        except Exception as exc:
            raise ConfigError(key, f"importing {target} failed: {type(exc).__name__}: "
                                   f"{exc}") from None
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as exc:
        raise ConfigError(key, f"no module named {exc.name!r} (from {spec!r}; is it on "
                               f"PYTHONPATH or installed?)") from None
    except Exception as exc:
        raise ConfigError(key, f"importing {target} failed: {type(exc).__name__}: "
                               f"{exc}") from None


def _from_path(spec: str, key: str) -> type:
    if ":" in spec:
        target, _, attr = spec.rpartition(":")
    elif spec.endswith(".py"):
        target, attr = spec, ""
    else:  # pkg.module.Class
        target, _, attr = spec.rpartition(".")
    module = _module(target, key, spec)
    if not attr:
        found = [obj for obj in vars(module).values()
                 if _is_strategy(obj) and obj.__module__ == module.__name__]
        if len(found) != 1:
            names = ", ".join(sorted(o.__name__ for o in found)) or "none"
            raise ConfigError(key, f"{target} must hold exactly one strategy class to be "
                                   f"named without ':Class' (found: {names})")
        return found[0]
    cls = getattr(module, attr, None)
    if cls is None:
        classes = sorted(n for n, o in vars(module).items() if _is_strategy(o))
        raise ConfigError(key, f"{target} has no {attr!r} (strategies in it: "
                               f"{', '.join(classes) or 'none'})")
    return cls


def strategy_class(spec: str, key: str = "strategy.name") -> type:
    """The strategy class ``spec`` names; ``key`` is the config key it came from."""
    spec = spec.strip()
    names = registered()
    if spec in names:
        try:
            cls = names[spec].load()
        except Exception as exc:
            raise ConfigError(key, f"strategy {spec!r} ({names[spec].value}) failed to "
                                   f"load: {type(exc).__name__}: {exc}") from None
    elif is_path(spec):
        cls = _from_path(spec, key)
    else:
        raise ConfigError(key, f"unknown strategy {spec!r} (registered: "
                               f"{', '.join(sorted(names)) or 'none'}; or give "
                               f"'pkg.module:Class' or 'path/to/file.py:Class')")
    if not _is_strategy(cls):
        raise ConfigError(key, f"{spec!r} is not a strategy: a strategy class has compiled "
                               f"kernels (engine.strategy.CompiledStrategy) or an "
                               f"on_decision(view) method")
    return cls


def build_params(cls: type, table: dict, section: str) -> Any:
    """The strategy's config from its TOML table (unknown or mistyped keys refused)."""
    from engine.config import build_section

    config_class = getattr(cls, "config_class", None)
    if config_class is None:
        if table:
            raise ConfigError(f"{section}.{sorted(table)[0]}",
                              f"strategy {cls.__name__} takes no parameters (give it a "
                              f"config_class dataclass)")
        return None
    if not dataclasses.is_dataclass(config_class):
        raise ConfigError(section, f"{cls.__name__}.config_class must be a dataclass")
    return build_section(config_class, table, section)


def load_strategy(spec: str, params: Any) -> Any:
    """An instance of the strategy ``spec`` names, with its config ``params``."""
    cls = strategy_class(spec)
    config_class = getattr(cls, "config_class", None)
    if config_class is None:
        return cls()
    return cls(config_class() if params is None else params)


def strategy_name(spec: str) -> str:
    """The name a strategy reports under (its ``name``, else its class name)."""
    cls = strategy_class(spec)
    return getattr(cls, "name", "") or cls.__name__


__all__ = ["GROUP", "build_params", "is_path", "load_strategy", "registered",
           "strategy_class", "strategy_name"]
