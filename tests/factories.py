from __future__ import annotations

import factory

from accounts.models import Membership, ProviderCredential, ProviderKind, Role, User, Workspace

DEFAULT_PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password(DEFAULT_PASSWORD)


class WorkspaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workspace
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Studio {n}")
    slug = factory.Sequence(lambda n: f"studio-{n}")
    credential = factory.RelatedFactory(
        "tests.factories.CredentialFactory", factory_related_name="workspace"
    )


class CredentialFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProviderCredential

    kind = ProviderKind.SANDBOX
    base_url = "http://127.0.0.1:8765"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    workspace = factory.SubFactory(WorkspaceFactory)
    role = Role.MEMBER
