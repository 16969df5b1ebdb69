"""neuroflash client: OAuth2 client credentials, workspace/usage/image-service reads, and the
"ds-prototypes" image generation API (generate, edit, models, history, delete, view).

Wire facts come from docs/provider-spec.md §1 (condensed from the public docs, with sources);
quirks that shape the code are commented where they bite.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any, TypeVar
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

import requests

from providers._parse import PayloadError
from providers.base import DS_FAMILIES, DsFamily, DsRoutes, ImageData
from providers.errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidRequestError,
    NotFoundError,
)
from providers.http import HttpClient, Timeouts, origin
from providers.netguard import NetworkPolicy
from providers.neuroflash_auth import ClientCredentials
from providers.neuroflash_payloads import (
    AccessToken,
    Generation,
    HistoryEntry,
    ImageModel,
    PageInfo,
    Quota,
    Workspace,
)
from providers.tokens import InMemoryTokenStore, TokenStore

logger = logging.getLogger("providers.neuroflash")

DEFAULT_ISSUER_URL = "https://id.neuroflash.com"
DEFAULT_API_BASE_URL = "https://app.neuroflash.com"
# The docs disagree on where the ds-prototypes routes live (spec §1.6.0): the reference puts
# every route under the bare prefix, the older overview every route under .../image_generation,
# and the guide generate and models under .../image_generation but history, edit and delete
# under the bare prefix. Discovery asks the server; until it has, the guide's layout is used:
# its code samples are the only ones that were run, and each family's default agrees with two
# of the three sources (generation: guide + overview; history: guide + reference).
DS_IMAGE_GENERATION = "/api/ds-prototypes/image_generation"
DS_BARE = "/api/ds-prototypes"
DEFAULT_DS_ROUTES = DsRoutes(generation=DS_IMAGE_GENERATION, history=DS_BARE)
# Where each family may be, most likely first.
DS_CANDIDATES: dict[DsFamily, tuple[str, ...]] = {
    "generation": (DS_IMAGE_GENERATION, DS_BARE),
    "history": (DS_BARE, DS_IMAGE_GENERATION),
}
# output_image_url always has this form, whatever prefix the calls use.
VIEW_PATH_TEMPLATE = "/api/ds-prototypes/image_generation/{image_id}/view"

HISTORY_MAX_LIMIT = 1000
CATALOG_MAX_PAGE_SIZE = 200
# Paging guard: a server that keeps claiming more pages must not make us loop forever.
MAX_PAGES = 1000

T = TypeVar("T")


class NeuroflashClient:
    """One service account (client id/secret) talking to one remote workspace."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        workspace_id: str | None = None,
        issuer_url: str = DEFAULT_ISSUER_URL,
        api_base_url: str = DEFAULT_API_BASE_URL,
        ds_routes: DsRoutes = DEFAULT_DS_ROUTES,
        pinned_routes: frozenset[DsFamily] = frozenset(),
        on_routes_discovered: Callable[[DsRoutes], None] | None = None,
        timeouts: Timeouts | None = None,
        token_store: TokenStore | None = None,
        session: requests.Session | None = None,
        name: str = "neuroflash",
        trust_env: bool = True,
        network: NetworkPolicy | None = None,
    ) -> None:
        if not client_id or not client_secret:
            raise ConfigurationError(
                f"{name} needs both a client ID and a client secret", provider=name
            )
        self.name = name
        self.client_id = client_id
        self.workspace_id = workspace_id or None
        self.issuer_url = issuer_url.rstrip("/")
        self.api_base_url = api_base_url.rstrip("/")
        self.ds_routes = DsRoutes(
            generation=_route_prefix(ds_routes.generation),
            history=_route_prefix(ds_routes.history),
        )
        # Families set by hand: used as given, never rediscovered.
        self.pinned_routes = pinned_routes
        self.on_routes_discovered = on_routes_discovered
        # Each family is rediscovered at most once per client (one job, one sync).
        self._rediscovered: set[DsFamily] = set()
        self.http = HttpClient(
            provider=name,
            timeouts=timeouts,
            session=session,
            trust_env=trust_env,
            # Unless told otherwise, the hosts this client was configured with may be local.
            network=network or NetworkPolicy.allowing([self.api_base_url, self.issuer_url]),
        )
        self.auth = ClientCredentials(
            http=self.http,
            issuer_url=issuer_url,
            client_id=client_id,
            client_secret=client_secret,
            token_store=token_store or InMemoryTokenStore(),
        )

    def __repr__(self) -> str:
        return (
            f"NeuroflashClient(name={self.name!r}, client_id={self.client_id!r}, "
            f"client_secret='***', workspace_id={self.workspace_id!r}, "
            f"issuer_url={self.issuer_url!r}, api_base_url={self.api_base_url!r}, "
            f"ds_routes={self.ds_routes!r})"
        )

    def close(self) -> None:
        self.http.close()

    # -- tokens ----------------------------------------------------------------------------

    @property
    def token_store(self) -> TokenStore:
        return self.auth.token_store

    def fetch_token(self) -> AccessToken:
        """A new token from the issuer, bypassing (and not updating) the cache."""
        return self.auth.fetch()

    def access_token(self) -> str:
        """A valid token from the store, fetching (once, under a lock) when none is cached."""
        return self.auth.token()

    # -- authenticated requests ------------------------------------------------------------

    def _send(
        self,
        method: str,
        url: str,
        *,
        action: str,
        ds: bool = False,
        **kwargs: Any,
    ) -> requests.Response:
        """An API call with the Bearer token; on 401, one token refresh and one replay."""
        headers = dict(kwargs.pop("headers", None) or {})
        if ds:
            # Every ds-prototypes call needs it; without it the service answers 400.
            headers["x-workspace-id"] = self._require_workspace()
        token = self.access_token()
        try:
            return self.http.send(
                method, url, action=action, headers={**headers, **_bearer(token)}, **kwargs
            )
        except AuthenticationError:
            # Expired or revoked token: there is no refresh token, so run client credentials
            # again, exactly once. A second 401 means the account itself lacks access.
            logger.info("%s answered 401 while %s; refreshing the token once", self.name, action)
        token = self.auth.refresh(stale=token)
        try:
            return self.http.send(
                method, url, action=action, headers={**headers, **_bearer(token)}, **kwargs
            )
        except AuthenticationError as exc:
            raise AuthenticationError(
                f"{self.name} rejected a freshly issued access token while {action} (401); "
                "the service account may lack access to this service",
                provider=self.name,
                status=401,
                code=exc.code,
                provider_message=exc.provider_message,
            ) from None

    def _json(self, method: str, url: str, *, action: str, **kwargs: Any) -> Any:
        response = self._send(method, url, action=action, **kwargs)
        return self.http.parse_json(response, action=action)

    def _parse(self, action: str, parser: Callable[[Any], T], data: Any) -> T:
        try:
            return parser(data)
        except (PayloadError, TypeError, ValueError) as exc:
            raise self.http.malformed(action, str(exc)) from None

    def _require_workspace(self, workspace_id: str | None = None) -> str:
        workspace = workspace_id or self.workspace_id
        if not workspace:
            raise ConfigurationError(
                f"no {self.name} workspace is chosen yet; pick one in the workspace settings",
                provider=self.name,
            )
        return workspace

    def _ws_url(self, service: str, workspace_id: str | None, *tail: str) -> str:
        ws = quote(self._require_workspace(workspace_id), safe="")
        return "/".join([self.api_base_url, "api", service, "v1", "workspaces", ws, *tail])

    def _ds_url(self, prefix: str, tail: str) -> str:
        return f"{self.api_base_url}{prefix}/{tail}"

    # -- where the ds-prototypes routes are ------------------------------------------------

    def discover_routes(self) -> DsRoutes:
        """Ask the server where each route family answers, with one cheap GET per candidate.

        A family set by hand is only checked where it was set. Raises ``ConfigurationError``
        when a family answers nowhere; other errors (401, 403, 5xx) propagate as they are.
        """
        found: dict[DsFamily, str] = {}
        missing: list[str] = []
        for family in DS_FAMILIES:
            candidates = self._candidates(family)
            prefix = self._locate(family, candidates)
            if prefix is None:
                missing.append(self._nowhere(family, candidates))
            else:
                found[family] = prefix
        if missing:
            seen = "; ".join(f"{family} answered at {prefix}" for family, prefix in found.items())
            raise ConfigurationError(
                f"{'; '.join(missing)}{f' ({seen})' if seen else ''}. Check the base URL, "
                "or set the route paths by hand in the provider settings",
                provider=self.name,
                status=404,
            )
        return DsRoutes(generation=found["generation"], history=found["history"])

    def _candidates(self, family: DsFamily, *, first: str | None = None) -> tuple[str, ...]:
        if family in self.pinned_routes:
            return (self.ds_routes.prefix(family),)
        ordered = (first, *DS_CANDIDATES[family]) if first else DS_CANDIDATES[family]
        return tuple(dict.fromkeys(ordered))

    def _nowhere(self, family: DsFamily, candidates: Sequence[str]) -> str:
        tried = ", ".join(_probe_path(family, prefix) for prefix in candidates)
        return f"no ds-prototypes {family} route answered at {self.api_base_url} (tried {tried})"

    def _locate(self, family: DsFamily, candidates: Sequence[str]) -> str | None:
        return next((p for p in candidates if self._answers(family, p)), None)

    def _answers(self, family: DsFamily, prefix: str) -> bool:
        """Whether the family's cheap GET answers under ``prefix``; 404 and 405 mean no."""
        params = {"limit": 1} if family == "history" else None
        try:
            self._send(
                "GET",
                f"{self.api_base_url}{_probe_path(family, prefix)}",
                action=f"looking for the ds-prototypes {family} routes",
                ds=True,
                params=params,
            )
        except NotFoundError:
            return False
        except InvalidRequestError as exc:
            if exc.status == 405:  # the path exists for another method: not this route
                return False
            raise
        return True

    def _ds_call(self, family: DsFamily, call: Callable[[str], T]) -> T:
        """``call(prefix)`` for the family's current prefix. On a 404, look once for the family
        elsewhere: if it moved, switch to (and report) the new prefix and call once more; if it
        is still where it was, the 404 was about the thing asked for and is raised as it is.

        Only a 404 gets here, never an unknown outcome: a generate that met a 404 did not
        reach the generator, so calling it again cannot charge twice.
        """
        prefix = self.ds_routes.prefix(family)
        try:
            return call(prefix)
        except NotFoundError as exc:
            if exc.outcome_unknown or family in self.pinned_routes or family in self._rediscovered:
                raise
            moved = self.rediscover(family, not_found=exc)
            if moved is None:
                raise
        return call(moved)

    def rediscover(self, family: DsFamily, *, not_found: NotFoundError) -> str | None:
        """After a 404: the family's new prefix (now in use), or None if it has not moved."""
        self._rediscovered.add(family)
        current = self.ds_routes.prefix(family)
        candidates = self._candidates(family, first=current)
        found = self._locate(family, candidates)
        if found is None:
            raise ConfigurationError(
                f"{not_found.message}, and {self._nowhere(family, candidates)}",
                provider=self.name,
                status=not_found.status,
            ) from not_found
        if found == current:
            return None
        logger.info("%s: the ds-prototypes %s routes moved to %s", self.name, family, found)
        self.ds_routes = replace(self.ds_routes, **{family: found})
        if self.on_routes_discovered is not None:
            try:
                self.on_routes_discovered(self.ds_routes)
            except Exception:
                # Remembering is an optimisation; the call itself must not fail on it.
                logger.exception("%s: could not store the rediscovered routes", self.name)
        return found

    # -- workspace, usage and image services -----------------------------------------------

    def list_workspaces(self) -> list[Workspace]:
        action = "listing workspaces"
        url: str | None = f"{self.api_base_url}/api/workspace-service/v1/workspaces"
        workspaces: list[Workspace] = []
        pages = 0
        while url and pages < MAX_PAGES:
            body = self._json("GET", url, action=action)
            pages += 1
            items = self._parse(action, _embedded_workspaces, body)
            workspaces.extend(self._parse(action, Workspace.from_api, item) for item in items)
            # Paging is undocumented; follow a HAL next link if one appears, but only on our
            # own host, because the request carries the Bearer token.
            url = _hal_next(body, base=url)
            if url and origin(url) != origin(self.api_base_url):
                url = None
        return workspaces

    def get_quotas(
        self, *, workspace_id: str | None = None, usage_type_key: str | None = "images"
    ) -> list[Quota]:
        action = "reading the quota"
        url = self._ws_url("usage-service", workspace_id, "quotas")
        params: dict[str, Any] = {}
        if usage_type_key:
            params["usageTypeKey"] = usage_type_key
        rows = self._paged(url, action=action, params=params, size=20, not_found="the workspace")
        return [self._parse(action, Quota.from_api, row) for row in rows]

    def get_image_quota(self, *, workspace_id: str | None = None) -> Quota | None:
        quotas = self.get_quotas(workspace_id=workspace_id, usage_type_key="images")
        for quota in quotas:
            if quota.usage_type_key in (None, "images"):
                return quota
        return None

    def iter_image_models(
        self, *, workspace_id: str | None = None, page_size: int = CATALOG_MAX_PAGE_SIZE
    ) -> Iterator[ImageModel]:
        """The image-service catalog, every page (``allowed`` says what this workspace may use)."""
        if not 1 <= page_size <= CATALOG_MAX_PAGE_SIZE:
            raise InvalidRequestError(
                f"the {self.name} model catalog page size must be 1 to {CATALOG_MAX_PAGE_SIZE}",
                provider=self.name,
            )
        action = "listing the image model catalog"
        url = self._ws_url("image-service", workspace_id, "image-models")
        rows = self._paged(url, action=action, params={}, size=page_size, not_found="the workspace")
        return (self._parse(action, ImageModel.from_api, row) for row in rows)

    def list_image_models(
        self, *, workspace_id: str | None = None, page_size: int = CATALOG_MAX_PAGE_SIZE
    ) -> list[ImageModel]:
        models = list(self.iter_image_models(workspace_id=workspace_id, page_size=page_size))
        return sorted(models, key=lambda m: (m.order is None, m.order or 0, m.name))

    def _paged(
        self,
        url: str,
        *,
        action: str,
        params: Mapping[str, Any],
        size: int,
        not_found: str,
    ) -> Iterator[Any]:
        """Rows of a ``{data, page}`` endpoint, 1-based ``page``, until ``totalPages``."""
        page = 1
        while page <= MAX_PAGES:
            body = self._json(
                "GET",
                url,
                action=action,
                params={**params, "page": page, "size": size},
                not_found=not_found,
            )
            if not isinstance(body, Mapping) or not isinstance(body.get("data"), list):
                raise self.http.malformed(action, "expected an object with a 'data' list")
            rows = body["data"]
            yield from rows
            info = PageInfo.from_api(body.get("page"))
            # Count pages ourselves: the doc example shows currentPage 0 as a placeholder, so
            # only totalPages is trusted, and an empty page always ends the loop.
            if not rows or info.total_pages is None or page >= info.total_pages:
                return
            page += 1

    # -- ds-prototypes image generation ----------------------------------------------------

    def generate(
        self,
        *,
        prompt: str,
        model: str | None = None,
        num_images: int | None = None,
        aspect_ratio: str | None = None,
        output_format: str | None = None,
        limit_generations: bool | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Generation:
        """Text to image (``POST {prefix}/``). Each image costs one credit."""
        body = _generation_body(
            provider=self.name,
            prompt=prompt,
            model=model,
            num_images=num_images,
            aspect_ratio=aspect_ratio,
            output_format=output_format,
            limit_generations=limit_generations,
            extra=extra,
        )
        return self._post_generation(
            "generation",
            "",
            body,
            action="generating images",
            not_found="the image generation route",
        )

    def edit(
        self,
        *,
        prompt: str,
        image_urls: Sequence[str],
        model: str | None = None,
        num_images: int | None = None,
        aspect_ratio: str | None = None,
        output_format: str | None = None,
        limit_generations: bool | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Generation:
        """Image to image (``POST {prefix}/edit``) from RELATIVE history ``output_image_url``s."""
        self._check_relative_sources(image_urls)
        body = _generation_body(
            provider=self.name,
            prompt=prompt,
            model=model,
            num_images=num_images,
            aspect_ratio=aspect_ratio,
            output_format=output_format,
            limit_generations=limit_generations,
            extra=extra,
        )
        body["image_urls"] = list(image_urls)
        return self._post_generation("history", "edit", body, action="editing an image")

    def _post_generation(
        self,
        family: DsFamily,
        tail: str,
        body: dict[str, Any],
        *,
        action: str,
        not_found: str | None = None,
    ) -> Generation:
        """The paid POST (generate or edit) on its route family, answered with a Generation."""
        data = self._ds_call(
            family,
            lambda prefix: self._json(
                "POST",
                self._ds_url(prefix, tail),
                action=action,
                ds=True,
                json_body=body,
                slow=True,
                not_found=not_found,
            ),
        )
        return self._parse(action, Generation.from_api, data)

    def _check_relative_sources(self, image_urls: Sequence[str]) -> None:
        # The service resolves these paths internally and answers 500 to absolute URLs, and
        # the absolute storage url from a generate response is not accepted either. Refusing
        # here gives the person a reason instead of a server error (and costs no request).
        if isinstance(image_urls, str) or not image_urls:
            raise InvalidRequestError(
                f"{self.name} needs at least one source image path for an edit",
                provider=self.name,
            )
        for url in image_urls:
            parts = urlsplit(url) if isinstance(url, str) else None
            if parts is None or parts.scheme or parts.netloc or not url.startswith("/"):
                shown = _describe_url(url)
                raise InvalidRequestError(
                    f"{self.name} edits only accept the relative output_image_url from history "
                    f"(like {VIEW_PATH_TEMPLATE.format(image_id='<id>')}), not {shown}",
                    provider=self.name,
                )

    def list_models(self) -> list[ImageModel]:
        """The ds-prototypes ``/models`` list (a bare array, snake_case fields)."""
        action = "listing image models"
        data = self._ds_call(
            "generation",
            lambda prefix: self._json(
                "GET", self._ds_url(prefix, "models"), action=action, ds=True
            ),
        )
        if not isinstance(data, list):
            raise self.http.malformed(action, "expected a list of models")
        return [self._parse(action, ImageModel.from_api, item) for item in data]

    def history_page(
        self, *, model: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[HistoryEntry]:
        if not 1 <= limit <= HISTORY_MAX_LIMIT:
            raise InvalidRequestError(
                f"{self.name} history pages hold 1 to {HISTORY_MAX_LIMIT} entries, not {limit}",
                provider=self.name,
            )
        if offset < 0:
            raise InvalidRequestError(
                f"{self.name} history offsets cannot be negative", provider=self.name
            )
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if model:
            params["model"] = model
        action = "reading the image history"
        data = self._ds_call(
            "history",
            lambda prefix: self._json(
                "GET", self._ds_url(prefix, "history"), action=action, ds=True, params=params
            ),
        )
        # The reference shows a bare array, the guide's code reads {"items": [...]}; accept both.
        if isinstance(data, list):
            items = data
        elif isinstance(data, Mapping) and isinstance(data.get("items"), list):
            items = data["items"]
        else:
            raise self.http.malformed(action, "expected a list or an object with 'items'")
        return [self._parse(action, HistoryEntry.from_api, item) for item in items]

    def history_pages(
        self, *, model: str | None = None, page_size: int = HISTORY_MAX_LIMIT
    ) -> Iterator[list[HistoryEntry]]:
        """Lazily page through the whole history (``offset`` until a short page).

        No total is documented, so a full page always means "ask for more". New generations
        made while paging shift offsets and could repeat an entry; ids already yielded are
        skipped so one pass never returns an image twice.
        """
        if not 1 <= page_size <= HISTORY_MAX_LIMIT:
            raise InvalidRequestError(
                f"{self.name} history pages hold 1 to {HISTORY_MAX_LIMIT} entries, not {page_size}",
                provider=self.name,
            )
        self._require_workspace()

        def pages() -> Iterator[list[HistoryEntry]]:
            seen: set[str] = set()
            offset = 0
            for _ in range(MAX_PAGES * 10):
                page = self.history_page(model=model, limit=page_size, offset=offset)
                fresh = [e for e in page if e.output_image_id not in seen]
                seen.update(e.output_image_id for e in fresh)
                if fresh:
                    yield fresh
                if len(page) < page_size:
                    return
                offset += len(page)

        return pages()

    def iter_history(
        self, *, model: str | None = None, page_size: int = HISTORY_MAX_LIMIT
    ) -> Iterator[HistoryEntry]:
        pages = self.history_pages(model=model, page_size=page_size)
        return (entry for page in pages for entry in page)

    def get_history_entry(self, image_id: str) -> HistoryEntry:
        """One entry by ``output_image_id`` (the image id, never the batch id)."""
        action = "reading an image"
        tail = f"history/{_segment(image_id, self.name)}"
        data = self._ds_call(
            "history",
            lambda prefix: self._json(
                "GET",
                self._ds_url(prefix, tail),
                action=action,
                ds=True,
                not_found=f"the image {image_id}",
            ),
        )
        return self._parse(action, HistoryEntry.from_api, data)

    def delete_history_entry(self, image_id: str) -> None:
        """Delete a generation and its stored image by ``output_image_id``; any 2xx is success."""
        tail = f"history/{_segment(image_id, self.name)}"
        self._ds_call(
            "history",
            lambda prefix: self._send(
                "DELETE",
                self._ds_url(prefix, tail),
                action="deleting an image",
                ds=True,
                not_found=f"the image {image_id}",
            ),
        )

    def view_image(self, image_id: str | None = None, *, path: str | None = None) -> ImageData:
        """The image bytes, from an ``output_image_url`` path or built from the image id."""
        if path is None:
            if not image_id:
                raise InvalidRequestError("an image id or path is required", provider=self.name)
            path = VIEW_PATH_TEMPLATE.format(image_id=_segment(image_id, self.name))
        url = self.resolve(path)
        response = self._send(
            "GET",
            url,
            action="downloading an image",
            ds=True,
            not_found=f"the image {image_id or path}",
            headers={"Accept": "image/*"},
        )
        return self._image_data(response, action="downloading an image")

    def resolve(self, url: str) -> str:
        """A relative provider path as an absolute URL on the API host."""
        return urljoin(self.api_base_url + "/", url)

    def _image_data(self, response: requests.Response, *, action: str) -> ImageData:
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip() or None
        if content_type and (content_type.startswith("text/") or "json" in content_type):
            raise self.http.malformed(action, f"got {content_type} instead of an image")
        if not response.content:
            raise self.http.malformed(action, "the image was empty")
        return ImageData(content=response.content, content_type=content_type)


def view_path(image_id: str) -> str:
    """The relative ``output_image_url`` of an image, as history hands it out."""
    return VIEW_PATH_TEMPLATE.format(image_id=quote(image_id, safe=""))


def _route_prefix(path: str) -> str:
    return "/" + path.strip("/") if path.strip("/") else ""


def _probe_path(family: DsFamily, prefix: str) -> str:
    """The cheap GET that shows whether a family lives under ``prefix``."""
    return f"{prefix}/models" if family == "generation" else f"{prefix}/history"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _segment(value: str, provider: str) -> str:
    if not value:
        raise InvalidRequestError("an image id is required", provider=provider)
    return quote(value, safe="")


def _describe_url(url: object) -> str:
    if not isinstance(url, str):
        return f"a {type(url).__name__}"
    parts = urlsplit(url)
    # Presigned storage URLs carry their signature in the query; do not echo it.
    return repr(urlunsplit(parts._replace(query="", fragment="")))


def _embedded_workspaces(body: Any) -> list[Any]:
    if not isinstance(body, Mapping):
        raise PayloadError("expected an object")
    embedded = body.get("_embedded")
    if embedded is None:
        return []  # HAL omits _embedded when the collection is empty
    if not isinstance(embedded, Mapping) or not isinstance(embedded.get("workspaces", []), list):
        raise PayloadError("expected _embedded.workspaces to be a list")
    return list(embedded.get("workspaces", []))


def _hal_next(body: Any, *, base: str) -> str | None:
    links = body.get("_links") if isinstance(body, Mapping) else None
    nxt = links.get("next") if isinstance(links, Mapping) else None
    href = nxt.get("href") if isinstance(nxt, Mapping) else None
    return urljoin(base, href) if isinstance(href, str) and href else None


def _generation_body(
    *,
    provider: str,
    prompt: str,
    model: str | None,
    num_images: int | None,
    aspect_ratio: str | None,
    output_format: str | None,
    limit_generations: bool | None,
    extra: Mapping[str, Any] | None,
) -> dict[str, Any]:
    if not prompt or not prompt.strip():
        raise InvalidRequestError("a prompt is required", provider=provider)
    body: dict[str, Any] = {"prompt": prompt}
    # The reference types "model" as an object with a {} example; the guide sends the model id
    # string, which is what the service actually takes.
    optional = {
        "model": model,
        "num_images": num_images,
        "aspect_ratio": aspect_ratio,
        "output_format": output_format,
        "limit_generations": limit_generations,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    body.update(extra or {})
    return body
