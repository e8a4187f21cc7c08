"""The account forms as WTForms: sign-up, login, password change, joining and switching
teams, API tokens and roles. Each field's rule and the words for breaking it are stated here,
once; the views read the fields and the templates draw them (with their errors) from the
same objects.

CSRF is left to CSRFProtect (web/security.py), which checks every POST before any view
runs, and the templates send its token; a second check inside each form would repeat it.
"""

from __future__ import annotations

from typing import Any, cast

from flask_wtf import FlaskForm
from sqlalchemy import String
from sqlalchemy.orm import InstrumentedAttribute
from wtforms import (
    BooleanField,
    EmailField,
    Field,
    HiddenField,
    IntegerField,
    PasswordField,
    StringField,
    ValidationError,
)
from wtforms.validators import Length

from shared.accounts import MIN_PASSWORD
from shared.models import ApiToken, Team


def _strip(value: str | None) -> str:
    return (value or "").strip()


def _length(column: InstrumentedAttribute[str]) -> int:
    """The most characters a text column holds, so a form refuses what it could not store."""
    return cast(int, cast(String, column.type).length)


TEAM_NAME_MAX = _length(Team.name)
TOKEN_NAME_MAX = _length(ApiToken.name)


class Form(FlaskForm):
    class Meta:
        csrf = False  # CSRFProtect's job, see above


class LoginForm(Form):
    email = EmailField("Email", default="", filters=[_strip])
    password = PasswordField("Password", default="")
    remember = BooleanField("Keep me logged in on this device")


def _an_email(_form: Form, field: Field) -> None:
    # Only the shape a person can fix at once; shared.accounts decides the rest.
    if "@" not in field.data:
        raise ValidationError("Enter an email address, like name@example.org.")


class SignupForm(Form):
    """``invited``: the sign-up joins the team of an invitation, so names none of its own."""

    email = EmailField("Email", default="", filters=[_strip], validators=[_an_email])
    password = PasswordField(
        "Password",
        default="",
        validators=[Length(min=MIN_PASSWORD, message=f"Use at least {MIN_PASSWORD} characters.")],
    )
    confirm = PasswordField("Confirm password", default="")
    team_name = StringField(
        "Team name",
        default="",
        filters=[_strip],
        validators=[Length(max=TEAM_NAME_MAX, message=f"Use at most {TEAM_NAME_MAX} characters.")],
    )

    def __init__(self, *, invited: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.invited = invited

    def validate_confirm(self, field: Field) -> None:
        if not self.password.errors and field.data != self.password.data:
            raise ValidationError("The two passwords differ.")

    def validate_team_name(self, field: Field) -> None:
        if not self.invited and not field.data:
            raise ValidationError("Name your team (you can invite colleagues later).")


class PasswordForm(Form):
    """A new password for the logged-in user; shared.accounts checks the current one."""

    current = PasswordField("Current password", id="current-password", default="")
    password = PasswordField(
        "New password",
        id="new-password",
        default="",
        validators=[Length(min=MIN_PASSWORD, message=f"Use at least {MIN_PASSWORD} characters.")],
    )
    confirm = PasswordField("Confirm new password", id="confirm-password", default="")

    def validate_confirm(self, field: Field) -> None:
        if not self.password.errors and field.data != self.password.data:
            raise ValidationError("The two passwords differ.")


class JoinForm(Form):
    invite = HiddenField(default="", filters=[_strip])


class SwitchTeamForm(Form):
    team_id = IntegerField()  # anything else is no team of yours: refused by the view
    next = HiddenField(default="")


class TokenForm(Form):
    name = StringField(
        "Token name",
        id="token-name",
        default="",
        filters=[_strip],
        validators=[
            Length(
                min=1,
                max=TOKEN_NAME_MAX,
                message=f"Name the token (up to {TOKEN_NAME_MAX} characters), e.g. 'laptop'.",
            )
        ],
    )


class RoleForm(Form):
    # Checked by shared.accounts.set_role, which knows the roles and the last-owner rule.
    role = StringField(default="")
