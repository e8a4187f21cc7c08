"""Pages: sign up, log in and log out.

Logins are rate-limited per (email, address) against guessing one password and per address
against spraying one password over many emails; sign-ups per address (10 accounts an hour).
Each attempt is counted before its password is checked (a sign-up before its account is
made), so parallel requests cannot all pass a check made before any was counted. The
address is ``request.remote_addr``: behind a reverse proxy set ``OCCLAB_PROXY_HOPS`` so it
is the client's, not the proxy's (see web/app.py). The counters are ``limits`` of
web/extensions.py; the fields and their rules, web/pages/forms.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import logout_user
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import TooManyRequests

from shared.accounts import (
    AccountError,
    accept_invitation,
    find_invitation,
    find_user,
    rotate_session_token,
    sign_up,
    verify_password,
)
from shared.models import Invitation, User
from web.errors import sentence
from web.extensions import db, limits
from web.pages.forms import JoinForm, LoginForm, SignupForm
from web.params import ceil_div
from web.security import safe_next
from web.session import TEAM_KEY, current_user, login_required, start_login

auth_pages = Blueprint("auth_pages", __name__)

AFTER_SIGNUP = "/submit"
# Verified against when the email is unknown, so both failures take the same time.
_DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$NDG6SmOrbpaPzLRxrR4lmQ$"
    "dbT3uwepgCijEE0LRlk6ics0AOlBCSk/6/J50Bjx624"
)


def _too_many(
    seconds: int,
    whose: str = "for this email from your network",
    what: str = "failed logins",
) -> TooManyRequests:
    minutes = max(1, ceil_div(seconds, 60))
    return TooManyRequests(
        f"Too many {what} {whose}. Try again in {minutes} minute{'s' if minutes != 1 else ''}.",
        retry_after=seconds,
    )


@dataclass(frozen=True)
class Attempt:
    address_key: str
    pair_key: str
    count: int  # attempts on the pair in this window, this one included
    window_left: int


def _admit(email: str) -> Attempt:
    """Count this attempt against the address, then the pair; 429 if either is over."""
    login, address = limits.login, request.remote_addr or ""
    address_key = login.address.key(address)
    count, left = login.address.count(address_key)
    if login.address.over(count):
        raise _too_many(left, "from your network")
    pair_key = login.pair.key(email.lower(), address)
    count, left = login.pair.count(pair_key)
    if login.pair.over(count):
        # Refused before any password was checked: not a guess against the address's budget.
        login.address.give_back(address_key)
        raise _too_many(left)
    return Attempt(address_key, pair_key, count, left)


def _start_session(user: User, remember: bool = False) -> None:
    """A fresh session (no fixation), working in the user's first team."""
    session.clear()
    start_login(user, remember)
    if user.memberships:
        session[TEAM_KEY] = min(user.memberships, key=lambda m: m.id).team_id


def _check_password(email: str, password: str) -> User | None:
    try:
        user = find_user(db.session, email)
    except AccountError:
        user = None
    if user is None or not user.is_active:
        verify_password(_DUMMY_HASH, password)
        return None
    return user if verify_password(user.password_hash, password) else None


@auth_pages.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int]:
    next_url = safe_next(request.values.get("next"))
    if current_user.is_authenticated and request.method == "GET":
        return cast(Response, redirect(next_url))
    form = LoginForm()
    if request.method == "GET":
        return _login_page(form, next_url)
    attempt = _admit(form.email.data)
    user = _check_password(form.email.data, form.password.data)
    if user is None:
        if attempt.count >= limits.login.pair.limit:  # that was the last try: say so now
            raise _too_many(attempt.window_left)
        error = "That email and password do not match an account."
        return _login_page(form, next_url, error), 401
    # Only failures count: forget the pair's, and give back this attempt on the address.
    limits.login.pair.reset(attempt.pair_key)
    limits.login.address.give_back(attempt.address_key)
    _start_session(user, remember=form.remember.data)
    return cast(Response, redirect(next_url))


def _login_page(form: LoginForm, next_url: str, error: str | None = None) -> str:
    return render_template("auth/login.html", form=form, next_url=next_url, error=error)


@auth_pages.post("/logout")
def logout() -> Response:
    if current_user.is_authenticated:
        # A new token: cookies captured before (session or remember-me) no longer log in.
        rotate_session_token(current_user)
        db.session.commit()
    logout_user()
    session.clear()
    flash("You have logged out.", "success")
    return cast(Response, redirect(url_for("auth_pages.login")))


def _invitation(token: str) -> tuple[Invitation | None, str | None]:
    if not token:
        return None, None
    try:
        return find_invitation(db.session, token), None
    except AccountError as exc:
        return None, sentence(str(exc))


@auth_pages.route("/signup", methods=["GET", "POST"])
def signup() -> Response | str | tuple[str, int]:
    token = request.values.get("invite", "").strip()
    invitation, invite_error = _invitation(token)
    if current_user.is_authenticated:
        return render_template("auth/join.html", invitation=invitation, error=invite_error,
                               form=JoinForm(invite=token))  # fmt: skip
    form = SignupForm(invited=invitation is not None)
    page = {"form": form, "invitation": invitation, "token": token}
    if request.method == "GET" or invite_error:
        return render_template("auth/signup.html", error=invite_error, **page)
    user = _create_account(form, token) if form.validate() else None
    if user is None:
        return render_template("auth/signup.html", **page), 400
    _start_session(user)
    flash("Welcome to Occlusion Lab. Your account is ready.", "success")
    return cast(Response, redirect(AFTER_SIGNUP))


def _create_account(form: SignupForm, token: str) -> User | None:
    """The account of a valid form, or None with the reason among ``form.form_errors``.

    Counted before the account exists (one atomic step), so parallel sign-ups cannot all
    pass the limit; one that fails is given back: only accounts made count.
    """
    limiter = limits.login.signup
    key = limiter.key(request.remote_addr or "")
    count, left = limiter.count(key)
    if limiter.over(count):
        raise _too_many(left, "from your network", "sign-ups")
    try:
        user = sign_up(db.session, form.email.data, form.password.data, form.team_name.data,
                       token)  # fmt: skip
        db.session.commit()
    except (AccountError, IntegrityError) as exc:
        db.session.rollback()
        limiter.give_back(key)
        form.form_errors.append(_account_message(exc))
        return None
    return user


def _account_message(exc: Exception) -> str:
    if isinstance(exc, IntegrityError):
        return "That email or team name was just taken. Try another."
    return sentence(str(exc))


@auth_pages.post("/join")
@login_required
def join() -> Response:
    """A logged-in user accepts an invitation to one more team."""
    invitation, error = _invitation(JoinForm().invite.data)
    if invitation is None:
        flash(error or "That invitation is not valid.", "error")
        return cast(Response, redirect(url_for("account_pages.account")))
    try:
        accept_invitation(db.session, invitation, current_user)
    except AccountError as exc:  # another request used it since it was found
        db.session.rollback()
        flash(sentence(str(exc)), "error")
        return cast(Response, redirect(url_for("account_pages.account")))
    db.session.commit()
    session[TEAM_KEY] = invitation.team_id
    flash(f"You joined {invitation.team.name}.", "success")
    return cast(Response, redirect(url_for("account_pages.account")))
