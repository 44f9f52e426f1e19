"""Error pages speak the reader's language; the API and the device protocol get JSON."""

import pytest
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import path
from django.utils import translation

from nguon.config.urls import *  # noqa: F403 (handler400…handler500 and every route)
from nguon.config.urls import urlpatterns as project_urlpatterns


def _boom(request):
    raise RuntimeError("a bug")


def _bad(request):
    from django.core.exceptions import SuspiciousOperation

    raise SuspiciousOperation("tampered")


def _denied(request):
    from django.core.exceptions import PermissionDenied

    raise PermissionDenied


def _ok(request):
    return HttpResponse("ok")


urlpatterns = [
    path("test-boom/", _boom),
    path("test-bad/", _bad),
    path("test-denied/", _denied),
    path("api/test-boom/", _boom),
    *project_urlpatterns,
]


@pytest.fixture
def error_urls(settings):
    settings.ROOT_URLCONF = __name__
    settings.DEBUG = False


def _client(lang: str | None = None) -> Client:
    client = Client(raise_request_exception=False)
    if lang:
        client.cookies["django_language"] = lang
    return client


@pytest.mark.parametrize(
    ("url", "status", "vietnamese", "english"),
    [
        ("/no-such-page/", 404, "Không tìm thấy", "Not found"),
        ("/test-bad/", 400, "Yêu cầu không hợp lệ", "Bad request"),
        ("/test-denied/", 403, "Không được phép", "Not allowed"),
        ("/test-boom/", 500, "Lỗi máy chủ", "Server error"),
    ],
)
def test_error_pages_are_vietnamese_with_english_available(db, error_urls, url, status, vietnamese, english):
    response = _client().get(url)
    assert response.status_code == status
    html = response.content.decode()
    assert '<html lang="vi"' in html
    assert f"<h1>{vietnamese}</h1>" in html
    assert english not in html

    response = _client("en").get(url)
    assert response.status_code == status
    assert f"<h1>{english}</h1>" in response.content.decode()


def test_server_error_page_needs_no_database(db, error_urls, monkeypatch):
    """The 500 page is rendered without context processors: a broken database cannot break it too."""
    from nguon.core import error_views

    def no_database(*args, **kwargs):
        raise AssertionError("the 500 page touched the database")

    with monkeypatch.context() as patch, translation.override("vi"):
        patch.setattr("django.db.backends.utils.CursorWrapper.execute", no_database)
        response = error_views.server_error(RequestFactory().get("/anything/"))
    assert response.status_code == 500
    assert "Lỗi máy chủ" in response.content.decode()


@pytest.mark.parametrize(
    ("url", "status", "code"),
    [("/api/no-such-endpoint/", 404, "not_found"), ("/api/test-boom/", 500, "server_error")],
)
def test_errors_under_api_stay_json(db, error_urls, url, status, code):
    response = _client().get(url)
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == code


def test_refused_csrf_check_explains_in_vietnamese(db, error_urls):
    client = Client(enforce_csrf_checks=True)
    client.get("/accounts/login/")  # sets the CSRF cookie, as a browser would
    response = client.post("/accounts/login/", {"username": "x", "password": "y"})
    assert response.status_code == 403
    html = response.content.decode()
    assert "Biểu mẫu chưa được gửi" in html
    assert "CSRF verification failed" not in html and "Forbidden" not in html

    fresh = Client(enforce_csrf_checks=True)  # no cookie at all
    response = fresh.post("/accounts/login/", {"username": "x", "password": "y"})
    assert response.status_code == 403
    assert "cookie" in response.content.decode()
