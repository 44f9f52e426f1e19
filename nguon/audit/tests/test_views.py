"""The audit log page, its API, their scoping and filters, and the alarm banner after a failed check."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from nguon.audit.actions import record_event
from nguon.audit.models import AuditEvent
from nguon.audit.tests.conftest import drop_append_only_trigger, raw_update
from nguon.conftest import PASSWORD


@pytest.fixture
def events(cast):
    """One marked event per place: province, each commune, and one with no unit (system)."""
    return {
        "province": record_event("test.mark", unit=cast.province, object_repr="mark-province"),
        "commune": record_event("test.mark", unit=cast.commune, object_repr="mark-commune"),
        "other": record_event("test.mark", unit=cast.other_commune, object_repr="mark-other"),
        "system": record_event("test.system", object_repr="mark-system"),
    }


def page_events(response) -> list[AuditEvent]:
    assert response.status_code == 200
    return list(response.context["page"].object_list)


def api_events(response) -> list[dict]:
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == len(body["items"])
    return body["items"]


def test_commune_admin_sees_only_its_commune(cast, events, client_for):
    client = client_for(cast.commune_admin)
    for paths in (
        [e.unit_path for e in page_events(client.get("/audit/"))],
        [e["unit_path"] for e in api_events(client.get("/api/v1/audit/events?limit=1000"))],
    ):
        assert paths, "the commune admin sees the commune's own events"
        assert all(p.startswith(cast.commune.path) for p in paths)
    reprs = {e.object_repr for e in page_events(client.get("/audit/"))}
    assert "mark-commune" in reprs
    assert not reprs & {"mark-province", "mark-other", "mark-system"}
    api_reprs = {e["object_repr"] for e in api_events(client.get("/api/v1/audit/events?limit=1000"))}
    assert "mark-commune" in api_reprs
    assert not api_reprs & {"mark-province", "mark-other", "mark-system"}


def test_province_admin_sees_everything(cast, events, client_for):
    client = client_for(cast.province_admin)
    total = AuditEvent.objects.count()
    page = page_events(client.get("/audit/"))
    assert {"mark-province", "mark-commune", "mark-other", "mark-system"} <= {e.object_repr for e in page}
    items = api_events(client.get("/api/v1/audit/events?limit=1000"))
    # The list read after sign-in includes the sign-in itself.
    assert len(items) == AuditEvent.objects.count() >= total
    assert [i["seq"] for i in items] == sorted((i["seq"] for i in items), reverse=True)  # newest first


def test_approver_sees_the_log_too(cast, events, client_for):
    client = client_for(cast.approver)
    assert "mark-other" in {e.object_repr for e in page_events(client.get("/audit/"))}


@pytest.mark.parametrize("who", ["province_editor", "commune_editor", "outsider"])
def test_users_without_view_audit_are_refused(cast, events, client_for, who):
    client = client_for(getattr(cast, who))
    assert client.get("/audit/").status_code == 403
    response = client.get("/api/v1/audit/events")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_anonymous_is_sent_to_sign_in_or_refused(client, events):
    response = client.get("/audit/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    assert client.get("/api/v1/audit/events").status_code == 401


def test_page_filters(cast, events, client_for):
    client = client_for(cast.province_admin)
    by_action = page_events(client.get("/audit/", {"action": "test.sys"}))
    assert [e.object_repr for e in by_action] == ["mark-system"]

    by_unit = page_events(client.get("/audit/", {"unit": cast.other_commune.code}))
    assert by_unit and {e.unit_id for e in by_unit} == {cast.other_commune.pk}

    by_actor = page_events(client.get("/audit/", {"actor": cast.province_admin.username}))
    assert by_actor and {e.actor_label for e in by_actor} == {cast.province_admin.username}

    today = timezone.localdate()
    assert page_events(client.get("/audit/", {"date_from": today.isoformat(), "date_to": today.isoformat()}))
    tomorrow = (today + timedelta(days=1)).isoformat()
    assert page_events(client.get("/audit/", {"date_from": tomorrow})) == []
    yesterday = (today - timedelta(days=1)).isoformat()
    assert page_events(client.get("/audit/", {"date_to": yesterday})) == []

    # A reversed range is a form error, and the list is not filtered by it.
    response = client.get("/audit/", {"date_from": tomorrow, "date_to": yesterday})
    assert response.context["form"].errors
    assert len(page_events(response)) > 0


def test_page_filters_stay_within_scope(cast, events, client_for):
    client = client_for(cast.commune_admin)
    assert page_events(client.get("/audit/", {"unit": cast.other_commune.code})) == []
    assert page_events(client.get("/audit/", {"action": "test.system"})) == []


def test_api_filters(cast, events, client_for):
    client = client_for(cast.province_admin)
    items = api_events(client.get("/api/v1/audit/events", {"action": "test.mark", "limit": 100}))
    assert {i["object_repr"] for i in items} == {"mark-province", "mark-commune", "mark-other"}
    items = api_events(client.get("/api/v1/audit/events", {"unit": cast.commune.code, "action": "test.mark"}))
    assert [i["object_repr"] for i in items] == ["mark-commune"]
    items = api_events(client.get("/api/v1/audit/events", {"actor": cast.province_admin.username, "limit": 100}))
    assert items and {i["actor_label"] for i in items} == {cast.province_admin.username}
    items = api_events(client.get("/api/v1/audit/events", {"action": "no.such.action"}))
    assert items == []


def test_api_item_shape(cast, events, client_for):
    client = client_for(cast.province_admin)
    item = api_events(client.get("/api/v1/audit/events", {"action": "test.system"}))[0]
    event = events["system"]
    assert item["id"] == event.pk
    assert item["seq"] == event.seq
    assert item["hash"] == event.hash
    assert item["unit_path"] == ""


def break_the_chain(events) -> None:
    call_command("audit", "verify", stdout=StringIO())
    drop_append_only_trigger()
    raw_update(events["commune"].pk, object_repr="nothing to see")
    with pytest.raises(CommandError):
        call_command("audit", "verify", stdout=StringIO(), stderr=StringIO())


@pytest.fixture
def superuser(cast):
    from nguon.accounts.models import User

    return User.objects.create_superuser(username="root", password=PASSWORD, unit=cast.province)


def test_audit_page_flags_a_failed_check(cast, events, client_for):
    client = client_for(cast.province_admin)
    break_the_chain(events)
    response = client.get("/audit/")
    assert response.context["latest_check"].ok is False
    assert f"#{events['commune'].pk} (edited)" in response.content.decode()


def test_alarm_banner_after_a_failed_check_for_a_superuser(cast, events, client_for, superuser):
    client = client_for(superuser)
    assert 'class="alarm"' not in client.get("/").content.decode()
    break_the_chain(events)
    dashboard = client.get("/")
    assert 'class="alarm"' in dashboard.content.decode()
    assert dashboard.context["audit_alarm"].problems == [{"event_id": events["commune"].pk, "reason": "edited"}]
    # A later good check clears the banner (the break is not healed, but this is what a check records).
    from nguon.audit.models import AuditCheck

    AuditCheck.objects.create(ok=True, checked=1)
    assert 'class="alarm"' not in client.get("/").content.decode()


def test_alarm_banner_after_a_failed_check_for_the_province_admin(cast, events, client_for):
    province_admin = client_for(cast.province_admin)
    break_the_chain(events)
    dashboard = province_admin.get("/")
    assert dashboard.status_code == 200
    assert 'class="alarm"' in dashboard.content.decode()


def test_no_alarm_banner_for_a_commune_admin(cast, events, client_for):
    commune_admin = client_for(cast.commune_admin)
    break_the_chain(events)
    # Not responsible for the whole log: no banner on the dashboard.
    assert 'class="alarm"' not in commune_admin.get("/").content.decode()
