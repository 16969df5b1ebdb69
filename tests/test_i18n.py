"""German and English: every template string marked, every msgid translated, the language
following the user's choice, else the browser, and German in pages, emails and job errors."""

from __future__ import annotations

import re

import polib
import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts import services
from accounts.models import Notification, NotificationKind
from accounts.text import stored_text
from config import i18n_scan
from config.translations import compile_all
from gallery.models import Job, JobState
from gallery.services.runner import MAY_HAVE_BEEN_CHARGED

GERMAN = {"HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9,en;q=0.5"}
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


# --- Every string marked, every msgid translated -----------------------------------------------


@pytest.mark.parametrize("path", i18n_scan.templates(), ids=lambda p: p.name)
def test_every_template_string_is_marked_for_translation(path):
    source = path.read_text()
    unmarked = [run.text for run in i18n_scan.unmarked_runs(source)]
    unmarked += i18n_scan.unmarked_filter_literals(source)
    assert unmarked == [], f"{path.name}: wrap these in {{% translate %}}: {unmarked}"


def test_the_scanner_finds_text_attributes_and_filter_literals_left_unmarked():
    source = (
        '{% load i18n %}<p title="Open it">Hello {{ name }}</p>'
        "{% translate 'Marked' %}<code>make run</code>"
        '<script>const x = "not text";</script>{{ who|default:"someone" }}'
        '<a class="btn-primary" aria-label="{% translate "Fine" %}">{% blocktranslate %}Also'
        " fine{% endblocktranslate %}</a>{# a comment #}"
    )
    runs = [run.text for run in i18n_scan.unmarked_runs(source)]
    assert runs == ["Open it", "Hello {{ name }}"]
    assert i18n_scan.unmarked_filter_literals(source) == ['|default:"someone"']


def _catalogue() -> polib.POFile:
    return polib.pofile(str(i18n_scan.PO_PATH))


def test_the_catalogue_has_german_plural_forms():
    assert _catalogue().metadata["Plural-Forms"] == "nplurals=2; plural=(n != 1);"


def test_every_msgid_in_the_code_and_templates_has_a_german_translation():
    entries = {
        (e.msgctxt or "", e.msgid, e.msgid_plural or ""): e for e in _catalogue() if not e.obsolete
    }
    missing, untranslated = [], []
    for msgid, where in i18n_scan.all_msgids().items():
        entry = entries.get(msgid)
        if entry is None:
            missing.append((msgid[1], where))
        elif entry.fuzzy or not (
            entry.msgstr or (entry.msgstr_plural and all(entry.msgstr_plural.values()))
        ):
            untranslated.append(msgid[1])
    assert missing == [], "not in the catalogue (run `make messages`): " + repr(missing[:10])
    assert untranslated == [], "no German yet: " + repr(untranslated[:10])


def test_no_german_text_uses_a_placeholder_the_english_does_not_have():
    wrong = []
    for entry in _catalogue():
        english = set(PLACEHOLDER.findall(entry.msgid + (entry.msgid_plural or "")))
        german = [entry.msgstr, *entry.msgstr_plural.values()]
        if any(set(PLACEHOLDER.findall(text)) - english for text in german):
            wrong.append(entry.msgid)
    assert wrong == []


def test_the_catalogue_compiles_without_gnu_gettext(tmp_path):
    folder = tmp_path / "de" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "django.po").write_text(i18n_scan.PO_PATH.read_text())
    (mo,) = compile_all(tmp_path)
    compiled = polib.mofile(str(mo))
    assert compiled.find("Gallery").msgstr == "Galerie"


# --- Which language -----------------------------------------------------------------------------


def _home(client: Client, **headers: str) -> str:
    return client.get(reverse("gallery:home", args=["studio"]), **headers).content.decode()


def test_a_german_browser_gets_german_pages(owner_client):
    html = _home(owner_client, **GERMAN)
    assert '<html lang="de">' in html
    assert ">Galerie</a>" in html
    assert ">Generieren</a>" in html
    assert ">Einstellungen</a>" in html
    assert ">Gallery</a>" not in html
    assert ">Log out<" not in html


def test_without_a_language_header_darkroom_stays_english(owner_client):
    html = _home(owner_client)
    assert '<html lang="en-gb">' in html
    assert ">Gallery</a>" in html
    assert ">Galerie</a>" not in html


@pytest.mark.parametrize(
    ("name", "german", "english"),
    [
        ("gallery:generate", "Generieren · Studio", "Generate · Studio"),
        ("gallery:collections", "Sammlungen", "No collections yet"),
        ("gallery:usage", "Verbrauch", "Images per day, last 30 days"),
        ("gallery:review_queue", "Prüfen", "Keyboard shortcuts"),
        ("accounts:settings_members", "Mitglied hinzufügen", "Add a member"),
        ("accounts:settings_provider", "Verbindung testen", "Test connection"),
        ("accounts:settings_general", "Verlassen oder löschen", "Leave or delete"),
        ("tokens:list", "Deine Tokens", "Your tokens"),
    ],
)
def test_the_main_pages_are_german_for_a_german_browser(
    studio, owner_client, name, german, english
):
    html = owner_client.get(reverse(name, args=["studio"]), **GERMAN).content.decode()
    assert german in html
    assert english not in html


def test_the_users_choice_beats_the_browser_and_is_kept(owner, owner_client):
    back = reverse("gallery:home", args=["studio"])
    response = owner_client.post(reverse("language_set"), {"language": "de", "next": back})
    assert response.status_code == 302
    assert response["Location"] == back
    owner.refresh_from_db()
    assert owner.language == "de"
    assert ">Galerie</a>" in _home(owner_client, HTTP_ACCEPT_LANGUAGE="en")
    # Back to following the browser.
    owner_client.post(reverse("language_set"), {"language": ""})
    owner.refresh_from_db()
    assert owner.language == ""
    assert ">Gallery</a>" in _home(owner_client, HTTP_ACCEPT_LANGUAGE="en")
    assert ">Galerie</a>" in _home(owner_client, **GERMAN)


def test_the_language_form_needs_csrf_and_refuses_other_sites(owner, client_for):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(owner)
    assert strict.post(reverse("language_set"), {"language": "de"}).status_code == 403
    client = client_for(owner)
    response = client.post(
        reverse("language_set"), {"language": "de", "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("home")
    response = client.post(reverse("language_set"), {"language": "fr"})
    owner.refresh_from_db()
    assert owner.language == "de"  # an unknown language changes nothing


def test_the_language_form_is_in_the_account_menu(owner_client):
    html = _home(owner_client)
    assert f'action="{reverse("language_set")}"' in html
    assert 'name="language" value="de"' in html


def test_signed_out_pages_follow_the_browser(client):
    assert "Anmelden" in client.get(reverse("login"), **GERMAN).content.decode()
    assert "Log in" in client.get(reverse("login")).content.decode()


# --- Emails and stored messages -----------------------------------------------------------------


def test_an_email_goes_out_in_the_recipients_language(workspace, member, settings):
    settings.SITE_URL = "http://darkroom.example"
    member.language = "de"
    member.save()
    notification = Notification.objects.create(
        recipient=member,
        workspace=workspace,
        kind=NotificationKind.BUDGET_100,
        text="You have used all of your budget.",
        url="/w/studio/",
    )
    services.notification_email(notification_id=notification.pk)
    (email,) = mail.outbox
    assert email.subject == "[Studio] Dein ganzes Budget"
    assert "In Darkroom öffnen: http://darkroom.example/w/studio/" in email.body
    assert "Darkroom, Workspace Studio" in email.body
    assert translation.get_language() != "de"  # the worker's own language is left alone


def test_an_email_to_someone_without_a_choice_is_in_english(workspace, member):
    notification = Notification.objects.create(
        recipient=member, workspace=workspace, kind=NotificationKind.CAP_80, text="Heads up."
    )
    services.notification_email(notification_id=notification.pk)
    assert mail.outbox[0].subject == "[Studio] 80 % of the workspace cap"


def test_a_job_error_is_stored_in_english_and_shown_in_german(studio, member, member_client):
    job = Job.objects.create(
        workspace=studio,
        author=member,
        params={"prompt": "a lighthouse", "model": "sandbox-fast", "n": 1},
        state=JobState.FAILED,
        error=f"{MAY_HAVE_BEEN_CHARGED} (Sandbox timed out)",
    )
    url = reverse("gallery:job_card", args=[studio.slug, job.pk])
    html = member_client.get(url, HTTP_HX_REQUEST="true", **GERMAN).content.decode()
    assert "hat diese Bilder womöglich schon erstellt" in html
    assert "(Sandbox timed out)" in html  # the provider's own words stay as they came
    english = member_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "may already have generated" in english


def test_a_stored_text_nobody_translated_is_shown_as_it_is():
    with translation.override("de"):
        assert stored_text("Something only the provider says") == (
            "Something only the provider says"
        )
        assert stored_text("") == ""
