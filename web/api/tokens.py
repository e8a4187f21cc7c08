"""API authentication: ``Authorization: Bearer <token>``, each token acting for one team."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import g, request

from shared.accounts import authenticate_token
from shared.models import ApiToken
from web.errors import ApiError
from web.extensions import db

F = TypeVar("F", bound=Callable[..., Any])
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="occlab"'}


def require_token(view: F) -> F:
    """Run ``view`` only with a live token; ``g.token`` is then its row (team and user)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        scheme, _, plain = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not plain.strip():
            raise ApiError(
                401, "send your API token as 'Authorization: Bearer <token>'", None, CHALLENGE
            )
        token = authenticate_token(db.session, plain.strip())
        if token is None:
            raise ApiError(
                401, "the API token is unknown or revoked: create a new one", None, CHALLENGE
            )
        db.session.commit()  # keeps last_used_at, which tells owners which tokens are live
        g.token = token
        return view(*args, **kwargs)

    return cast(F, wrapped)


def current_token() -> ApiToken:
    return cast(ApiToken, g.token)


def team_id() -> int:
    return current_token().team_id
