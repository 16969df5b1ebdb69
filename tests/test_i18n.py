"""German and English: every template string marked, every msgid translated, the language
following the user's choice, else the browser, and German in pages, emails and job errors."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import polib
import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from accounts import notifications
from accounts.api_tokens import api_token_create
from accounts.models import ApiToken, Notification, NotificationKind
from accounts.templatetags.time_tags import ago, duration
from accounts.text import amount_text, stored_text
from config import i18n_scan
from config.translations import compile_all
from gallery.costs import CostEstimate, money
from gallery.ingest import STORAGE_TROUBLE
from gallery.models import Job, JobState, LedgerEntry, LedgerKind, Webhook, WebhookDelivery
from gallery.models.budgets import this_month
from gallery.services.budgets import notify_member_threshold
from gallery.services.job_errors import MAY_HAVE_BEEN_CHARGED, NEVER_RAN, STORE_FAILED
from gallery.services.webhook_delivery import RECEIVER_REFUSED

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
    notifications.notification_email(notification_id=notification.pk)
    (email,) = mail.outbox
    assert email.subject == "[Studio] Dein ganzes Budget"
    assert "In Darkroom öffnen: http://darkroom.example/w/studio/" in email.body
    assert "Darkroom, Workspace Studio" in email.body
    assert translation.get_language() != "de"  # the worker's own language is left alone


def test_an_email_to_someone_without_a_choice_is_in_english(workspace, member):
    notification = Notification.objects.create(
        recipient=member, workspace=workspace, kind=NotificationKind.CAP_80, text="Heads up."
    )
    notifications.notification_email(notification_id=notification.pk)
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


# --- Python strings people read -----------------------------------------------------------------


@pytest.mark.parametrize("path", list(i18n_scan.checked_python_files()), ids=lambda p: p.name)
def test_no_python_string_people_read_is_left_unmarked(path):
    unmarked = [str(u) for u in i18n_scan.unmarked_python_strings(path.read_text())]
    assert unmarked == [], f"{path}: wrap these in gettext, interpolate after: {unmarked}"


def test_the_python_check_finds_plain_strings_and_f_strings_where_people_read_them():
    source = """
messages.success(request, "Saved.")
messages.error(request, f"No {thing}.")
messages.info(request, _("Marked."))
raise ValidationError("Too long." if long else _("fine"))
raise ValidationError({"slug": f"/w/{slug}/ is taken"})
raise ValidationError(_("%(n)s is taken") % {"n": n})
forms.CharField(label="Name", help_text=_("Marked."), error_messages={"required": "Say it."})
forms.IntegerField(label=gettext_lazy("Count"), help_text="Up to %s." % n)
raise SubmitRefused("Over budget: {}".format(left))
raise SubmitRefused(message)
messages.warning(request, "Stays English on purpose.")  # i18n: stays English
log.error("Not for people: %s", x)
"""
    found = [(u.line, u.call) for u in i18n_scan.unmarked_python_strings(source)]
    assert found == [
        (2, "messages.success"),
        (3, "messages.error"),
        (5, "ValidationError"),
        (6, "ValidationError"),
        (8, "forms.CharField"),
        (8, "forms.CharField"),
        (9, "forms.IntegerField"),
        (10, "SubmitRefused"),
    ]


def test_the_api_is_not_checked_it_stays_english_by_design():
    checked = {p.relative_to(i18n_scan.BASE_DIR).parts[0] for p in i18n_scan.checked_python_files()}
    assert checked == {"accounts", "gallery", "config"}


# --- Money, dates and durations in the reader's format ------------------------------------------


def test_dollars_read_the_english_or_the_german_way():
    amount = Decimal("0.16")
    assert money(amount, "USD") == "$0.16"
    assert amount_text(Decimal("0.0112"), "USD") == "$0.0112"
    with translation.override("de"):
        assert money(amount, "USD") == "0,16\u00a0$"
        assert amount_text(Decimal("0.0112"), "USD") == "0,0112\u00a0$"
        assert amount_text(Decimal(4), "images") == "4 Bilder"
        assert amount_text(Decimal(1), "images") == "1 Bild"


def test_the_cost_preview_is_german_with_plurals():
    one = CostEstimate(images=1, quota_kind="credits", left_after=49)
    dollars = CostEstimate(
        images=2,
        quota_kind="balance",
        amount=Decimal("0.08"),
        currency="USD",
        left_after=Decimal("1.92"),
    )
    with translation.override("de"):
        assert one.text == "1 Bild vom Kontingent des Workspaces · danach noch 49 in diesem Monat"
        assert dollars.text == "2 Bilder · ≈ 0,08\u00a0$ · danach noch 1,92\u00a0$"
    assert one.text == "1 image of the workspace quota · leaves 49 this month"
    assert dollars.text == "2 images · ≈ $0.08 · leaves $1.92"


def test_durations_and_ago_are_german():
    now = timezone.now()
    with translation.override("de"):
        assert ago(now - dt.timedelta(days=2)) == "vor 2\u00a0Tagen"
        assert ago(now - dt.timedelta(minutes=5)) == "vor 5\u00a0Minuten"
        assert ago(now) == "gerade eben"
        assert duration(now - dt.timedelta(minutes=2, seconds=5), now) == "2 Min. 5 Sek."
    assert ago(now - dt.timedelta(days=2)) == "2\u00a0days ago"


def test_dates_use_the_languages_formats(owner, owner_client, studio):
    membership = owner.memberships.get(workspace=studio)
    api_token_create(membership=membership, name="CI", role="member")
    moment = dt.datetime(2026, 12, 1, 18, 30, tzinfo=dt.UTC)
    ApiToken.objects.update(created_at=moment)
    url = reverse("tokens:list", args=[studio.slug])
    assert "1. Dez. 2026" in owner_client.get(url, **GERMAN).content.decode()
    assert "1 Dec 2026" in owner_client.get(url).content.decode()


def test_the_ledger_csv_keeps_a_plain_decimal_point(owner, owner_client, studio):
    LedgerEntry.objects.create(
        workspace=studio,
        member=owner,
        kind=LedgerKind.SETTLE,
        amount=Decimal("0.0224"),
        unit="USD",
        period=this_month(),
    )
    url = reverse("gallery:usage_ledger_csv", args=[studio.slug])
    body = b"".join(owner_client.get(url, **GERMAN).streaming_content).decode()
    assert ",0.0224,USD," in body


# --- Stored texts -------------------------------------------------------------------------------


def test_a_budget_notification_is_stored_in_english_and_shown_in_german(
    studio, member, member_client
):
    notify_member_threshold(
        workspace=studio, user=member, used=Decimal(40), limit=Decimal(50), unit="images"
    )
    notification = Notification.objects.get(recipient=member)
    assert notification.text == "You have used 40 of your 50 images this month (80 %)."
    url = reverse("gallery:notifications", args=[studio.slug])
    html = member_client.get(url, **GERMAN).content.decode()
    german = "Von deinem Budget (50 Bilder) hast du in diesem Monat 40 verbraucht (80\u00a0%)."
    assert german in html
    assert "You have used" not in html
    assert "You have used 40 of your 50 images" in member_client.get(url).content.decode()


def test_a_webhook_delivery_error_is_stored_in_english_and_shown_in_german(studio, owner_client):
    webhook = Webhook.objects.create(
        workspace=studio, url="https://hooks.example/darkroom", secret_encrypted="x"
    )
    WebhookDelivery.objects.create(
        webhook=webhook,
        event="webhook.test",
        payload={},
        state="failed",
        attempts=1,
        error=RECEIVER_REFUSED % {"status": 404},
    )
    url = reverse("gallery:settings_webhooks", args=[studio.slug])
    html = owner_client.get(url, **GERMAN).content.decode()
    assert "Der Empfänger hat mit 404 abgelehnt; kein neuer Versuch." in html
    assert (
        "The receiver refused it with 404; not retried." in owner_client.get(url).content.decode()
    )


def test_a_job_error_with_values_is_shown_in_german_and_the_providers_words_stay():
    stored = NEVER_RAN["history"][1] % {"reason": "Sandbox timed out. ", "attempts": 3}
    with translation.override("de"):
        assert stored_text(stored) == (
            "Sandbox timed out. Der Verlauf des Anbieters zeigt, dass die Anfrage nie ausgeführt "
            "wurde. Nach 3 Versuchen aufgegeben; nichts wurde abgebucht."
        )
        # Our words inside our words: the storage's trouble is translated too.
        wrapped = STORE_FAILED % {"error": STORAGE_TROUBLE % {"what": "is full"}}
        assert stored_text(wrapped) == (
            "Die Bilder konnten nicht gespeichert werden: der Medienspeicher ist voll"
        )


# --- Walkthrough 15: labels built in Python, stored details, whole phrases ---------------------


def test_the_gallery_filter_labels_and_tile_labels_are_german(owner, owner_client, workspace):
    from tests.gallery.known_images import make_image

    make_image(workspace, owner, "a fox in snow")
    html = owner_client.get(reverse("gallery:home", args=[workspace.slug]), **GERMAN)
    page = html.content.decode()
    for label in ("Modell", "Autor", "Sammlung", "Quelle", "Bearbeitet", "Sortierung"):
        assert f'class="visually-hidden">{label}</label>' in page
    assert 'aria-label="„a fox in snow“ auswählen"' in page
    assert ">Model</label>" not in page
    assert "Select “" not in page


def test_the_add_member_form_and_the_delete_hint_are_german(owner_client, workspace):
    members = owner_client.get(
        reverse("accounts:settings_members", args=[workspace.slug]), **GERMAN
    )
    page = members.content.decode()
    assert '>E-Mail&nbsp;<span class="req"' in page
    assert '>Rolle&nbsp;<span class="req"' in page
    assert ">Email" not in page
    assert ">Role" not in page
    delete = owner_client.get(reverse("gallery:workspace_delete", args=[workspace.slug]), **GERMAN)
    assert f"Gib zur Bestätigung „{workspace.name}“ ein." in delete.content.decode()


@pytest.mark.parametrize(
    ("images", "english", "german"),
    [
        (1, "/w/brand/ with 1 image", "/w/brand/ mit einem Bild"),
        (6, "/w/brand/ with 6 images", "/w/brand/ mit 6 Bildern"),
    ],
)
def test_a_deleted_workspaces_detail_is_stored_in_english_and_shown_in_german(
    images, english, german
):
    from gallery.services.lifecycle import deleted_detail

    assert deleted_detail("brand", images) == english
    with translation.override("de"):
        assert stored_text(english) == german
    assert stored_text(english) == english


def test_the_review_queue_heading_and_budget_unit_read_as_german_phrases(
    owner, owner_client, workspace
):
    queue = owner_client.get(reverse("gallery:review_queue", args=[workspace.slug]), **GERMAN)
    assert "Ungeprüfte Bilder, neueste zuerst" in queue.content.decode()
    english = owner_client.get(reverse("gallery:review_queue", args=[workspace.slug]))
    assert "Unreviewed images, newest first" in english.content.decode()
    budgets = owner_client.get(reverse("gallery:settings_budgets", args=[workspace.slug]), **GERMAN)
    assert "in Bildern" in budgets.content.decode()


def test_an_audit_detail_written_in_german_is_stored_in_english_and_read_in_either(
    owner, owner_client, workspace, member
):
    """An admin working in German changes a role and adds someone: the log keeps English and
    each reader sees their own language (it once stored "as mitglied" for everyone)."""
    membership = member.memberships.get()
    owner_client.post(
        reverse("accounts:member_role", args=[workspace.slug, membership.pk]),
        {"role": "viewer"},
        **GERMAN,
    )
    added = owner_client.post(
        reverse("accounts:member_add", args=[workspace.slug]),
        {"email": "erin@example.com", "name": "Erin Evans", "role": "member"},
        **GERMAN,
    )
    assert added.status_code == 302
    audit = reverse("accounts:settings_audit", args=[workspace.slug])

    german = owner_client.get(audit, **GERMAN).content.decode()
    english = owner_client.get(audit).content.decode()

    assert "Mitglied → Betrachter" in german
    assert "als Mitglied" in german
    assert "Member → Viewer" in english
    assert "as Member" in english
    assert "mitglied" not in english.lower().replace("mitglieder", "")


@pytest.mark.parametrize(
    ("url", "german"),
    [
        ("http://127.0.0.2/hook", "127.0.0.2 ist eine Loopback-Adresse, mit der sich der Worker"),
        ("http://10.0.0.8/hook", "10.0.0.8 ist eine private Adresse"),
        ("http://169.254.169.254/", "ist eine Cloud-Metadaten-Adresse"),
        ("ftp://example.com/", "nur http://- und https://-Adressen sind erlaubt"),
        ("https://user:pw@example.com/", "keinen Benutzernamen und kein Passwort"),
        ("https://exa mple.com/", "Leer- oder Steuerzeichen"),
        ("http://a\\b/", "die Adresse enthält einen Backslash"),
        ("http:///path", "die Adresse hat keinen Host"),
        ("http://[::1", "die Adresse ist keine gültige URL"),
        ("http://169.254.1.1/", "169.254.1.1 ist eine Link-Local-Adresse"),
        ("http://100.64.0.1/", "100.64.0.1 ist eine nicht öffentliche Adresse"),
        ("http://localhost/", "localhost verweist auf "),  # 127.0.0.1 or ::1, a loopback address
    ],
)
def test_the_network_guards_reasons_read_german_in_a_refusal(url, german):
    """providers.netguard speaks English only; the refusal a German admin reads is German
    throughout (it once read "… Internet: 127.0.0.2 is a loopback address, which …")."""
    from gallery.services.webhooks import webhook_url_problem

    with translation.override("de"):
        problem = webhook_url_problem(url)
    assert problem is not None
    assert german in problem
    assert " is a " not in problem
    assert "resolves to" not in problem
    assert "the address" not in problem
    assert "are allowed" not in problem
    assert webhook_url_problem(url) != problem  # English stays English


def test_the_copy_buttons_and_the_settings_tab_speak_the_pages_language(owner_client, workspace):
    """What a Copy button says afterwards comes from the page (static/js/app.js reads it);
    Settings is the current tab on every settings page, Webhooks and Budgets included."""
    german = owner_client.get(reverse("gallery:settings_webhooks", args=[workspace.slug]), **GERMAN)
    html = german.content.decode()
    assert 'data-text-copied="Kopiert"' in html
    assert 'data-text-copy-failed="Drück Strg+C"' in html
    assert 'lang="en-gb" aria-pressed="false">English</button>' in html  # not "Englisch"
    settings_link = reverse("accounts:settings_members", args=[workspace.slug])
    for name in (
        "gallery:settings_webhooks",
        "gallery:settings_budgets",
        "accounts:settings_audit",
    ):
        page = owner_client.get(reverse(name, args=[workspace.slug])).content.decode()
        assert f'<a href="{settings_link}" aria-current="page">' in page, name
    tokens = owner_client.get(reverse("tokens:list", args=[workspace.slug])).content.decode()
    assert f'<a href="{settings_link}" >' in tokens  # a personal page, not a setting


def test_someones_words_are_quoted_the_readers_way():
    from accounts.templatetags.text_tags import quoted

    with translation.override("de"):
        assert quoted("ein Leuchtturm") == "„ein Leuchtturm“"
    with translation.override("en"):
        assert quoted("a <b>lighthouse</b>") == "“a &lt;b&gt;lighthouse&lt;/b&gt;”"
