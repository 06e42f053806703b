"""The API docs work on a machine without internet, in a real (headless) browser: Swagger UI and Redoc
come from this server's static files (drf-spectacular-sidecar), render something, and "Authorize" with
a bearer token makes Swagger's "Try it out" calls authenticated.

Needs Chromium (``apt-get install chromium``); the test fails, naming that, when it is missing.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest
from rest_framework_simplejwt.tokens import AccessToken

from tests.factories import UserFactory
from tools.chromium import INSTALL_HINT, chromium_page, chromium_path, not_blank

pytestmark = pytest.mark.browser

SWAGGER_LOADED = "!!document.querySelector('.swagger-ui .information-container .title')"
# Redoc's menu footer always asks for its maker's logo (an <img> that hides itself when the request
# fails, as it does offline); nothing else may leave the server.
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


def _local_only(page, server: str) -> list[str]:
    """The URLs a page asked for that are not this server's (data: and blob: URLs are local)."""
    host = urlsplit(server).netloc
    return [
        url
        for url in page.requested_urls()
        if not url.startswith(("data:", "blob:", "about:")) and urlsplit(url).netloc != host and url != REDOC_LOGO
    ]


def test_the_docs_pages_reference_only_this_servers_static_files(anon_client):
    for route in ("/v1/docs", "/v1/redoc"):
        page = anon_client.get(route)
        assert page.status_code == 200, route
        html = page.content.decode()
        sources = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert sources, route
        for source in sources:
            assert source.startswith("/"), (route, source)  # no CDN, no other host
            if "/static/" in source:
                asset = anon_client.get(source)
                assert asset.status_code == 200 and b"".join(asset.streaming_content), source


@pytest.fixture
def browser_user(transactional_db):
    return UserFactory(username="reader", is_staff=True)  # GET /v1/users lists users for admins


def test_swagger_ui_renders_offline_and_authorize_makes_calls_authenticated(live_server, browser_user):
    assert chromium_path() is not None, INSTALL_HINT
    token = str(AccessToken.for_user(browser_user))
    with chromium_page() as page:
        page.navigate(f"{live_server.url}/v1/docs#/users/users_list")
        page.wait_for(SWAGGER_LOADED, what="Swagger UI to render the schema's title")
        shown, figures = not_blank(page.screenshot())
        assert shown, f"the docs page looks blank ({figures})"
        assert _local_only(page, live_server.url) == []

        # Without a token, "Try it out" on GET /v1/users is refused (401).
        assert _execute(page) == "401"

        page.evaluate("document.querySelector('.auth-wrapper .btn.authorize').click()")
        page.wait_for("!!document.querySelector('.modal-ux .auth-container')", what="the Authorize dialog")
        filled = page.evaluate(
            "const TOKEN = " + json.dumps(token) + ";"
            """(() => {
                const box = [...document.querySelectorAll('.modal-ux .auth-container')]
                    .find(element => element.textContent.includes('jwtAuth'));
                if (!box) return false;
                const input = box.querySelector('input');
                const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;
                setter.call(input, TOKEN);
                input.dispatchEvent(new Event('input', {bubbles: true}));
                box.querySelector('button.authorize').click();
                return true;
            })()"""
        )
        assert filled, "no jwtAuth form in the Authorize dialog"
        page.wait_for(
            "[...document.querySelectorAll('.modal-ux .auth-container')].some(e => e.textContent.includes('Logout'))",
            what="the token to be accepted",
        )
        page.evaluate("document.querySelector('.modal-ux .btn-done, .modal-ux .close-modal').click()")

        # With it, the same call is answered 200.
        assert _execute(page) == "200"


def test_redoc_renders_offline(live_server, transactional_db):
    assert chromium_path() is not None, INSTALL_HINT
    with chromium_page() as page:
        page.navigate(f"{live_server.url}/v1/redoc")
        page.wait_for("!!document.querySelector('.api-content h1, .api-info h1')", what="Redoc's title")
        shown, figures = not_blank(page.screenshot())
        assert shown, f"the Redoc page looks blank ({figures})"
        assert _local_only(page, live_server.url) == []


def _execute(page) -> str:
    """Press "Try it out" (when shown) and "Execute" on the expanded GET /v1/users; the status shown."""
    page.wait_for("!!document.querySelector('#operations-users-users_list .opblock-body')", what="the operation")
    page.evaluate(
        """(() => {
            const block = document.querySelector('#operations-users-users_list');
            const tryOut = block.querySelector('.try-out__btn:not(.cancel)');
            if (tryOut) tryOut.click();
            const clear = block.querySelector('.btn-clear');
            if (clear) clear.click();
        })()"""
    )
    page.wait_for(
        "!document.querySelector('#operations-users-users_list .live-responses-table')",
        what="the previous response to be cleared",
    )
    page.wait_for("!!document.querySelector('#operations-users-users_list .btn.execute')", what="Execute")
    page.evaluate("document.querySelector('#operations-users-users_list .btn.execute').click()")
    return page.wait_for(
        """(() => {
            const table = document.querySelector('#operations-users-users_list .live-responses-table');
            if (!table) return null;
            const cell = table.querySelector('.response .response-col_status');
            return cell ? cell.textContent.trim() : null;
        })()""",
        what="the response of Execute",
    )
