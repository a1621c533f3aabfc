"""Every public function, class and method has a docstring, and every workload config field
a doc -- what the API reference and the generated workload pages are made of.

The public API is what the docs document (``docs/_ext/neuropcm_docgen.py``): every module
whose path has no ``_`` part, and in it the names of its ``__all__`` (or, without one, the
functions and classes it defines); a class's public methods and properties count too
(a docstring inherited from the method it overrides is enough).
"""

from __future__ import annotations

import dataclasses
import inspect
import types

import pytest

from neuropcm.config import Config, option

from docs_support import docgen as _docgen


#: Public methods without a docstring of their own or inherited, in modules whose owners
#: are changing them now. This list only shrinks: an entry that gains a docstring (or
#: disappears) fails ``test_known_gaps_are_still_gaps`` until it is removed here.
KNOWN_GAPS: set[str] = set()


def _public_members(cls) -> list[str]:
    """Names of the public methods and properties ``cls`` defines itself."""
    out = []
    for name, obj in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(obj, (staticmethod, classmethod)):
            obj = obj.__func__
        if inspect.isfunction(obj) or isinstance(obj, property):
            out.append(name)
    return out


def undocumented(modules) -> list[str]:
    """``module.name`` (or ``module.Class.member``) of every public function, class,
    method and property of ``modules`` (module objects) without a docstring. A class is
    checked in the module that defines it; a member's docstring may be inherited."""
    missing = []
    for mod in modules:
        if not inspect.getdoc(mod):
            missing.append(mod.__name__)
        names = getattr(mod, "__all__", None)
        if names is None:
            names = [n for n, o in vars(mod).items() if not n.startswith("_")
                     and (inspect.isfunction(o) or inspect.isclass(o))
                     and getattr(o, "__module__", None) == mod.__name__]
        for n in names:
            obj = getattr(mod, n, None)
            if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            if not str(getattr(obj, "__module__", "")).startswith("neuropcm"):
                continue
            home = f"{obj.__module__}.{obj.__qualname__}"
            if not inspect.getdoc(obj):
                missing.append(home)
            if inspect.isclass(obj):
                for m in _public_members(obj):
                    if not inspect.getdoc(getattr(obj, m)):
                        missing.append(f"{home}.{m}")
    return sorted(set(missing))


def undocumented_fields(cls, prefix: str = "") -> list[str]:
    """Fields (``section.field`` for nested sections) of the config class ``cls`` whose
    ``doc`` is empty (a callable doc is called)."""
    out = []
    for f in dataclasses.fields(cls):
        doc = f.metadata.get("doc")
        doc = doc() if callable(doc) else doc
        if not (isinstance(doc, str) and doc.strip()):
            out.append(prefix + f.name)
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING \
            else f.default
        if isinstance(default, Config):
            out += undocumented_fields(type(default), f"{prefix}{f.name}.")
    return out


def _public_modules():
    gen = _docgen()
    return [gen._import(m) for m in gen.public_modules()]


def test_every_public_function_and_class_has_a_docstring():
    missing = [m for m in undocumented(_public_modules()) if m not in KNOWN_GAPS]
    assert not missing, ("public functions, classes or methods without a docstring "
                         "(numpydoc: a summary line, Parameters/Returns where it helps):\n  "
                         + "\n  ".join(missing))


def test_known_gaps_are_still_gaps():
    """The exemption list only shrinks: remove an entry once it has a docstring."""
    found = set(undocumented(_public_modules()))
    fixed = sorted(KNOWN_GAPS - found)
    assert not fixed, ("these now have docstrings (or are gone); remove them from "
                       "KNOWN_GAPS:\n  " + "\n  ".join(fixed))


def test_the_check_finds_a_missing_docstring():
    mod = types.ModuleType("neuropcm_fake_module", "A module.")

    def documented():
        """Has one."""

    def bare():
        pass

    class Thing:
        """A class."""

        def method(self):
            pass

        @property
        def prop(self):
            """Documented."""

    for obj in (documented, bare, Thing):
        obj.__module__ = "neuropcm_fake_module"
    mod.__all__ = ["documented", "bare", "Thing"]
    mod.documented, mod.bare, mod.Thing = documented, bare, Thing
    found = undocumented([mod])
    assert any(f.endswith(".bare") for f in found)
    assert any(f.endswith("Thing.method") for f in found)
    assert not any(f.endswith((".documented", "Thing.prop", ".Thing")) for f in found)


def test_every_workload_field_has_a_doc():
    from neuropcm.workloads import workloads

    missing = {name: undocumented_fields(w.config) for name, w in workloads().items()}
    missing = {k: v for k, v in missing.items() if v}
    assert not missing, f"config fields without a doc (option(default, doc, ...)): {missing}"


def test_the_field_check_finds_a_missing_doc():
    @dataclasses.dataclass(frozen=True)
    class Inner(Config):
        depth: int = option(1, "", lo=0)

    @dataclasses.dataclass(frozen=True)
    class Outer(Config):
        size: int = option(2, "how many", lo=0)
        blank: float = option(1.0, "   ", unit="s", lo=0.0)
        later: str = option("a", lambda: "a doc made when asked")
        inner: Inner = option(Inner, "a nested section")  # noqa: RUF009 (a nested section)

    assert undocumented_fields(Outer) == ["blank", "inner.depth"]


@pytest.mark.parametrize("name", ["neuropcm.devices", "neuropcm.crossbar", "neuropcm.io"])
def test_documented_once(name):
    """A name a package re-exports is documented on one page only (its home)."""
    gen = _docgen()
    pages = {}
    for m in gen.public_modules():
        for n, obj in gen.module_members(m):
            pages.setdefault(id(obj), []).append(f"{m}.{n}")
    twice = [v for v in pages.values() if len(v) > 1]
    assert not twice, twice
    assert gen.module_members(name) or gen.public_modules(name)
