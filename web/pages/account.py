"""Pages: the account page (teams, members and invitations for owners, API tokens, password
and sessions) and the team switcher in the header. Secrets (a new token, an invitation link)
are rendered once in the response to the POST that made them, never flashed (the session
cookie is only signed), and never stored by a cache (``Cache-Control: no-store``)."""

from __future__ import annotations

from typing import Any, TypeVar, cast

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    session,
    url_for,
)

from shared.accounts import (
    ROLES,
    AccountError,
    cancel_invitation,
    change_password,
    create_invitation,
    create_token,
    members_of,
    pending_invitations,
    revoke_membership,
    revoke_token,
    rotate_session_token,
    set_role,
    tokens_of,
)
from shared.db import Base
from shared.models import ApiToken, Invitation, Membership
from web.errors import sentence
from web.extensions import db
from web.pages.forms import PasswordForm, RoleForm, SwitchTeamForm, TokenForm
from web.security import safe_next
from web.session import (
    TEAM_KEY,
    current_membership,
    current_team,
    current_user,
    is_owner,
    login_required,
    memberships,
    renew_login,
)

account_pages = Blueprint("account_pages", __name__)
Row = TypeVar("Row", bound=Base)
NO_STORE = {"Cache-Control": "no-store"}


def _render(
    status: int = 200,
    token_form: TokenForm | None = None,
    password_form: PasswordForm | None = None,
    **extra: Any,
) -> tuple[str, int]:
    owner = is_owner()
    page = render_template(
        "account/account.html",
        token_form=token_form or TokenForm(formdata=None),
        password_form=password_form or PasswordForm(formdata=None),
        memberships=memberships(),
        active=current_membership(),
        owner=owner,
        members=members_of(db.session, current_team().id) if owner else [],
        invitations=pending_invitations(db.session, current_team().id) if owner else [],
        tokens=tokens_of(db.session, current_user),
        **extra,
    )
    return page, status


def _secret(page: tuple[str, int]) -> tuple[str, int, dict[str, str]]:
    """A page showing a secret once: no browser or proxy may keep a copy of it."""
    return (*page, NO_STORE)


@account_pages.get("/account")
@login_required
def account() -> tuple[str, int]:
    return _render()


@account_pages.post("/teams/switch")
@login_required
def switch_team() -> Response:
    form = SwitchTeamForm()
    found = next((m for m in memberships() if m.team_id == form.team_id.data), None)
    if found is None:
        abort(403, "You are not a member of that team.")
    session[TEAM_KEY] = found.team_id
    flash(f"You are now working in {found.team.name}.", "success")
    return cast(Response, redirect(safe_next(form.next.data, "/account")))


def _require_owner() -> None:
    if not is_owner():
        abort(403, "Only the team's owners can manage its members.")


def _row_or_404(model: type[Row], row_id: int, missing: str, **scope: int) -> Row:
    """Row ``row_id`` if its columns match ``scope`` (its team, its user); else 404, the
    answer for a row that does not exist, so another team's ids reveal nothing."""
    row = db.session.get(model, row_id)
    if row is None or any(getattr(row, column) != value for column, value in scope.items()):
        abort(404, missing)
    return row


def _team_member(membership_id: int) -> Membership:
    return _row_or_404(Membership, membership_id, "No such member in this team.",
                       team_id=current_team().id)  # fmt: skip


@account_pages.post("/account/invitations")
@login_required
def invite() -> tuple[str, int, dict[str, str]]:
    _require_owner()
    _row, plain = create_invitation(db.session, current_team(), current_user)
    db.session.commit()
    link = url_for("auth_pages.signup", invite=plain, _external=True)
    return _secret(_render(201, new_invite=link))


@account_pages.post("/account/members/<id:membership_id>/revoke")
@login_required
def revoke_member(membership_id: int) -> Response | tuple[str, int]:
    _require_owner()
    member = _team_member(membership_id)
    email, itself = member.user.email, member.user_id == current_user.id
    try:
        revoke_membership(db.session, member)
    except AccountError as exc:
        return _render(409, error=sentence(str(exc)))
    db.session.commit()
    if itself:
        session.pop(TEAM_KEY, None)
    flash(f"{email} no longer belongs to the team; their tokens for it are revoked.", "success")
    return cast(Response, redirect(url_for("account_pages.account")))


@account_pages.post("/account/invitations/<id:invitation_id>/cancel")
@login_required
def cancel_invite(invitation_id: int) -> Response | tuple[str, int]:
    _require_owner()
    invitation = _row_or_404(Invitation, invitation_id, "No such invitation in this team.",
                             team_id=current_team().id)  # fmt: skip
    try:
        cancel_invitation(db.session, invitation)
    except AccountError as exc:
        db.session.rollback()
        return _render(409, error=sentence(str(exc)))
    db.session.commit()
    flash("The invitation is cancelled: its link no longer works.", "success")
    return cast(Response, redirect(url_for("account_pages.account")))


@account_pages.post("/account/members/<id:membership_id>/role")
@login_required
def change_role(membership_id: int) -> Response | tuple[str, int]:
    _require_owner()
    member = _team_member(membership_id)
    role = RoleForm().role.data
    try:
        set_role(db.session, member, role)
    except AccountError as exc:
        db.session.rollback()
        return _render(409 if role in ROLES else 400, error=sentence(str(exc)))
    email = member.user.email
    db.session.commit()
    flash(f"{email} is now {'an owner' if role == 'owner' else 'a member'} of the team.", "success")
    return cast(Response, redirect(url_for("account_pages.account")))


@account_pages.post("/account/tokens")
@login_required
def new_token() -> tuple[str, int] | tuple[str, int, dict[str, str]]:
    form = TokenForm()
    if not form.validate():
        return _render(400, token_form=form)
    row, plain = create_token(db.session, current_user, current_team(), form.name.data)
    db.session.commit()
    return _secret(_render(201, new_token=plain, new_token_row=row))


@account_pages.post("/account/tokens/<id:token_id>/revoke")
@login_required
def revoke(token_id: int) -> Response:
    token = _row_or_404(ApiToken, token_id, "No such token.", user_id=current_user.id)
    revoke_token(db.session, token)
    db.session.commit()
    flash(f"Token {token.name or token.prefix} is revoked: the API now refuses it.", "success")
    return cast(Response, redirect(url_for("account_pages.account")))


@account_pages.post("/account/password")
@login_required
def new_password() -> Response | tuple[str, int]:
    """A new password logs out every other browser; this one stays logged in."""
    form = PasswordForm()
    if not form.validate():
        return _render(400, password_form=form)
    try:
        change_password(current_user, form.current.data, form.password.data)
    except AccountError as exc:
        form.current.errors = [sentence(str(exc))]
        return _render(400, password_form=form)
    db.session.commit()
    renew_login(current_user)
    flash("Your password is changed; every other browser is logged out.", "success")
    return cast(Response, redirect(url_for("account_pages.account")))


@account_pages.post("/account/sessions/revoke")
@login_required
def log_out_everywhere() -> Response:
    """A new session token: every other browser (and any stolen cookie) is logged out."""
    rotate_session_token(current_user)
    db.session.commit()
    renew_login(current_user)
    flash("Every other browser is logged out; this one stays logged in.", "success")
    return cast(Response, redirect(url_for("account_pages.account")))
