import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def english_messages():
    """Engine and pipeline errors are asserted on their English msgids; the UI default is Vietnamese."""
    with translation.override("en"):
        yield
