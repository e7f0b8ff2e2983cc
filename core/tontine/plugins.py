"""The plugin manager: one per app, built inside ``create_app``.

Plugins are modules found through the ``tontine`` entry-point group; an instance enables
them by entry-point name in ``config.toml``. Core behaviour is registered first as the
default plugin, so plugins extend it the same way.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

import pluggy

from tontine import hookspecs
from tontine.config import ConfigError

GROUP = "tontine"


def installed_plugins() -> dict[str, Any]:
    """Entry-point name → entry point, for every installed plugin."""
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def build_plugin_manager(
    enabled: list[str], extra: list[ModuleType | object] | None = None
) -> pluggy.PluginManager:
    """Register the defaults, then each enabled plugin, then ``extra`` objects (tests)."""
    from tontine import defaults

    pm = pluggy.PluginManager(GROUP)
    pm.add_hookspecs(hookspecs)
    pm.register(defaults, name="tontine.defaults")
    available = installed_plugins()
    unknown = [name for name in enabled if name not in available]
    if unknown:
        raise ConfigError(
            f"unknown plugin(s) {', '.join(sorted(unknown))}; "
            f"installed: {', '.join(sorted(available)) or 'none'}"
        )
    for name in enabled:
        if pm.get_plugin(name) is None:
            pm.register(available[name].load(), name=name)
    for plugin in extra or []:
        pm.register(plugin)
    pm.check_pending()
    return pm


def collect(pm: pluggy.PluginManager, hook: str, **kwargs: Any) -> list[Any]:
    """Call a ``register_*`` hook and flatten the lists its implementations return."""
    items: list[Any] = []
    for result in getattr(pm.hook, hook)(**kwargs):
        if result:
            items.extend(result)
    return items
