from django import forms

from nguon.core.forms import Form
from nguon.notifications import channels
from nguon.notifications.actions import channel_wishes
from nguon.notifications.kinds import kinds_for
from nguon.notifications.models import Kind


class ChannelChoicesForm(Form):
    """One checkbox per kind that concerns the person and per outside channel."""

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.kinds = kinds_for(user)
        self.channels = channels.all_channels()
        self.rows = []
        for kind in self.kinds:
            wanted = channel_wishes([user], kind)[user.pk]
            cells = []
            for channel in self.channels:
                name = f"{kind}__{channel.name}"
                self.fields[name] = forms.BooleanField(
                    label=f"{Kind(kind).label} · {channel.label}", required=False, initial=channel.name in wanted
                )
                cells.append((channel, name))
            self.rows.append((Kind(kind).label, cells))

    def rows_bound(self):
        return [(label, [(channel, self[name]) for channel, name in cells]) for label, cells in self.rows]

    def choices(self) -> dict[tuple[str, str], bool]:
        return {
            (kind, channel.name): bool(self.cleaned_data.get(f"{kind}__{channel.name}"))
            for kind in self.kinds
            for channel in self.channels
        }
