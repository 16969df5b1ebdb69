from __future__ import annotations

from django.urls import reverse

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
