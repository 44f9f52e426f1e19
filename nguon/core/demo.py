"""Demo data: Đồng Nai's units, a few organisations and one account per role, for a first look."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from nguon.accounts.actions import do_create_user, do_grant_role
from nguon.accounts.models import User
from nguon.accounts.roles import Role
from nguon.units.actions import do_create_organisation, do_import_units
from nguon.units.models import Organisation, OrganisationKind, Unit
from nguon.units.sources import load_from_package

# Published on purpose: demo accounts are for trying the system, and a deploy check warns while they exist.
DEMO_PASSWORD = "nguon-demo-2026"
PROVINCE = "75"
COMMUNE = "26068"  # Phường Biên Hòa


@dataclass(frozen=True)
class DemoUser:
    username: str
    full_name: str
    role: Role
    unit_code: str

    @property
    def email(self) -> str:
        # example.org never delivers: reset and notification mails can be tried (see the log backend) safely.
        return f"{self.username}@example.org"


DEMO_USERS = [
    DemoUser("quantri", "Nguyễn Văn Quản", Role.ADMIN, PROVINCE),
    DemoUser("pheduyet", "Trần Thị Duyệt", Role.APPROVER, PROVINCE),
    DemoUser("bientap", "Lê Văn Biên", Role.EDITOR, PROVINCE),
    DemoUser("bientap.bienhoa", "Phạm Thị Hoa", Role.EDITOR, COMMUNE),
    DemoUser("vanhanh.bienhoa", "Võ Văn Hành", Role.OPERATOR, COMMUNE),
    DemoUser("kythuat", "Đặng Văn Thuật", Role.TECHNICIAN, PROVINCE),
    DemoUser("lanhdao", "Hoàng Thị Đạo", Role.VIEWER, PROVINCE),
]

DEMO_ORGANISATIONS = [
    (PROVINCE, "Ủy ban nhân dân tỉnh Đồng Nai", OrganisationKind.PEOPLES_COMMITTEE),
    (PROVINCE, "Sở Văn hóa, Thể thao và Du lịch", OrganisationKind.DEPARTMENT),
    (PROVINCE, "Báo và Phát thanh, Truyền hình Đồng Nai", OrganisationKind.PRESS),
    (COMMUNE, "Ủy ban nhân dân phường Biên Hòa", OrganisationKind.PEOPLES_COMMITTEE),
    (COMMUNE, "Đài truyền thanh phường Biên Hòa", OrganisationKind.RADIO_STATION),
    ("26041", "Ủy ban nhân dân phường Trấn Biên", OrganisationKind.PEOPLES_COMMITTEE),
]


@dataclass
class DemoAccount:
    username: str
    role: str
    unit: str
    otp_uri: str | None


def load_demo() -> list[DemoAccount]:
    """Create what is missing (idempotent) and return the demo accounts."""
    if not Unit.objects.filter(code=PROVINCE).exists():
        do_import_units(load_from_package(PROVINCE))
    units = {u.code: u for u in Unit.objects.filter(code__in={PROVINCE, COMMUNE, *DEMO_DEVICE_UNITS})}
    with transaction.atomic():
        for code, name, kind in DEMO_ORGANISATIONS:
            if not Organisation.objects.filter(unit=units[code], name=name).exists():
                do_create_organisation(units[code], acting_user=None, name=name, kind=kind)
        accounts = []
        for demo in DEMO_USERS:
            user = User.objects.filter(username=demo.username).first()
            if user is None:
                user = do_create_user(
                    username=demo.username,
                    password=DEMO_PASSWORD,
                    unit=units[demo.unit_code],
                    full_name=demo.full_name,
                    email=demo.email,
                    acting_user=None,
                )
                do_grant_role(user, role=demo.role, unit=units[demo.unit_code], acting_user=None)
            elif not user.email:
                # Demo databases made before demo accounts had addresses.
                User.objects.filter(pk=user.pk).update(email=demo.email)
            otp_uri = None
            if user.requires_two_factor():
                device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
                if device is None:
                    device = TOTPDevice.objects.create(user=user, name="Demo", confirmed=True)
                otp_uri = device.config_url
            accounts.append(DemoAccount(demo.username, demo.role.label, units[demo.unit_code].name, otp_uri))
        _demo_bulletins(units)
        _demo_devices(units)
        _demo_slots(units)
        _demo_feedback(units)
        _demo_report_history()
    return accounts


def _demo_report_history() -> None:
    # The devices are new, so every report would be empty: give them this year's days (the same at every run).
    from nguon.reports.demo import load_history

    load_history()


DEMO_BULLETINS = [
    # (unit, title, body, priority, publish)
    (
        PROVINCE,
        "Đồng Nai thu hút đầu tư vào các khu công nghiệp",
        "Trong 10 tháng năm 2026, các KCN trên địa bàn tỉnh thu hút 1,2 tỷ USD vốn đầu tư nước ngoài, tăng 15% so "
        "với cùng kỳ. UBND tỉnh đề nghị các xã, phường tiếp tục cải thiện chỉ số PCI.",
        "normal",
        True,
    ),
    (
        PROVINCE,
        "Khuyến cáo phòng chống sốt xuất huyết mùa mưa",
        "Sở Y tế khuyến cáo người dân diệt lăng quăng, ngủ mùng. Khi sốt cao từ 2 ngày trở lên, đến ngay cơ sở y tế "
        "gần nhất hoặc gọi đường dây nóng 0251 3822 123.",
        "priority",
        True,
    ),
    (
        COMMUNE,
        "Thông báo lịch tiếp công dân tháng 12/2026",
        "UBND phường Biên Hòa tiếp công dân vào sáng thứ 3 và thứ 5 hằng tuần, từ 7h30 đến 11h00, tại trụ sở phường.",
        "normal",
        False,
    ),
]


def _demo_bulletins(units) -> None:
    from nguon.content.actions import BulletinData, do_approve_bulletin, do_create_bulletin, do_submit_bulletin
    from nguon.content.models import Bulletin, Category

    if Bulletin.objects.exists():
        return
    category = Category.objects.filter(slug="cong-nghiep-thuong-mai-dau-tu").first()
    editors = {PROVINCE: User.objects.get(username="bientap"), COMMUNE: User.objects.get(username="bientap.bienhoa")}
    approver = User.objects.get(username="pheduyet")
    for code, title, body, priority, publish in DEMO_BULLETINS:
        data = BulletinData(title=title, body=body, priority=priority, category=category)
        if priority == "priority":
            data.targets = [units[COMMUNE]]
        bulletin = do_create_bulletin(owner_unit=units[code], data=data, acting_user=editors[code])
        if publish:
            do_submit_bulletin(bulletin, acting_user=editors[code])
            do_approve_bulletin(bulletin, acting_user=approver, revision_number=1)


# (unit, code, name, kind, latitude, longitude): around Biên Hòa, in four wards.
DEMO_DEVICES = [
    (COMMUNE, "BH-001", "Cụm loa chợ Biên Hòa", "speaker", 10.9472, 106.8196),
    (COMMUNE, "BH-002", "Cụm loa công viên Biên Hùng", "speaker", 10.9510, 106.8170),
    (COMMUNE, "BH-B01", "Bảng tin UBND phường Biên Hòa", "board", 10.9457, 106.8235),
    ("26041", "TB-001", "Cụm loa khu phố 3 Trấn Biên", "speaker", 10.9608, 106.8402),
    ("26041", "TB-002", "Cụm loa nhà văn hóa Trấn Biên", "speaker", 10.9655, 106.8461),
    ("26041", "TB-B01", "Bảng tin quảng trường Trấn Biên", "board", 10.9580, 106.8440),
    ("26017", "TH-001", "Cụm loa chợ Tam Hiệp", "speaker", 10.9401, 106.8602),
    ("26020", "LB-001", "Cụm loa khu phố 5 Long Bình", "speaker", 10.9335, 106.8880),
]
DEMO_DEVICE_UNITS = sorted({row[0] for row in DEMO_DEVICES} - {PROVINCE, COMMUNE})
# (name, start, end): every day, for every device of the province.
DEMO_SLOTS = [("Chương trình phát thanh buổi sáng", "05:30", "06:00"),
              ("Chương trình phát thanh buổi chiều", "17:00", "17:30")]  # fmt: skip


def _demo_devices(units) -> None:
    from nguon.broadcast.actions import DeviceData, do_create_device
    from nguon.broadcast.models import Device

    existing = set(Device.objects.filter(code__in=[row[1] for row in DEMO_DEVICES]).values_list("code", flat=True))
    for code_unit, code, name, kind, latitude, longitude in DEMO_DEVICES:
        if code in existing or code_unit not in units:
            continue
        data = DeviceData(code=code, name=name, kind=kind, latitude=latitude, longitude=longitude, model="NL-4G-200")
        do_create_device(unit=units[code_unit], data=data, acting_user=None)


def _demo_slots(units) -> None:
    from datetime import time

    from django.utils import timezone

    from nguon.broadcast.actions import SlotData, do_save_slot
    from nguon.broadcast.models import Slot
    from nguon.content.models import Bulletin

    province = units[PROVINCE]
    bulletins = list(Bulletin.objects.live().filter(owner_unit=province).order_by("pk"))
    for name, start, end in DEMO_SLOTS:
        if Slot.objects.filter(unit=province, name=name).exists():
            continue
        data = SlotData(
            name=name,
            start_time=time.fromisoformat(start),
            end_time=time.fromisoformat(end),
            start_date=timezone.localdate(),
            items=[{"kind": "bulletin", "bulletin": bulletin} for bulletin in bulletins],
        )
        do_save_slot(None, unit=province, data=data, acting_user=None)


def demo_device_tokens(path) -> int:
    """Give each demo device a token and write them for `nguon serve --with-devices` (simulated receivers).

    Simulated devices stand in for real loudspeakers in the demo; a real device enrols with a one-time code.
    """
    import json
    import secrets

    from nguon.broadcast.actions import token_hash
    from nguon.broadcast.keys import signer
    from nguon.broadcast.models import Device, DeviceToken

    if path.exists():
        return sum(1 for _ in path.open())
    lines = []
    for device in Device.objects.filter(code__in=[row[1] for row in DEMO_DEVICES], is_active=True):
        token = "nd1_" + secrets.token_urlsafe(32)
        DeviceToken.objects.create(device=device, token_hash=token_hash(token))
        lines.append(json.dumps({"token": token, "public_key": signer().public_key_b64, "device": device.code}))
    path.touch(mode=0o600)
    path.write_text("\n".join(lines) + "\n")
    return len(lines)


def demo_usernames() -> set[str]:
    return {d.username for d in DEMO_USERS}


# Citizens' feedback (made up), as staff took it down: (unit, topic, days ago, channel, name, text, consent, how far
# it got).
DEMO_FEEDBACK = [
    (COMMUNE, "den-duong", 6, "phone", "Nguyễn Văn An",
     "Tôi là Nguyễn Văn An, số điện thoại 0912345678. Đèn đường trước số 12 đường Phan Trung, phường Biên Hòa bị "
     "hỏng gần một tuần, buổi tối rất tối và nguy hiểm cho người đi đường.", True, "published"),
    (COMMUNE, "rac-thai", 1, "letter", "Lê Thị Bích",
     "Rác thải đổ bừa bãi ở đầu hẻm 45 đường Cách Mạng Tháng Tám, bốc mùi hôi, đề nghị phường cho thu gom.",
     True, "received"),
    (COMMUNE, "giao-thong", 3, "meeting", "", "Ổ gà lớn trên đường Võ Thị Sáu gần chợ, xe máy dễ té ngã khi trời mưa.",
     False, "in_progress"),
    (COMMUNE, "khac", 2, "email", "", "Quảng cáo bán hàng, không liên quan.", False, "refused"),
    ("26041", "ngap-nuoc", 20, "in_person", "Trần Văn Minh",
     "Khu phố 3 phường Trấn Biên ngập sâu mỗi khi mưa lớn do cống thoát nước bị nghẹt.", True, "answered_late"),
]  # fmt: skip
DEMO_ANSWERS = {
    "den-duong": "Ngày 2/12/2026, Đội quản lý chiếu sáng đã thay bóng đèn và kiểm tra lại tuyến đèn đường Phan "
    "Trung. Cảm ơn ông/bà đã phản ánh.",
    "ngap-nuoc": "Phường đã nạo vét cống thoát nước tại khu phố 3 và sẽ đề xuất nâng cấp tuyến cống trong năm 2027.",
}


def _demo_feedback(units) -> None:
    """A few feedback items in Biên Hòa and Trấn Biên at each stage; the street lights one answered on time and
    published in the questions and answers with the sender's name masked."""
    from datetime import timedelta

    from django.utils import timezone

    from nguon.feedback import actions
    from nguon.feedback.models import Feedback, Topic
    from nguon.feedback.publishing import do_publish_answer, suggest_masked
    from nguon.feedback.topics import ensure_topics

    ensure_topics()
    if Feedback.objects.exists():
        return
    editor = User.objects.get(username="bientap.bienhoa")
    approver = User.objects.get(username="pheduyet")
    now = timezone.now()
    for code, topic_code, days_ago, channel, name, text, consent, stage in DEMO_FEEDBACK:
        if code not in units:
            continue
        handler = editor if code == COMMUNE else approver
        received = now - timedelta(days=days_ago)
        data = actions.FeedbackData(
            topic=Topic.objects.get(code=topic_code), unit=units[code], text=text, name=name, consent_publish=consent
        )
        # Entered by staff: what came through the public form would be logged as the citizen's own step.
        feedback, _code = actions.do_submit_feedback(data, channel=channel, acting_user=handler, now=received)
        if stage == "refused":
            actions.do_refuse_feedback(feedback, acting_user=handler, reason="spam")
            continue
        if stage == "received":
            continue
        feedback = actions.do_accept_feedback(feedback, acting_user=handler, now=received)
        feedback = actions.do_start_feedback(feedback, acting_user=handler, now=received + timedelta(hours=1))
        if stage == "in_progress":
            continue
        answered_at = received + timedelta(days=1) if stage == "published" else now
        feedback = actions.do_draft_answer(
            feedback, acting_user=handler, answer=DEMO_ANSWERS[topic_code], now=answered_at - timedelta(hours=2)
        )
        feedback = actions.do_approve_answer(feedback, acting_user=approver, now=answered_at)
        if stage == "published":
            question, answer = suggest_masked(feedback)
            do_publish_answer(feedback, acting_user=approver, question=question, answer=answer)
