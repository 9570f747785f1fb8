"""How a domain's routes get the service that domain built, without importing the composition root.

A route module declares what its routes need as a *placeholder* dependency: a function typed with
the service it gives, whose body only says it is not bound. The domain's ``build`` binds the
placeholder to the object it built (a :class:`Binding` in its handle), and the web layer's app applies
every domain's bindings (FastAPI's ``dependency_overrides``). So a route names its service by type,
the route module imports nothing above its own domain, and a reader goes from the ``Annotated`` alias
to the placeholder, and from there to the one ``build`` that binds it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, NoReturn, TypeVar

T_co = TypeVar("T_co", covariant=True)  # read-only: a Binding[Service] is a Binding[object]


class Unbound(LookupError):
    """A route ran in an app that was not given the domain's bindings (a wiring error, not a request's)."""


def unbound(what: str) -> NoReturn:
    raise Unbound(f"{what} is not bound: the domain's build binds it and api.app.create_app applies it")


@dataclass(frozen=True)
class Binding(Generic[T_co]):
    """``placeholder`` answers ``value`` in the app the binding is applied to."""

    placeholder: Callable[[], T_co]
    value: T_co

    def provider(self) -> Callable[[], T_co]:
        value = self.value

        def provide() -> T_co:
            return value

        return provide
