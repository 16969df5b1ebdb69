"""A form renderer that writes plain `<input>` and `<select>` widgets in Python.

Django renders every widget through templates, and a `<select>` through one template plus two
more per option: the gallery's filter bar (ten fields, ~30 options) cost ≈2.5 ms of each page.
This renderer writes the markup of Django's own templates (django/forms/widgets/input.html,
select.html, select_option.html and attrs.html) byte for byte, escaping as they do, and hands
any other template to the default renderer.
"""

from __future__ import annotations

from typing import Any

from django.forms.renderers import BaseRenderer, get_default_renderer
from django.utils.safestring import SafeString, mark_safe

from gallery.fast_html import conditional_escape

_WIDGETS = "django/forms/widgets/"
# Widgets whose template is just `{% include "django/forms/widgets/input.html" %}`.
_INPUTS = {f"{_WIDGETS}{name}.html" for name in ("input", "text", "search", "date", "checkbox")}
_SELECT = f"{_WIDGETS}select.html"
_OPTION = f"{_WIDGETS}select_option.html"


def _attrs(attrs: dict[str, Any]) -> str:
    """attrs.html: ` name="value"`, a bare ` name` for True, nothing for False."""
    return "".join(
        f" {conditional_escape(name)}"
        if value is True
        else f' {conditional_escape(name)}="{conditional_escape(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


def _input(widget: dict[str, Any]) -> str:
    value = widget["value"]
    shown = f' value="{conditional_escape(value)}"' if value is not None else ""
    return (
        f'<input type="{conditional_escape(widget["type"])}" '
        f'name="{conditional_escape(widget["name"])}"{shown}{_attrs(widget["attrs"])}>'
    )


def _select(widget: dict[str, Any]) -> str | None:
    parts = [f'<select name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, options, _ in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{conditional_escape(group_name)}">')
        for option in options:
            if option["template_name"] != _OPTION:
                return None  # a custom option template: let Django render it
            # The option template's own trailing newline is kept, as Django includes it.
            parts.append(
                f'\n  <option value="{conditional_escape(option["value"])}"'
                f"{_attrs(option['attrs'])}>{conditional_escape(option['label'])}</option>\n"
            )
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return "".join(parts)


class PythonWidgetRenderer(BaseRenderer):
    """`Form.default_renderer` for forms rendered on every page view (the gallery's filter bar)."""

    def get_template(self, template_name: str) -> Any:
        return get_default_renderer().get_template(template_name)

    def render(
        self, template_name: str, context: dict[str, Any], request: Any = None
    ) -> SafeString | str:
        html = None
        if template_name in _INPUTS:
            html = _input(context["widget"])
        elif template_name == _SELECT:
            html = _select(context["widget"])
        if html is None:
            return get_default_renderer().render(template_name, context, request)
        return mark_safe(html)  # noqa: S308 - every value above went through conditional_escape


RENDERER = PythonWidgetRenderer()
