"""Search with and without diacritics, prefix matching, and search combined with the list's filters.

The same tests run on SQLite (FTS5) and on PostgreSQL (GIN + unaccent) when NGUON_TEST_DATABASE_URL is set."""

import unicodedata

import pytest
from django.db import connection

from nguon.accounts.roles import Role
from nguon.conftest import make_user
from nguon.content import actions
from nguon.content.models import Bulletin, Category
from nguon.content.tests.conftest import make_bulletin, publish


@pytest.fixture
def corpus(cast):
    def cat(slug):
        return Category.objects.get(slug=slug)

    neighbour = make_user("editor.tranbien", cast.other_commune, Role.EDITOR)

    def published(bulletin, editor):
        return publish(bulletin, editor=editor, approver=cast.approver)

    b = {}
    b["investment"] = published(
        make_bulletin(
            cast.province,
            cast.province_editor,
            title="Thu hút đầu tư vào khu công nghiệp Nhơn Trạch",
            body="Tỉnh tổ chức hội nghị xúc tiến.",
            category=cat("cong-nghiep-thuong-mai-dau-tu"),
        ),
        cast.province_editor,
    )
    b["festival"] = published(
        make_bulletin(
            cast.province,
            cast.province_editor,
            title="Lễ hội văn hóa Đồng Nai năm 2026",
            body="Chương trình nghệ thuật tại quảng trường.",
            category=cat("van-hoa-xa-hoi-moi-truong"),
        ),
        cast.province_editor,
    )
    b["commune_draft"] = make_bulletin(
        cast.commune,
        cast.commune_editor,
        title="Đồng Nai kêu gọi đầu tư du lịch sinh thái",
        body="Bản nháp của phường.",
        category=cat("du-lich"),
    )
    b["health"] = published(
        make_bulletin(
            cast.commune,
            cast.commune_editor,
            title="Khám sức khỏe định kỳ cho người cao tuổi",
            body="Trạm y tế phường Biên Hoà được đầu tư trang thiết bị mới.",
            category=cat("y-te-giao-duc"),
        ),
        cast.commune_editor,
    )
    b["neighbour"] = published(
        make_bulletin(
            cast.other_commune,
            neighbour,
            title="Đồng Nai: phường Trấn Biên đón khách",
            body="Tin của phường bên cạnh.",
            category=cat("du-lich"),
        ),
        neighbour,
    )
    return b


def found(client, url="/bulletins/", **query) -> set[int]:
    response = client.get(url, query)
    assert response.status_code == 200
    return {x.pk for x in response.context["page"]}


def ids(corpus, *names) -> set[int]:
    return {corpus[n].pk for n in names}


def test_search_without_diacritics_finds_text_with_them(cast, client_for, corpus):
    province = client_for(cast.province_editor)
    expected = ids(corpus, "investment", "commune_draft", "health")
    assert found(province, q="dau tu") == expected
    assert found(province, q="đầu tư") == expected
    assert found(province, q="ĐẦU TƯ") == expected
    assert found(province, q="Dau Tu") == expected
    # Input in decomposed form (as some keyboards send it) folds the same way.
    assert found(province, q=unicodedata.normalize("NFD", "đầu tư")) == expected

    dong_nai = ids(corpus, "festival", "commune_draft", "neighbour")
    for query in ("Đồng Nai", "dong nai", "DONG NAI", "đồng nai", "Dong Nai"):
        assert found(province, q=query) == dong_nai, query

    # The body is searched too, whichever way the tone mark was placed (Hoà / Hòa).
    assert found(province, q="Biên Hòa trang thiết bị") == ids(corpus, "health")
    assert found(province, q="bien hoa") == ids(corpus, "health")
    assert found(province, q="thu hut dau tu nhon trach") == ids(corpus, "investment")
    assert found(province, q="dau tu hang khong") == set()


def test_the_last_word_matches_as_a_prefix(cast, client_for, corpus):
    province = client_for(cast.province_editor)
    assert found(province, q="nhon tra") == ids(corpus, "investment")
    assert found(province, q="khu cong ngh") == ids(corpus, "investment")
    assert found(province, q="Nhơn T") == ids(corpus, "investment")
    assert found(province, q="le ho") == ids(corpus, "festival")
    # Only the last word: an unfinished word before it must match whole.
    assert found(province, q="ngh cong") == set()
    assert found(province, q="nho trach") == set()


def test_search_combines_with_filters(cast, client_for, corpus):
    province = client_for(cast.province_editor)
    investment = Category.objects.get(slug="cong-nghiep-thuong-mai-dau-tu")
    tourism = Category.objects.get(slug="du-lich")
    assert found(province, q="dau tu", status="published") == ids(corpus, "investment", "health")
    assert found(province, q="dau tu", status="draft") == ids(corpus, "commune_draft")
    assert found(province, q="dau tu", category=investment.pk) == ids(corpus, "investment")
    assert found(province, q="dau tu", unit=cast.commune.code) == ids(corpus, "commune_draft", "health")
    assert found(province, q="dau tu", unit=cast.commune.code, status="published") == ids(corpus, "health")
    assert found(province, q="dong nai", category=tourism.pk) == ids(corpus, "commune_draft", "neighbour")
    assert found(province, q="dong nai", category=tourism.pk, unit=cast.other_commune.code) == ids(corpus, "neighbour")
    assert found(province, q="dong nai", category=investment.pk) == set()
    # Without a query the filters alone apply.
    assert found(province, category=tourism.pk) == ids(corpus, "commune_draft", "neighbour")


def test_search_stays_inside_what_the_user_may_see(cast, client_for, corpus):
    commune = client_for(cast.commune_editor)
    assert found(commune, q="dong nai") == ids(corpus, "festival", "commune_draft")
    assert found(commune, "/bulletins/repository/", q="dong nai") == ids(corpus, "festival")
    assert found(commune, "/bulletins/repository/", q="dau tu") == ids(corpus, "investment", "health")
    assert found(client_for(cast.outsider), q="dong nai") == set()


def test_search_follows_edits(cast, client_for, corpus):
    bulletin = corpus["health"]
    actions.do_edit_bulletin(
        bulletin,
        data=actions.BulletinData(title="Khám sức khỏe định kỳ cho người cao tuổi", body="Mang theo thẻ bảo hiểm."),
        acting_user=cast.commune_editor,
    )
    province = client_for(cast.province_editor)
    bulletin.refresh_from_db()
    assert bulletin.published_revision_id is not None
    # A live bulletin stays findable by its published text until the edit is approved: the edit must not leak to
    # the units below through search before then.
    assert bulletin.pk in found(province, q="trang thiet bi")
    assert bulletin.pk not in found(province, q="the bao hiem")
    actions.do_approve_bulletin(bulletin, acting_user=cast.approver, revision_number=bulletin.current_revision.number)
    assert bulletin.pk not in found(province, q="trang thiet bi")
    assert found(province, q="the bao hiem") == {bulletin.pk}


@pytest.mark.parametrize(
    "query",
    [
        '"dau',
        "dau OR tu",
        "dau* NEAR(tu)",
        "-dau",
        "tu AND",
        "dau:tu",
        "'; DROP TABLE x; --",
        "(",
        "&|!",
        "🙂",
        "a" * 200,
    ],
)
def test_odd_queries_never_break_the_page(cast, client_for, corpus, query):
    province = client_for(cast.province_editor)
    response = province.get("/bulletins/", {"q": query})
    assert response.status_code == 200
    response = province.get("/api/v1/bulletins/", {"q": query})
    assert response.status_code == 200


def test_search_through_the_api(cast, client_for, corpus):
    commune = client_for(cast.commune_editor)
    response = commune.get("/api/v1/bulletins/", {"q": "dong nai"})
    assert response.status_code == 200
    assert {item["id"] for item in response.json()["items"]} == ids(corpus, "festival", "commune_draft")
    response = commune.get("/api/v1/bulletins/", {"q": "dau tu", "live": "true", "category": "y-te-giao-duc"})
    assert {item["id"] for item in response.json()["items"]} == ids(corpus, "health")


def test_search_uses_the_database_index(corpus):
    """On both databases the query goes through the full-text index, not a scan of the folded column."""
    sql = str(Bulletin.objects.search("dau tu").query)
    if connection.vendor == "sqlite":
        assert "content_bulletin_fts" in sql
    elif connection.vendor == "postgresql":
        assert "to_tsvector" in sql and "unaccent" in sql
    assert set(Bulletin.objects.search("dau tu").values_list("pk", flat=True)) == ids(
        corpus, "investment", "commune_draft", "health"
    )
