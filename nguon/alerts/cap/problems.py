"""Problems found in a CAP document: a stable code for machines and a translatable English message for people."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["MESSAGES", "CapError", "Problem", "gettext_noop", "problem"]


def gettext_noop(message: str) -> str:
    """Mark a message for translation (makemessages finds this name) without touching Django settings.

    Django's own gettext_noop reads settings, and this package must work in plain scripts and feed workers too.
    """
    return message


@dataclass
class Problem:
    """One thing wrong with a document: `code` is stable snake_case, `message` an English msgid with %(name)s."""

    code: str
    message: str
    params: dict[str, object] = field(default_factory=dict)
    path: str = ""

    def text(self) -> str:
        """Return the message translated into the active language (English when Django is not set up)."""
        try:
            from django.utils.translation import gettext

            message = gettext(self.message)
        except Exception:  # settings not configured or apps not loaded: no catalogue to read from
            message = self.message
        return message % self.params if self.params else message

    def __str__(self) -> str:
        text = self.message % self.params if self.params else self.message
        return f"{self.path}: {text}" if self.path else text


class CapError(Exception):
    """The document cannot be understood as a CAP alert; `problems` says why."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))

    @property
    def codes(self) -> list[str]:
        return [p.code for p in self.problems]


# Every message, keyed by problem code; "code/variant" keys give a second wording of the same code.
MESSAGES = {
    "too_large": gettext_noop("The document is %(size)s bytes long; at most %(limit)s bytes are accepted."),
    "forbidden_xml": gettext_noop(
        "The document uses XML features refused for safety (%(detail)s): document type declarations, "
        "entity declarations and external references are not allowed."
    ),
    "not_xml": gettext_noop("The document is not well-formed XML: %(detail)s"),
    "not_cap": gettext_noop("The root element is %(element)s, not a CAP alert."),
    "old_version": gettext_noop("The document uses the CAP %(version)s namespace; it was read as CAP 1.2."),
    "no_namespace": gettext_noop("The document has no CAP namespace; it was read as CAP 1.2."),
    "unknown_namespace": gettext_noop("The document uses the unknown namespace %(namespace)s; it was read as CAP 1.2."),
    "unknown_element": gettext_noop("The unknown element %(element)s was ignored."),
    "out_of_order": gettext_noop("The elements of %(element)s are not in the order the standard requires."),
    "duplicate_element": gettext_noop("The element %(element)s appears more than once; only the first was kept."),
    "missing_element": gettext_noop("The required element %(element)s is missing."),
    "missing_element/assumed": gettext_noop("The element %(element)s is missing; %(replacement)s was assumed."),
    "missing_element/value_name": gettext_noop("The element %(element)s has no valueName."),
    "invalid_identifier": gettext_noop(
        'The identifier %(value)s contains spaces, commas, "<" or "&", which CAP forbids.'
    ),
    "invalid_sender": gettext_noop('The sender %(value)s contains spaces, commas, "<" or "&", which CAP forbids.'),
    "invalid_status": gettext_noop("The status %(value)s is not one of %(allowed)s."),
    "invalid_msg_type": gettext_noop("The message type %(value)s is not one of %(allowed)s."),
    "invalid_scope": gettext_noop("The scope %(value)s is not one of %(allowed)s."),
    "value_spelling": gettext_noop(
        "The %(element)s value %(value)s is not spelled as the standard requires; %(replacement)s was used."
    ),
    "unknown_value": gettext_noop("The %(element)s value %(value)s is not in the standard; %(replacement)s was used."),
    "unknown_value/ignored": gettext_noop("The %(element)s value %(value)s is not in the standard and was ignored."),
    "deprecated_value": gettext_noop(
        "The %(element)s value %(value)s is from an older CAP version; %(replacement)s was used."
    ),
    "invalid_time": gettext_noop("The time %(value)s in %(element)s is not a valid date and time."),
    "time_without_zone": gettext_noop("The time %(value)s has no time zone; Vietnam time (+07:00) was assumed."),
    "time_format": gettext_noop(
        "The time %(value)s is not written as the standard requires (%(detail)s); it was read anyway."
    ),
    "invalid_number": gettext_noop("The %(element)s value %(value)s is not a number and was ignored."),
    "missing_references": gettext_noop(
        "A message of type %(msg_type)s must name the messages it refers to in references."
    ),
    "invalid_references": gettext_noop("The reference %(value)s is not of the form sender,identifier,sent."),
    "empty_element": gettext_noop("The empty element %(element)s was ignored."),
    "invalid_polygon": gettext_noop("The polygon point %(value)s is not a latitude,longitude pair of numbers."),
    "coordinate_out_of_range": gettext_noop(
        "The point %(lat)s,%(lon)s is outside the valid range (latitude -90 to 90, longitude -180 to 180)."
    ),
    "polygon_not_closed": gettext_noop("The polygon was not closed; its first point was repeated at the end."),
    "polygon_too_few_points": gettext_noop(
        "A polygon needs at least 4 points, the first repeated at the end; this one has %(count)s."
    ),
    "polygon_too_many_points": gettext_noop("The polygon has %(count)s points; at most %(limit)s are accepted."),
    "polygon_self_crossing": gettext_noop("The polygon crosses itself; places near the crossing may be misjudged."),
    "area_too_large": gettext_noop("The polygon covers about %(area)s km²; at most %(limit)s km² are accepted."),
    "area_too_large/circle": gettext_noop(
        "The circle has a radius of %(radius)s km; at most %(limit)s km are accepted."
    ),
    "invalid_circle": gettext_noop(
        'The circle %(value)s is not of the form "latitude,longitude radius" with a radius in kilometres that is '
        "not negative."
    ),
    "circle_zero_radius": gettext_noop("The circle %(value)s has a radius of 0: it covers a single point."),
}


def problem(key: str, path: str = "", **params: object) -> Problem:
    """Return the Problem for a MESSAGES key ("code" or "code/variant")."""
    return Problem(key.split("/")[0], MESSAGES[key], params, path)
