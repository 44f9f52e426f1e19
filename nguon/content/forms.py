from django import forms
from django.utils.translation import gettext_lazy as _

from nguon.accounts.access import units_for_user
from nguon.accounts.roles import Capability
from nguon.content.access import library_for_user
from nguon.content.actions import BulletinData
from nguon.content.models import Category, Language, Priority, Source, Status
from nguon.core.forms import Form


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


def _unit_label(unit):
    return f"{'— ' * unit.depth}{unit.name}"


class BulletinForm(Form):
    owner_unit = forms.ModelChoiceField(label=_("Issuing unit"), queryset=None)
    title = forms.CharField(label=_("Title"), max_length=1000)
    summary = forms.CharField(label=_("Summary"), widget=forms.Textarea(attrs={"rows": 2}), required=False)
    body = forms.CharField(label=_("Content"), widget=forms.Textarea(attrs={"rows": 12}), max_length=400_000)
    category = forms.ModelChoiceField(
        label=_("Topic"), queryset=Category.objects.filter(is_active=True), required=False
    )
    priority = forms.ChoiceField(label=_("Priority class (TT 39)"), choices=Priority.choices, initial=Priority.NORMAL)
    language = forms.ChoiceField(label=_("Language"), choices=Language.choices, initial=Language.VI)
    targets = forms.ModelMultipleChoiceField(
        label=_("Target units"),
        queryset=None,
        required=False,
        help_text=_("Leave empty for the issuing unit as a whole."),
        widget=forms.SelectMultiple(attrs={"size": 8}),
    )
    publish_at = forms.DateTimeField(
        label=_("Publish at"), required=False, widget=DateTimeLocalInput(), help_text=_("Empty: on approval.")
    )
    expires_at = forms.DateTimeField(label=_("Expires at"), required=False, widget=DateTimeLocalInput())
    valid_from = forms.DateTimeField(label=_("Valid from"), required=False, widget=DateTimeLocalInput())
    valid_to = forms.DateTimeField(label=_("Valid until"), required=False, widget=DateTimeLocalInput())
    spoken_text = forms.CharField(
        label=_("Text for loudspeakers"),
        widget=forms.Textarea(attrs={"rows": 5}),
        required=False,
        max_length=400_000,
        help_text=_("Empty: the title and content are read."),
    )
    board_text = forms.CharField(
        label=_("Short text for e-boards"), widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000
    )
    web_html = forms.CharField(
        label=_("Web text (HTML)"), widget=forms.Textarea(attrs={"rows": 5}), required=False, max_length=400_000
    )
    attachments = forms.ModelMultipleChoiceField(label=_("Attachments"), queryset=None, required=False)

    def __init__(self, *args, user, bulletin=None, **kwargs):
        super().__init__(*args, **kwargs)
        units = units_for_user(user, Capability.EDIT_CONTENT).current()
        self.fields["owner_unit"].queryset = units
        self.fields["owner_unit"].label_from_instance = _unit_label
        self.fields["targets"].queryset = units_for_user(user).current()
        self.fields["targets"].label_from_instance = _unit_label
        self.fields["attachments"].queryset = library_for_user(user)
        if bulletin is not None:
            # The issuing unit of an existing bulletin does not change.
            del self.fields["owner_unit"]

    def to_data(self) -> BulletinData:
        d = self.cleaned_data
        return BulletinData(
            title=d["title"],
            summary=d["summary"],
            body=d["body"],
            category=d["category"],
            priority=d["priority"],
            language=d["language"],
            targets=list(d["targets"]),
            valid_from=d["valid_from"],
            valid_to=d["valid_to"],
            spoken_text=d["spoken_text"],
            board_text=d["board_text"],
            web_html=d["web_html"],
            publish_at=d["publish_at"],
            expires_at=d["expires_at"],
            attachments=list(d["attachments"]),
        )

    @staticmethod
    def initial_from(bulletin) -> dict:
        r = bulletin.current_revision
        return {
            "title": r.title,
            "summary": r.summary,
            "body": r.body,
            "category": r.category,
            "priority": r.priority,
            "language": r.language,
            "targets": list(r.targets.all()),
            "valid_from": r.valid_from,
            "valid_to": r.valid_to,
            "spoken_text": r.spoken_text,
            "board_text": r.board_text,
            "web_html": r.web_html,
            "publish_at": bulletin.publish_at,
            "expires_at": bulletin.expires_at,
            "attachments": list(r.attachments.all()),
        }


class CommentForm(Form):
    comment = forms.CharField(label=_("Comment"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)


class BulletinFilterForm(Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    status = forms.ChoiceField(label=_("Status"), choices=[("", _("All")), *Status.choices], required=False)
    priority = forms.ChoiceField(label=_("Priority"), choices=[("", _("All")), *Priority.choices], required=False)
    category = forms.ModelChoiceField(
        label=_("Topic"), queryset=Category.objects.all(), required=False, empty_label=_("All")
    )
    unit = forms.CharField(label=_("Unit code"), required=False, max_length=20)
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))


class ImportForm(Form):
    unit = forms.ModelChoiceField(label=_("Receiving unit"), queryset=None)
    source = forms.ChoiceField(
        label=_("Received from"),
        choices=[(Source.CENTRAL, Source.CENTRAL.label), (Source.PROVINCE, Source.PROVINCE.label)],
    )
    file = forms.FileField(label=_("File (JSON or ninjs)"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units_for_user(user, Capability.EDIT_CONTENT).current()
        self.fields["unit"].label_from_instance = _unit_label


class MediaUploadForm(Form):
    file = forms.FileField(label=_("File"))
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=None)
    title = forms.CharField(label=_("Title"), max_length=300, required=False)
    author = forms.CharField(label=_("Author"), max_length=200, required=False)
    rights = forms.CharField(label=_("Rights"), max_length=300, required=False)
    category = forms.ModelChoiceField(
        label=_("Topic"), queryset=Category.objects.filter(is_active=True), required=False
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units_for_user(user, Capability.EDIT_CONTENT).current()
        self.fields["unit"].label_from_instance = _unit_label
