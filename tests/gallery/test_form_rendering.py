"""The filter bar's widgets, written in Python (gallery.form_rendering), are Django's markup."""

from __future__ import annotations

import pytest
from django import forms
from django.forms.renderers import get_default_renderer
from django.http import QueryDict

from gallery.filters import FilterChoices, GalleryFilterForm
from gallery.form_rendering import RENDERER
from tests.factories import UserFactory

CHOICES = FilterChoices(
    models=[("flux-pro", "Flux <pro>"), ("nano", 'Nano "banana"')],
    members=[("7", "Ann & <b>Bo</b>")],
    collections=[("3", "Spring's board")],
    providers=["sandbox"],
)


@pytest.mark.parametrize(
    "query",
    [
        "",
        "q=fox&review=approved&favourites=1&sort=oldest",
        'q=<script>alert(1)</script>"&model=nano&author=me&since=2024-01-02&until=2024-01-05',
        "model=<gone>&author=x&collection=99&since=nope&until=2020-01-01&since=2021-01-01",
    ],
)
@pytest.mark.django_db
def test_every_widget_renders_as_django_renders_it(query):
    user = UserFactory()
    fast = GalleryFilterForm(QueryDict(query))
    slow = GalleryFilterForm(QueryDict(query), renderer=get_default_renderer())
    for form in (fast, slow):
        form.is_valid()
        form.offer(CHOICES, user=user)
    assert fast.renderer is RENDERER
    for name in fast.fields:
        assert str(fast[name]) == str(slow[name]), name
    assert "<script>" not in str(fast["q"])


def test_other_widgets_go_to_the_templates():
    class Other(forms.Form):
        choice = forms.MultipleChoiceField(
            choices=[("a", "A")], widget=forms.CheckboxSelectMultiple
        )

    html = str(Other(renderer=RENDERER)["choice"])
    assert html == str(Other(renderer=get_default_renderer())["choice"])
    assert 'type="checkbox"' in html
