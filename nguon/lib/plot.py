"""Geometry for small inline SVG figures: a fitted map projection, convex hulls, grouped bar charts.

Pure Python, no Django: the back office draws maps and charts itself, with no tile service, CDN or JS library.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

# A bounding box narrower than this (degrees, about 1 km) is widened, so one device still gets a sensible frame.
MIN_SPAN_DEGREES = 0.01
# Bar labels are cut to this many characters (the template truncates them the same way), about this wide each.
LABEL_CHARS = 18
LABEL_CHAR_WIDTH = 6.5
LABEL_OFFSET = 14  # label baseline below the axis


@dataclass(frozen=True)
class Frame:
    """An equirectangular projection fitted to a bounding box, mapping (lat, lon) to SVG (x, y)."""

    south: float
    west: float
    north: float
    east: float
    width: float
    height: float
    scale: float  # SVG units per degree of longitude at the frame's middle latitude
    x_factor: float  # cos(middle latitude): a degree of longitude is that much shorter than one of latitude
    pad: float

    def xy(self, lat: float, lon: float) -> tuple[float, float]:
        x = self.pad + (lon - self.west) * self.x_factor * self.scale
        y = self.pad + (self.north - lat) * self.scale
        return round(x, 1), round(y, 1)


def fit_frame(points: Sequence[tuple[float, float]], *, width: float = 800, pad: float = 30) -> Frame | None:
    """The frame that shows every (lat, lon) point; None when there is none."""
    if not points:
        return None
    lats = [p[0] for p in points]
    lons = [p[1] for p in points]
    south, north = min(lats), max(lats)
    west, east = min(lons), max(lons)
    if north - south < MIN_SPAN_DEGREES:
        middle = (north + south) / 2
        south, north = middle - MIN_SPAN_DEGREES / 2, middle + MIN_SPAN_DEGREES / 2
    x_factor = math.cos(math.radians((north + south) / 2))
    if (east - west) * x_factor < MIN_SPAN_DEGREES:
        middle = (east + west) / 2
        half = MIN_SPAN_DEGREES / x_factor / 2
        west, east = middle - half, middle + half
    # Keep the drawing at most as tall as it is wide: a tall strip of devices is scaled to fit the height.
    inner = width - 2 * pad
    scale = inner / ((east - west) * x_factor)
    if (north - south) * scale > inner:
        scale = inner / (north - south)
    return Frame(
        south=south,
        west=west,
        north=north,
        east=east,
        width=round((east - west) * x_factor * scale + 2 * pad, 1),
        height=round((north - south) * scale + 2 * pad, 1),
        scale=scale,
        x_factor=x_factor,
        pad=pad,
    )


def nice_step(span: float, target: int = 5) -> float:
    """A round grid step (1, 2 or 5 times a power of ten) giving about `target` lines over `span`."""
    if span <= 0:
        return 1.0
    raw = span / target
    power = 10 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 5, 10):
        if raw <= multiple * power:
            return multiple * power
    return 10 * power


def graticule(frame: Frame, target: int = 4) -> dict[str, list[dict]]:
    """Latitude and longitude lines at round values inside the frame, with their labels."""
    lines: dict[str, list[dict]] = {"lat": [], "lon": []}
    step = nice_step(max(frame.north - frame.south, frame.east - frame.west), target)
    decimals = max(0, -math.floor(math.log10(step)))
    value = math.ceil(frame.south / step) * step
    while value <= frame.north + 1e-9:
        _, y = frame.xy(value, frame.west)
        lines["lat"].append({"y": y, "label": f"{value:.{decimals}f}°N"})
        value += step
    value = math.ceil(frame.west / step) * step
    while value <= frame.east + 1e-9:
        x, _ = frame.xy(frame.north, value)
        lines["lon"].append({"x": x, "label": f"{value:.{decimals}f}°E"})
        value += step
    return lines


def convex_hull(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The convex hull of (x, y) points, counter-clockwise (Andrew's monotone chain); fewer than 3 points as given."""
    unique = sorted(set(points))
    if len(unique) < 3:
        return unique

    def cross(o, a, b) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[tuple[float, float]] = []
    for p in unique:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list[tuple[float, float]] = []
    for p in reversed(unique):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


@dataclass
class BarChart:
    """Grouped bars, one group per label: what the template draws as rectangles, ticks and labels."""

    width: float
    height: float
    baseline: float
    left: float = 44
    groups: list[dict] = field(default_factory=list)
    ticks: list[dict] = field(default_factory=list)
    series: list[str] = field(default_factory=list)


def bar_chart(
    labels: Sequence[str],
    series: dict[str, Sequence[float]],
    *,
    bar_width: float = 14,
    gap: float = 12,
    plot_height: float = 160,
    left: float = 44,
    bottom: float = 64,
    top: float = 10,
) -> BarChart:
    """Lay out grouped vertical bars: one group per label, one bar per series, on a shared round scale."""
    names = list(series)
    peak = max((v for values in series.values() for v in values), default=0)
    step = nice_step(peak or 1, 4)
    axis_max = max(step, math.ceil(peak / step) * step)
    group_width = bar_width * len(names) + gap
    # Labels are drawn slanted (−35°) and end under their group: leave room for the first one on the left.
    longest = min(max((len(label) for label in labels), default=0), LABEL_CHARS) * LABEL_CHAR_WIDTH
    left = max(left, round(longest * math.cos(math.radians(35)) - group_width / 2, 1))
    bottom = max(bottom, round(LABEL_OFFSET + longest * math.sin(math.radians(35)) + 12, 1))
    width = left + group_width * len(labels) + gap
    baseline = top + plot_height
    chart = BarChart(
        width=round(width, 1), height=round(baseline + bottom, 1), baseline=baseline, left=left, series=names
    )
    value = 0.0
    while value <= axis_max + 1e-9:
        chart.ticks.append({"y": round(baseline - value / axis_max * plot_height, 1), "value": _number(value)})
        value += step
    for index, label in enumerate(labels):
        x0 = left + gap + index * group_width
        bars = []
        for position, name in enumerate(names):
            v = series[name][index]
            h = v / axis_max * plot_height
            bars.append({"series": position, "name": name, "value": v, "x": round(x0 + position * bar_width, 1),
                         "y": round(baseline - h, 1), "width": bar_width - 1, "height": round(h, 1)})  # fmt: skip
        chart.groups.append({"label": label, "x": round(x0 + (group_width - gap) / 2, 1),
                             "label_y": baseline + LABEL_OFFSET, "bars": bars})  # fmt: skip
    return chart


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value
