"""Named extension points: one small :class:`Registry` class for every "name -> object"
table of the project (drift compensations, refresh rules, file kinds).

An extension is one class (or object) plus one registration; everything that offers a
choice (config validation, ``--help``, workloads) reads the registry when it is used, so a
name registered later is accepted everywhere without editing other files. A name is
registered once: a second registration with another object is refused (unregister first).

This module is on the base floor: it imports only :mod:`neuropcm.errors`.

Examples
--------
>>> rules = Registry("greeting", how="rules.register(name, obj)")
>>> @rules.register("hello")
... def hello(who="world"):
...     return f"hello {who}"
>>> rules.get("hello")()
'hello world'
>>> rules.build({"name": "hello", "who": "PCM"})
'hello PCM'
>>> "hello" in rules, rules.names()
(True, ('hello',))
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

from .errors import ParameterError, UnknownPresetError

__all__ = ["Registry"]

_MISSING = object()


def _same(a, b) -> bool:
    """Whether a registration of ``b`` repeats ``a`` (the same object, or an equal one)."""
    if a is b:
        return True
    try:
        return type(a) is type(b) and bool(a == b)
    except Exception:  # an == that does not answer a plain bool (arrays): not the same
        return False


class Registry:
    """A table of named objects of one kind, kept in registration order.

    Parameters
    ----------
    what : str
        What the entries are, for messages (``"drift compensation"``).
    how : str
        How a user registers one, quoted in the error for an unknown name
        (``"neuropcm.crossbar.COMPENSATIONS.register(cls)"``).
    key : callable, optional
        ``key(obj) -> name``: lets :meth:`register` take the object alone (its name read
        from it, e.g. a class attribute ``name``).
    check : callable, optional
        ``check(name, obj)``: validates an entry before it is stored (raises
        :class:`~neuropcm.errors.ParameterError`).

    Notes
    -----
    :meth:`register` refuses a name already held by another object; item assignment
    (``registry[name] = obj``) replaces it, as a ``dict`` does, and ``del registry[name]``
    removes it, so ``monkeypatch.setitem`` can register an entry for one test.

    Examples
    --------
    >>> shapes = Registry("shape", how="shapes.register(name, obj)")
    >>> shapes.register("square", 4)
    4
    >>> shapes.get("circle")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    neuropcm.errors.UnknownPresetError: unknown shape 'circle'; known: ['square']; register...
    """

    def __init__(self, what: str, how: str, *, key: Callable[[Any], str] | None = None,
                 check: Callable[[str, Any], None] | None = None):
        self.what = what
        self.how = how
        self._key = key
        self._check = check
        self._items: dict[str, Any] = {}

    # ------------------------------------------------------------------ registration
    def register(self, name, obj=_MISSING):
        """Register ``obj`` under ``name`` and return it.

        ``register(name, obj)``; ``register(name)`` as a decorator; with a ``key``,
        ``register(obj)`` or a bare ``@register`` (the name read from the object).

        Raises
        ------
        ParameterError
            The name is not a non-empty string, ``check`` refuses the entry, or the name
            is already registered with another object.
        """
        if obj is _MISSING:
            if isinstance(name, str):
                return lambda o: self.register(name, o)
            if self._key is None:
                raise ParameterError(f"{self.what} registry: register(name, obj) needs a "
                                     f"name, got only {name!r}")
            name, obj = self._key(name), name
        self._validate(name, obj)
        old = self._items.get(name, _MISSING)
        if old is not _MISSING and not _same(old, obj):
            raise ParameterError(f"{self.what} {name!r} is already registered as {old!r}; "
                                 f"unregister({name!r}) it first or choose another name")
        self._items[name] = obj
        return obj

    def unregister(self, name: str):
        """Remove ``name`` and return its object (:class:`UnknownPresetError` if absent)."""
        obj = self.get(name)
        del self._items[name]
        return obj

    def _validate(self, name, obj) -> None:
        if not isinstance(name, str) or not name:
            raise ParameterError(f"{self.what} name = {name!r} must be a non-empty string")
        if self._check is not None:
            self._check(name, obj)

    # ------------------------------------------------------------------ lookup
    def get(self, name: str, default=_MISSING):
        """The object registered as ``name`` (``default`` if given and ``name`` is not).

        Raises
        ------
        UnknownPresetError
            ``name`` is not registered and no default is given; the message lists the
            known names and says how to register one.
        """
        try:
            return self._items[name]
        except (KeyError, TypeError):  # TypeError: an unhashable name
            if default is not _MISSING:
                return default
            raise self.unknown(name) from None

    def unknown(self, name, where: str | None = None) -> UnknownPresetError:
        """The error for an unknown ``name`` (``where`` prefixes it): known names and how to
        register one, on one line."""
        head = f"{where}: " if where else ""
        return UnknownPresetError(f"{head}unknown {self.what} {name!r}; known: "
                                  f"{list(self._items)}; register one with {self.how}")

    def names(self) -> tuple[str, ...]:
        """The registered names, in registration order."""
        return tuple(self._items)

    def items(self):
        """``(name, object)`` pairs, in registration order."""
        return self._items.items()

    def values(self):
        """The registered objects, in registration order."""
        return self._items.values()

    def build(self, spec, where: str | None = None):
        """Call the entry a spec names: ``"name"`` -> ``get(name)()``, ``{"name": name,
        **settings}`` -> ``get(name)(**settings)``.

        Raises
        ------
        UnknownPresetError
            The spec names no registered entry.
        ParameterError
            The spec is neither a name nor such a dict, or the entry refuses the settings
            (one line naming them).
        """
        label = where or self.what
        if isinstance(spec, str):
            name, settings = spec, {}
        elif isinstance(spec, dict) and "name" in spec:
            settings = dict(spec)
            name = settings.pop("name")
        else:
            raise ParameterError(f"{label} = {spec!r} must be a name or a dict "
                                 f"{{'name': ..., **settings}}; known names: {list(self._items)}")
        if not isinstance(name, str) or name not in self._items:
            raise self.unknown(name, where)
        try:
            return self._items[name](**settings)
        except (TypeError, ValueError) as e:
            raise ParameterError(f"{label}: {self.what} {name!r} with settings {settings!r} "
                                 f"is invalid ({e})") from None

    # ------------------------------------------------------------------ mapping protocol
    def __getitem__(self, name: str):
        return self.get(name)

    def __setitem__(self, name: str, obj) -> None:
        self._validate(name, obj)
        self._items[name] = obj

    def __delitem__(self, name: str) -> None:
        self.unregister(name)

    def __contains__(self, name) -> bool:
        try:
            return name in self._items
        except TypeError:
            return False

    def __iter__(self) -> Iterator[str]:
        return iter(tuple(self._items))  # a snapshot: registering while iterating is safe

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Registry({self.what!r}, {list(self._items)})"
