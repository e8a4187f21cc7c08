"""Sign up, log in, the nav, API tokens and log out in real Chromium, at 1280 and 390 px."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from tests.fixtures.factories import PASSWORD

SHOTS = os.environ.get("OCCLAB_SCREENSHOTS", "/tmp")
NAV = ("History", "Submit", "Upload", "Compare", "Account")


def _width(page: Any) -> int:
    return int(page.viewport_size["width"])


def _fits(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=f"{SHOTS}/ui-{name}-{_width(page)}.png", full_page=True)


def test_sign_up_see_nav_create_token_log_out(page: Any, live_server: str) -> None:
    page.goto(f"{live_server}/signup")
    assert _fits(page)
    _shot(page, "signup")
    page.get_by_label("Email").fill("grace@example.org")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Confirm password").fill(PASSWORD)
    page.get_by_label("Team name").fill("Hopper Lab")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_load_state()
    nav = page.get_by_role("navigation", name="Main")
    for label in NAV:
        assert nav.get_by_role("link", name=label).is_visible()
    page.goto(f"{live_server}/account")
    page.get_by_label("Token name").fill("analysis laptop")
    page.get_by_role("button", name="Create token").click()
    page.wait_for_load_state()
    token = page.locator("#new-token").inner_text()
    assert token.startswith("ocl_")
    assert page.get_by_role("cell", name="analysis laptop", exact=True).is_visible()
    assert _fits(page)
    # Its last column too, at 390 px: the token's row stacks rather than hiding it sideways.
    box = page.get_by_role("button", name="Revoke analysis laptop").bounding_box()
    assert box is not None and box["x"] + box["width"] <= _width(page)
    _shot(page, "account")
    page.get_by_role("button", name="Log out", exact=True).click()
    page.wait_for_load_state()
    assert page.url.endswith("/login")
    assert page.get_by_role("status").get_by_text("You have logged out.").is_visible()


def test_log_in_and_see_the_nav(
    page: Any, live_server: str, user: dict[str, str], log_in: Callable[[dict[str, str]], None]
) -> None:
    page.goto(f"{live_server}/login")
    assert _fits(page)
    _shot(page, "login")
    log_in(user)
    page.goto(f"{live_server}/account")
    assert page.get_by_role("heading", name="Account").is_visible()
    assert page.get_by_role("cell", name=user["team"], exact=True).is_visible()
    assert page.get_by_role("link", name="Account").get_attribute("aria-current") == "page"
    assert _fits(page)


def test_wrong_password_shows_an_error(
    page: Any, live_server: str, user: dict[str, str], log_in: Callable[[dict[str, str]], None]
) -> None:
    log_in({**user, "password": "not the password"})
    assert page.get_by_role("alert").inner_text().startswith("That email and password")
    assert page.get_by_label("Email").input_value() == user["email"]


def test_keyboard_reaches_email_with_visible_focus(page: Any, live_server: str) -> None:
    page.goto(f"{live_server}/login")
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "email":
            break
    else:
        raise AssertionError("Tab never reached the email field")
    style = page.evaluate(
        "(() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, parseFloat(s.outlineWidth)]; })()"
    )
    assert style[0] != "none" and style[1] >= 2
    assert page.evaluate("document.activeElement.matches(':focus-visible')")
