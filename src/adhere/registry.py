"""One kind of registry for everything adhere can be extended with: constraints, model backends,
strategies and recipe stage kinds. Each concept has one :class:`Registry`, filled by its decorator
(``@adhere.constraint``, ``@backend``, ``@strategy``, ``@stage_kind``) in adhere's own modules and in
plugins.

A plugin is any installed package that names a module under the ``adhere.plugins`` entry point
group; importing the module runs its decorators::

    # the plugin's pyproject.toml
    [project.entry-points."adhere.plugins"]
    my_plugin = "my_plugin"

Plugins are imported once, the first time a registry is asked for a name or for its names (never
at ``import adhere``). A plugin that fails to import is one error line naming it.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from adhere.errors import AdhereError, InputError

PLUGIN_GROUP = "adhere.plugins"
T = TypeVar("T")
_plugins_loaded = False


class PluginError(AdhereError):
    """An installed plugin could not be imported. Exit code 2."""

    exit_code = 2


def load_plugins() -> list[str]:
    """Import every module the ``adhere.plugins`` entry points name (once); their names."""
    global _plugins_loaded
    from importlib.metadata import entry_points

    found = list(entry_points(group=PLUGIN_GROUP))
    if _plugins_loaded:
        return [point.name for point in found]
    _plugins_loaded = True  # set first: a plugin importing adhere's registries must not recurse
    for point in found:
        try:
            point.load()
        except Exception as error:  # noqa: BLE001 (any import failure of a third-party module)
            raise PluginError(f"adhere plugin {point.name!r} ({point.value}) failed to load: "
                              f"{type(error).__name__}: {error}; fix or uninstall it") from None  # fmt: skip
    return [point.name for point in found]


class Registry(Generic[T]):
    """Names to things of one kind, with adhere's built-ins and the plugins loaded on first use."""

    def __init__(self, what: str, builtins: Callable[[], None], error: type[Exception] = InputError):
        self.what = what
        self._builtins = builtins
        self._error = error
        self._items: dict[str, T] = {}
        self._ready = False

    def register(self, name: str, item: T) -> T:
        if name in self._items:
            raise ValueError(f"{self.what} {name!r} is registered twice")
        self._items[name] = item
        return item

    def _load(self) -> None:
        if not self._ready:
            self._ready = True
            self._builtins()
            load_plugins()

    def get(self, name: str) -> T:
        """The thing registered as ``name``; an unknown name is one line with the closest ones."""
        self._load()
        try:
            return self._items[name]
        except KeyError:
            close = difflib.get_close_matches(str(name), list(self._items), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(sorted(self._items))}"
            raise self._error(f"unknown {self.what} {name!r}{hint}") from None

    def names(self) -> list[str]:
        self._load()
        return list(self._items)

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._items

    def items(self) -> Iterator[tuple[str, T]]:
        self._load()
        return iter(list(self._items.items()))
