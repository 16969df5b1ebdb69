"""config.url_tag: `{% url %}` remembers answers, never across URLconfs or arguments."""

from __future__ import annotations

import pytest
from django.template import engines
from django.test import override_settings
from django.urls import NoReverseMatch, include, path

from config.urls import urlpatterns as darkroom


def render(source: str, **context: object) -> str:
    return engines["django"].from_string(source).render(context)


def test_it_answers_as_django_does():
    page = "{% url 'gallery:image_detail' slug pk %}|{% url 'gallery:home' slug=slug as home %}"
    assert render(page, slug="a-b", pk=3) == "/w/a-b/images/3/|"
    assert render(page, slug="team", pk=4) == "/w/team/images/4/|"
    assert render("{% url 'gallery:home' slug as u %}[{{ u }}]", slug="x") == "[/w/x/]"


def test_nothing_is_remembered_across_urlconfs():
    assert render("{% url 'gallery:home' 'x' %}") == "/w/x/"
    with override_settings(ROOT_URLCONF=__name__):
        assert render("{% url 'gallery:home' 'x' %}") == "/elsewhere/w/x/"
    assert render("{% url 'gallery:home' 'x' %}") == "/w/x/"


def test_a_wrong_name_still_fails():
    with pytest.raises(NoReverseMatch):
        render("{% url 'gallery:nothing' %}")
    assert render("{% url 'gallery:nothing' as u %}[{{ u }}]") == "[]"


urlpatterns = [path("elsewhere/", include(darkroom))]
