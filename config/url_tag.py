"""`{% url %}` with its answers remembered (a template builtin, so every template gets it).

A page's header and filter bar reverse about 20 URLs, each ≈30 µs of Django's resolver work, for
answers that only change with the URLconf: ≈0.5 ms a gallery page. This is Django's own tag;
only the call to `reverse()` is remembered, keyed by everything its answer depends on (the
URLconf, the script prefix, the name, the arguments, the current app). Arguments other than
strings and integers are not remembered (their text could change while their hash does not).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.conf import settings
from django.template import Context, Library
from django.template.base import Parser, Token
from django.template.defaulttags import URLNode
from django.template.defaulttags import url as django_url
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.html import conditional_escape

register = Library()


@lru_cache(maxsize=2048)
def _reverse(
    urlconf: str,
    prefix: str,
    view_name: str,
    args: tuple[str | int, ...],
    kwargs: tuple[tuple[str, str | int], ...],
    current_app: str | None,
) -> str:
    del prefix  # part of the key: reverse() reads it itself
    return reverse(
        view_name, urlconf=urlconf, args=args, kwargs=dict(kwargs), current_app=current_app
    )


def _plain(value: Any) -> bool:
    return type(value) in (str, int)


class RememberedURLNode(URLNode):
    def render(self, context: Context) -> str:
        args = [arg.resolve(context) for arg in self.args]
        kwargs = {k: v.resolve(context) for k, v in self.kwargs.items()}
        view_name = self.view_name.resolve(context)
        try:
            current_app = context.request.current_app  # type: ignore[attr-defined]
        except AttributeError:
            try:
                current_app = context.request.resolver_match.namespace  # type: ignore[attr-defined]
            except AttributeError:
                current_app = None
        url = ""
        try:
            if all(map(_plain, args)) and all(map(_plain, kwargs.values())):
                url = _reverse(
                    get_urlconf() or settings.ROOT_URLCONF,
                    get_script_prefix(),
                    view_name,
                    tuple(args),
                    tuple(sorted(kwargs.items())),
                    current_app,
                )
            else:
                url = reverse(view_name, args=args, kwargs=kwargs, current_app=current_app)
        except NoReverseMatch:
            if self.asvar is None:
                raise
        if self.asvar:
            context[self.asvar] = url
            return ""
        return conditional_escape(url) if context.autoescape else url


@register.tag
def url(parser: Parser, token: Token) -> RememberedURLNode:
    node = django_url(parser, token)
    return RememberedURLNode(node.view_name, node.args, node.kwargs, node.asvar)
