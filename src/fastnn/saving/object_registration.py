"""Registering your own classes and functions so that saved models can name them.

A saved model refers to every object by name. Built-in objects are found in fastnn's
tables; your own layers, activations, losses... are found when they are registered
(``@register_keras_serializable(package='my_pkg')``, stored as ``'my_pkg>Name'``), passed
as ``custom_objects=`` to the loader, or in scope (``with custom_object_scope({...}):``).

Registered and scoped objects live in ``fastnn._registry.global_custom_objects``, the
table that every API registry (activations, initializers, losses...) consults after its
caller's ``custom_objects``.
"""
import inspect
import threading

from fastnn._registry import global_custom_objects

__all__ = ["CustomObjectScope", "custom_object_scope", "get_custom_objects",
           "get_registered_name", "get_registered_object", "register_keras_serializable",
           "registered_name_for"]

# object -> 'package>name'; and (module, __name__) -> 'package>name' for rewriting configs,
# which know an object only by its module and name.
_NAMES = {}
_NAMES_BY_ORIGIN = {}
_scope_lock = threading.RLock()


def register_keras_serializable(package="Custom", name=None):
    """Register a class or function under ``'package>name'`` for saving and loading.

    Args:
        package: The package part of the registered name. Defaults to 'Custom'.
        name: The name within the package. Defaults to None (the object's ``__name__``).

    Returns:
        A decorator that registers its argument and returns it unchanged.

    Example:
        >>> @register_keras_serializable(package="my_pkg")
        ... class Scale(fastnn.layers.Layer):
        ...     pass
        >>> get_registered_name(Scale)
        'my_pkg>Scale'
    """
    if not isinstance(package, str) or not package or ">" in package:
        raise ValueError(f"package: expected a non-empty str without '>', received "
                         f"{package!r}")
    if name is not None and (not isinstance(name, str) or not name):
        raise ValueError(f"name: expected a non-empty str or None, received {name!r}")

    def decorator(obj):
        if not callable(obj):
            raise TypeError(f"register_keras_serializable: expected a class or a function, "
                            f"received {type(obj).__name__}")
        if inspect.isclass(obj) and not hasattr(obj, "get_config"):
            raise TypeError(f"register_keras_serializable: the class {obj.__name__} has no "
                            f"get_config() method, so it cannot be saved; add one")
        registered = f"{package}>{name if name is not None else obj.__name__}"
        global_custom_objects[registered] = obj
        _NAMES[obj] = registered
        origin = (getattr(obj, "__module__", None), getattr(obj, "__name__", None))
        _NAMES_BY_ORIGIN[origin] = registered
        return obj

    return decorator


def get_registered_name(obj):
    """The name obj is registered under ('package>name'), else its ``__name__``.

    Args:
        obj: A class or function. Default required.
    """
    try:
        return _NAMES[obj]
    except (KeyError, TypeError):
        return obj.__name__


def registered_name_for(module, name):
    """The registered name of the object defined as ``module.name``, or None."""
    return _NAMES_BY_ORIGIN.get((module, name))


def get_registered_object(name, custom_objects=None, module_objects=None):
    """Find an object by name: custom_objects, then registered/scoped, then module_objects.

    Args:
        name: The name, e.g. 'my_pkg>Scale' or 'Scale'. Default required.
        custom_objects: A dict of names to objects. Defaults to None.
        module_objects: Another dict to look in last. Defaults to None.

    Returns:
        The object, or None when no table has it.
    """
    for table in (custom_objects or {}, global_custom_objects, module_objects or {}):
        if name in table:
            return table[name]
    return None


def get_custom_objects():
    """The live dict of registered and scoped objects (editing it registers objects).

    Example:
        >>> get_custom_objects()["my_act"] = my_act
    """
    return global_custom_objects


class CustomObjectScope:
    """Make objects findable by name while the ``with`` block runs (loading, from_config).

    Scopes nest; leaving one restores the names it replaced. The table is shared by the
    whole process, so a scope entered in one thread is visible in the others.

    Args:
        *args: Dicts of ``{name: object}``. Default none.

    Example:
        >>> with CustomObjectScope({"my_act": my_act}):
        ...     model = fastnn.models.load_model("model.keras")
    """

    _MISSING = object()

    def __init__(self, *args):
        objects = {}
        for i, arg in enumerate(args):
            if arg is None:
                continue
            if not isinstance(arg, dict):
                raise TypeError(f"custom_objects: expected a dict of names to objects, "
                                f"received {type(arg).__name__}")
            for key in arg:
                if not isinstance(key, str):
                    raise TypeError(f"custom_objects: expected str keys, received {key!r}")
            objects.update(arg)
        self.custom_objects = objects
        self._saved = []

    def __enter__(self):
        with _scope_lock:
            saved = {k: global_custom_objects.get(k, self._MISSING) for k in self.custom_objects}
            self._saved.append(saved)
            global_custom_objects.update(self.custom_objects)
        return self

    def __exit__(self, *exc):
        with _scope_lock:
            saved = self._saved.pop()
            for key, old in saved.items():
                if old is self._MISSING:
                    global_custom_objects.pop(key, None)
                else:
                    global_custom_objects[key] = old
        return False


custom_object_scope = CustomObjectScope
