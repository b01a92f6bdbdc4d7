"""One name-to-object table per API package, with Keras's get, serialize and deserialize.

activations, initializers, regularizers and constraints each keep a :class:`Registry`.
Names are case-sensitive, as in Keras: a class is found by its class name
(``'GlorotUniform'``) and by its snake_case name (``'glorot_uniform'``), a function by its
``__name__``, and either by the aliases given when it was registered.

Configs follow Keras 3's format, ``{'module': ..., 'class_name': ..., 'config': {...},
'registered_name': ...}``; Keras 2's ``{'class_name': ..., 'config': {...}}`` reads too.
"""
import re

__all__ = ["Registry", "global_custom_objects", "to_snake_case"]

# Objects registered by name for the whole process (keras.saving.register_keras_serializable
# fills it); deserialize looks here after its custom_objects argument.
global_custom_objects = {}

_FORBID = object()


def to_snake_case(name):
    """Return Keras's snake_case form of a class name, e.g. 'GlorotUniform' -> 'glorot_uniform'.

    Args:
        name: A class or function name. Default required.
    """
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _kind_name(obj):
    return "None" if obj is None else type(obj).__name__


class Registry:
    """A case-sensitive table from Keras names to functions or classes of one kind.

    Args:
        kind: What the table holds, used in error messages ('activation'). Default required.
        module: The Keras module named in serialized configs ('keras.activations').
            Default required.
        none: What get(None) returns; a callable or None is returned as is, and the
            default forbids None. Defaults to None.
        instantiate: Whether get and deserialize turn a class into an instance by calling
            it without arguments. Defaults to True.
    """

    def __init__(self, kind, module, none=None, instantiate=True):
        self.kind = kind
        self.module = module
        self._none = none
        self._instantiate = instantiate
        self._table = {}
        self._string_kwargs = {}
        self._canonical = {}  # id(obj) -> the name serialize writes

    # ---- registration --------------------------------------------------------------------

    def register(self, obj=None, *, aliases=(), name=None):
        """Add a function or class under its name, its snake_case name and `aliases`.

        Usable as ``@registry.register`` or ``@registry.register(aliases=('one',))``.

        Args:
            obj: The function or class. Defaults to None (decorator form).
            aliases: More names for it. Defaults to ().
            name: Its canonical name, used by serialize for functions. Defaults to None
                (its ``__name__``).
        """
        def add(target):
            canonical = name or target.__name__
            names = [canonical]
            if isinstance(target, type):
                names.append(to_snake_case(canonical))
            names.extend(aliases)
            for n in names:
                if n in self._table and self._table[n] is not target:
                    raise ValueError(f"{self.kind}: the name {n!r} is already registered to "
                                     f"{self._table[n]!r}")
                self._table[n] = target
            self._canonical.setdefault(id(target), canonical)
            return target

        return add if obj is None else add(obj)

    def set_string_kwargs(self, name, **kwargs):
        """Make get(name) construct the class with these arguments instead of its defaults.

        Args:
            name: A registered name. Default required.
            **kwargs: The constructor arguments.
        """
        self.lookup(name)
        self._string_kwargs[name] = kwargs

    def names(self):
        """Return every registered name, sorted."""
        return sorted(self._table)

    def __contains__(self, name):
        return name in self._table

    def name_of(self, obj):
        """Return the canonical registered name of obj, or None when it is not registered.

        Args:
            obj: A function or class. Default required.
        """
        name = self._canonical.get(id(obj))
        return name if name is not None and self._table.get(name) is obj else None

    # ---- lookups -------------------------------------------------------------------------

    def _unknown(self, name):
        import difflib

        names = self.names()

        def score(n):  # ignore case first, then prefer the same case
            return (difflib.SequenceMatcher(None, name.lower(), n.lower()).ratio(),
                    difflib.SequenceMatcher(None, name, n).ratio())

        best = max(names, key=score, default=None)
        hint = f"; did you mean {best!r}?" if best is not None and score(best)[0] >= 0.6 else ""
        return ValueError(f"{self.kind}: unknown {self.kind} {name!r}; expected one of "
                          f"{names}{hint}")

    def lookup(self, name, custom_objects=None):
        """Return the object registered as name: custom_objects first, then global ones.

        Args:
            name: The name. Default required.
            custom_objects: Extra name-to-object mapping. Defaults to None.

        Raises:
            ValueError: For an unknown name, listing the known names and the closest one.
        """
        if not isinstance(name, str):
            raise TypeError(f"{self.kind}: expected a str name, received {_kind_name(name)}")
        for table in (custom_objects or {}, global_custom_objects, self._table):
            if name in table:
                return table[name]
        raise self._unknown(name)

    def _finish(self, obj, identifier, kwargs=None):
        if isinstance(obj, type) and self._instantiate:
            return obj(**(kwargs or {}))
        if not callable(obj):
            raise TypeError(f"{self.kind}: expected a callable {self.kind}, received "
                            f"{_kind_name(identifier)}")
        return obj

    def get(self, identifier):
        """Resolve a Keras identifier: None, a name, a config dict, a class or a callable.

        Args:
            identifier: What the user passed, e.g. ``'glorot_uniform'``,
                ``{'class_name': 'L2', 'config': {'l2': 0.1}}`` or an instance.
                Default required.

        Returns:
            The object (an instance for classes, unless this table keeps classes).
        """
        if identifier is None:
            if self._none is _FORBID:
                raise TypeError(f"{self.kind}: expected a name, a config dict or a callable, "
                                f"received None")
            return self._none
        if isinstance(identifier, str):
            return self._finish(self.lookup(identifier), identifier,
                                self._string_kwargs.get(identifier))
        if isinstance(identifier, dict):
            return self.deserialize(identifier)
        if not callable(identifier):
            raise TypeError(f"{self.kind}: expected a name, a config dict, a callable or None, "
                            f"received {_kind_name(identifier)} {identifier!r}")
        return self._finish(identifier, identifier)

    # ---- (de)serialization ---------------------------------------------------------------

    def serialize(self, obj):
        """Return obj's Keras config: a name for a registered function, else a dict.

        Args:
            obj: A function, an instance with get_config, or None. Default required.

        Returns:
            None, a str, or ``{'module', 'class_name', 'config', 'registered_name'}``.
        """
        if obj is None:
            return None
        if isinstance(obj, type):
            raise TypeError(f"{self.kind}: expected an instance or a function to serialize, "
                            f"received the class {obj.__name__}")
        name = self.name_of(obj)
        if name is not None and not hasattr(obj, "get_config"):
            return name
        if hasattr(obj, "get_config"):
            cls = type(obj)
            builtin = self.name_of(cls) is not None
            return {
                "module": self.module if builtin else cls.__module__,
                "class_name": cls.__name__,
                "config": obj.get_config(),
                "registered_name": None if builtin else cls.__name__,
            }
        if callable(obj) and hasattr(obj, "__name__"):
            return {"module": getattr(obj, "__module__", None), "class_name": "function",
                    "config": obj.__name__, "registered_name": obj.__name__}
        raise TypeError(f"{self.kind}: expected a function or an object with get_config to "
                        f"serialize, received {_kind_name(obj)}")

    def deserialize(self, config, custom_objects=None):
        """Rebuild an object from a name or a Keras 2 or Keras 3 config dict.

        Args:
            config: A str name, a config dict, a callable (returned as is) or None.
                Default required.
            custom_objects: Names of user objects to try first. Defaults to None.
        """
        if config is None:
            return None
        if isinstance(config, str):
            return self._finish(self.lookup(config, custom_objects), config)
        if not isinstance(config, dict):
            if callable(config):
                return config
            raise TypeError(f"{self.kind}: expected a name or a config dict, received "
                            f"{_kind_name(config)}")
        if "class_name" not in config:
            raise ValueError(f"{self.kind}: expected a config dict with the key 'class_name', "
                             f"received keys {sorted(config)}")
        class_name = config["class_name"]
        inner = config.get("config")
        if class_name == "function":  # Keras 3's form for a plain function
            names = [config.get("registered_name"), inner]
            for n in names:
                if isinstance(n, str) and n != "function":
                    try:
                        return self.lookup(n, custom_objects)
                    except ValueError:
                        pass
            return self.lookup(inner if isinstance(inner, str) else str(inner), custom_objects)
        obj = None
        registered = config.get("registered_name")
        if isinstance(registered, str) and registered != class_name:
            for table in (custom_objects or {}, global_custom_objects):
                if registered in table:
                    obj = table[registered]
                    break
        if obj is None:
            obj = self.lookup(class_name, custom_objects)
        if inner is None:
            inner = {}
        if not isinstance(obj, type):
            if inner:
                raise ValueError(f"{self.kind}: {class_name!r} is a function and takes no "
                                 f"config, received {inner!r}")
            return obj
        if not isinstance(inner, dict):
            raise TypeError(f"{self.kind}: expected the 'config' of {class_name!r} to be a "
                            f"dict, received {_kind_name(inner)}")
        if hasattr(obj, "from_config"):
            return obj.from_config(dict(inner))
        return obj(**inner)


Registry.FORBID = _FORBID
