"""The accounts' data, one module per feature; import from `accounts.models`."""

from accounts.models.audit import (
    AuditEvent,
    AuditVerb,
)
from accounts.models.credentials import (
    ENTER_IT_AGAIN,
    KIND_FIELDS,
    ROUTE_FIELDS,
    SECRET_BOUND_FIELDS,
    ConnectionCheck,
    ProviderCredential,
    ProviderKind,
    kind_uses_secret,
    validate_route_path,
)
from accounts.models.notifications import (
    Notification,
    NotificationKind,
)
from accounts.models.tokens import (
    ApiToken,
    ApiTokenQuerySet,
)
from accounts.models.users import (
    Membership,
    Role,
    User,
    UserManager,
    Workspace,
    WorkspaceSlug,
)

__all__ = [
    "ENTER_IT_AGAIN",
    "KIND_FIELDS",
    "ROUTE_FIELDS",
    "SECRET_BOUND_FIELDS",
    "ApiToken",
    "ApiTokenQuerySet",
    "AuditEvent",
    "AuditVerb",
    "ConnectionCheck",
    "Membership",
    "Notification",
    "NotificationKind",
    "ProviderCredential",
    "ProviderKind",
    "Role",
    "User",
    "UserManager",
    "Workspace",
    "WorkspaceSlug",
    "kind_uses_secret",
    "validate_route_path",
]
