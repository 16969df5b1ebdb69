from __future__ import annotations

import re

from django.http import HttpResponse
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests.factories import DEFAULT_PASSWORD


def test_it_logs_a_member_in_by_email_and_opens_their_workspace(client, owner, workspace):
    response = client.post(
        reverse("login"), {"username": owner.email, "password": DEFAULT_PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("gallery:home", args=[workspace.slug])
    assert response.context["user"] == owner


def test_it_accepts_the_email_in_any_case(client, owner):
    response = client.post(
        reverse("login"), {"username": owner.email.upper(), "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 302


def test_it_explains_a_wrong_password_next_to_the_form(client, owner):
    response = client.post(reverse("login"), {"username": owner.email, "password": "wrong"})
    assert response.status_code == 200
    assert "Please enter a correct email address and password" in response.content.decode()


def test_it_locks_out_after_repeated_failures_even_with_the_right_password(client, owner, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": owner.email, "password": "guess"})
    response = client.post(
        reverse("login"), {"username": owner.email, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_it_logs_out_only_by_post(owner_client):
    assert owner_client.get(reverse("logout")).status_code == 405
    response = owner_client.post(reverse("logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in owner_client.session


def test_a_session_outlives_an_emptied_cache_and_a_logout_ends_it_in_both(owner_client, workspace):
    """Sessions are read from the cache and written through to the database (cached_db)."""
    from django.contrib.sessions.models import Session
    from django.core.cache import cache

    home = reverse("gallery:home", args=[workspace.slug])
    key = owner_client.session.session_key
    cache.clear()  # a restarted Redis: the database still has the session
    assert owner_client.get(home).status_code == 200
    owner_client.post(reverse("logout"))
    assert not Session.objects.filter(session_key=key).exists()
    cache.clear()
    assert owner_client.get(home).status_code == 302  # signed out, not back from the database


def test_it_changes_the_password(owner_client, owner):
    response = owner_client.post(
        reverse("password_change"),
        {
            "old_password": DEFAULT_PASSWORD,
            "new_password1": "a much better pass 42",
            "new_password2": "a much better pass 42",
        },
    )
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.check_password("a much better pass 42")


def test_it_shows_password_rules_next_to_the_field(owner_client):
    response = owner_client.post(
        reverse("password_change"),
        {"old_password": DEFAULT_PASSWORD, "new_password1": "123", "new_password2": "123"},
    )
    html = response.content.decode()
    assert 'class="field field-invalid"' in html
    assert "This password is too short" in html


def test_it_counts_failures_whatever_the_case_of_the_email(client, owner, settings):
    spellings = [owner.email, owner.email.upper(), f" {owner.email.title()} "]
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": spellings[attempt % 3], "password": "guess"})
    response = client.post(
        reverse("login"), {"username": "ALICE@EXAMPLE.COM", "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_it_locks_out_the_client_address_behind_a_proxy_not_the_proxy(client, owner, settings):
    settings.AXES_CLIENT_IP_CALLABLE = "accounts.auth.client_ip_behind_proxy"
    settings.TRUSTED_PROXY_COUNT = 1
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            reverse("login"),
            {"username": owner.email, "password": "guess"},
            HTTP_X_FORWARDED_FOR="203.0.113.9",
        )

    # The attacker cannot step out of the lockout by writing another address in front.
    spoofed = client.post(
        reverse("login"),
        {"username": owner.email, "password": DEFAULT_PASSWORD},
        HTTP_X_FORWARDED_FOR="198.51.100.4, 203.0.113.9",
    )
    assert spoofed.status_code == 429
    # The same person from another address, through the same proxy, is not locked out.
    elsewhere = Client().post(
        reverse("login"),
        {"username": owner.email, "password": DEFAULT_PASSWORD},
        HTTP_X_FORWARDED_FOR="198.51.100.4",
    )
    assert elsewhere.status_code == 302


def _admin_add_user(client: Client, email: str) -> HttpResponse:
    password = "a long and fine password 7"
    return client.post(
        reverse("admin:accounts_user_add"),
        {"email": email, "usable_password": "true", "password1": password, "password2": password},
    )


def test_it_refuses_a_second_account_whose_email_differs_only_in_case(client_for, make_user, owner):
    admin = client_for(make_user(is_staff=True, is_superuser=True))
    response = _admin_add_user(admin, "Alice@Example.com")
    assert response.status_code == 200
    assert "A user with this email address already exists." in response.content.decode()
    assert User.objects.filter(email__iexact="alice@example.com").count() == 1

    login = Client().post(
        reverse("login"), {"username": "Alice@Example.com", "password": DEFAULT_PASSWORD}
    )
    assert login.status_code == 302


def test_it_stores_a_new_email_in_lower_case(client_for, make_user):
    admin = client_for(make_user(is_staff=True, is_superuser=True))
    assert _admin_add_user(admin, "Carol@Example.COM").status_code == 302
    assert User.objects.filter(email="carol@example.com").exists()
    login = Client().post(
        reverse("login"),
        {"username": "carol@EXAMPLE.com", "password": "a long and fine password 7"},
    )
    assert login.status_code == 302


def test_it_logs_out_other_sessions_when_the_password_changes(client_for, owner):
    here, elsewhere = client_for(owner), client_for(owner)
    response = here.post(
        reverse("password_change"),
        {
            "old_password": DEFAULT_PASSWORD,
            "new_password1": "a much better pass 42",
            "new_password2": "a much better pass 42",
        },
        follow=True,
    )
    assert "anywhere else you were logged in, you are logged out" in response.content.decode()
    assert here.get(reverse("password_change")).status_code == 200
    assert elsewhere.get(reverse("password_change"))["Location"].startswith(reverse("login"))


def test_it_ties_every_error_of_a_field_to_it_once(owner_client):
    response = owner_client.post(
        reverse("password_change"),
        {"old_password": DEFAULT_PASSWORD, "new_password1": "123", "new_password2": "123"},
    )
    html = response.content.decode()
    assert html.count('id="id_new_password2_error"') == 1
    assert re.search(
        r'<div id="id_new_password2_error">(<p class="error">[^<]+</p>){2,}</div>', html
    )


def test_the_login_asks_for_an_email_with_the_email_keyboard(client):
    html = client.get(reverse("login")).content.decode()
    assert 'type="email" name="username"' in html


def test_it_pauses_an_address_that_tries_many_emails(client, owner, settings):
    settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS = 20
    for n in range(30):
        response = client.post(
            reverse("login"), {"username": f"guess-{n}@example.com", "password": "guess"}
        )
        if response.status_code == 429:
            break

    assert n == 19  # the 20th failure from this address pauses it
    html = response.content.decode()
    assert "Too many failed logins have come from your network address" in html
    assert "Try again in 15 min." in html
    # Even the right password for a real account is refused from there for now...
    again = client.post(reverse("login"), {"username": owner.email, "password": DEFAULT_PASSWORD})
    assert again.status_code == 429
    assert "_auth_user_id" not in client.session
    # ...while the same person from another address signs in.
    elsewhere = Client(REMOTE_ADDR="198.51.100.4").post(
        reverse("login"), {"username": owner.email, "password": DEFAULT_PASSWORD}
    )
    assert elsewhere.status_code == 302


def test_a_few_failures_of_different_people_from_one_office_pause_nobody(client, owner, settings):
    settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS = 20
    for n in range(19):
        client.post(reverse("login"), {"username": f"colleague-{n}@example.com", "password": "x"})

    response = client.post(
        reverse("login"), {"username": owner.email, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 302


def test_a_deactivated_account_with_the_right_password_is_told_it_is_deactivated(client, owner):
    User.objects.filter(pk=owner.pk).update(is_active=False)
    response = client.post(
        reverse("login"), {"username": owner.email.upper(), "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "This account is deactivated. Ask an admin of your workspace" in page
    assert "Please enter a correct email address" not in page
    assert "_auth_user_id" not in client.session


def test_a_deactivated_account_with_a_wrong_password_gets_the_generic_message(client, owner):
    User.objects.filter(pk=owner.pk).update(is_active=False)
    response = client.post(reverse("login"), {"username": owner.email, "password": "wrong"})
    page = response.content.decode()
    assert "Please enter a correct email address and password" in page
    assert "deactivated" not in page


def test_a_deactivated_account_is_told_so_in_german(client, owner):
    User.objects.filter(pk=owner.pk).update(is_active=False)
    response = client.post(
        reverse("login"),
        {"username": owner.email, "password": DEFAULT_PASSWORD},
        HTTP_ACCEPT_LANGUAGE="de",
    )
    assert "Dieses Konto ist deaktiviert." in response.content.decode()
