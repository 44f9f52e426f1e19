"""Plain-Python geometry on latitude/longitude points: containment, distances, areas and sanity checks.

Points are (lat, lon) in decimal degrees (WGS 84), the order CAP uses. A ring is a list of points; a closed ring
repeats its first point at the end. A circle is (lat, lon, radius_km). Nothing here handles rings that cross the
antimeridian: alerts for Vietnam never do, and a crossing ring is reported as enormous rather than mis-handled.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

Point = tuple[float, float]
Ring = Sequence[Point]
Circle = tuple[float, float, float]

EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG)
# Points closer than this (in degrees, about 1 cm) to an edge count as lying on it.
_EDGE_EPSILON = 1e-9
# The self-crossing test is quadratic; above this many points it is skipped rather than made slow.
_MAX_POINTS_FOR_CROSSING_TEST = 1_000


def is_valid_point(lat: float, lon: float) -> bool:
    """Return whether lat/lon are finite and inside −90..90 / −180..180."""
    return math.isfinite(lat) and math.isfinite(lon) and -90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0


def _on_segment(lat: float, lon: float, a: Point, b: Point) -> bool:
    (lat1, lon1), (lat2, lon2) = a, b
    cross = (lon2 - lon1) * (lat - lat1) - (lat2 - lat1) * (lon - lon1)
    if abs(cross) > _EDGE_EPSILON * max(1.0, abs(lon2 - lon1) + abs(lat2 - lat1)):
        return False
    return (
        min(lat1, lat2) - _EDGE_EPSILON <= lat <= max(lat1, lat2) + _EDGE_EPSILON
        and min(lon1, lon2) - _EDGE_EPSILON <= lon <= max(lon1, lon2) + _EDGE_EPSILON
    )


def point_in_polygon(lat: float, lon: float, ring: Ring) -> bool:
    """Return whether the point is inside the ring or on its boundary (ray casting on the plane).

    Points on an edge or a vertex always count as inside, so a loudspeaker exactly on the line between two
    alert areas belongs to both rather than to neither.
    """
    n = len(ring)
    if n < 3:
        return False
    inside = False
    for i in range(n):
        a, b = ring[i - 1], ring[i]
        if _on_segment(lat, lon, a, b):
            return True
        (lat1, lon1), (lat2, lon2) = a, b
        # Half-open rule (lat1 > lat) != (lat2 > lat): a ray through a vertex is counted once, not twice.
        if (lat1 > lat) != (lat2 > lat):
            crossing_lon = lon1 + (lat - lat1) * (lon2 - lon1) / (lat2 - lat1)
            if lon < crossing_lon:
                inside = not inside
    return inside


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Return the great-circle distance between two points in kilometres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def point_in_circle(lat: float, lon: float, circle: Circle) -> bool:
    """Return whether the point is within the circle (boundary included)."""
    clat, clon, radius_km = circle
    return haversine_km(lat, lon, clat, clon) <= radius_km


def polygon_area_km2(ring: Ring) -> float:
    """Return the area enclosed by the ring on a spherical Earth, in square kilometres.

    Uses the line-integral formula of Chamberlain & Duquette (JPL, 2007), exact for a ring whose edges follow
    parallels and meridians and within a fraction of a percent for alert-sized polygons. Winding does not matter.
    """
    n = len(ring)
    if n < 3:
        return 0.0
    total = 0.0
    for i in range(n):
        lat1, lon1 = ring[i - 1]
        lat2, lon2 = ring[i]
        total += math.radians(lon2 - lon1) * (2 + math.sin(math.radians(lat1)) + math.sin(math.radians(lat2)))
    return abs(total) * EARTH_RADIUS_KM**2 / 2


def bbox(ring: Ring) -> tuple[float, float, float, float]:
    """Return (min_lat, min_lon, max_lat, max_lon) of the points."""
    if not ring:
        raise ValueError("bbox of an empty ring")
    lats = [p[0] for p in ring]
    lons = [p[1] for p in ring]
    return min(lats), min(lons), max(lats), max(lons)


def _orientation(p: Point, q: Point, r: Point) -> float:
    return (q[1] - p[1]) * (r[0] - p[0]) - (q[0] - p[0]) * (r[1] - p[1])


def _segments_cross(a: Point, b: Point, c: Point, d: Point) -> bool:
    """Return whether segments ab and cd properly cross or touch away from a shared endpoint."""
    d1, d2 = _orientation(c, d, a), _orientation(c, d, b)
    d3, d4 = _orientation(a, b, c), _orientation(a, b, d)
    if ((d1 > 0 > d2) or (d1 < 0 < d2)) and ((d3 > 0 > d4) or (d3 < 0 < d4)):
        return True
    # Collinear overlaps and T-junctions: a vertex of one segment lying on the other.
    return (
        (d1 == 0 and _on_segment(a[0], a[1], c, d))
        or (d2 == 0 and _on_segment(b[0], b[1], c, d))
        or (d3 == 0 and _on_segment(c[0], c[1], a, b))
        or (d4 == 0 and _on_segment(d[0], d[1], a, b))
    )


def _self_crossing(ring: Ring) -> bool:
    edges = [(ring[i], ring[i + 1]) for i in range(len(ring) - 1)]
    n = len(edges)
    for i in range(n):
        for j in range(i + 2, n):
            if i == 0 and j == n - 1:
                continue  # the first and last edges share the closing point
            if _segments_cross(*edges[i], *edges[j]):
                return True
    return False


def check_polygon(ring: Ring, *, max_points: int = 10_000, max_area_km2: float = 100_000.0) -> list[str]:
    """Return the problem codes of a polygon ring (empty when it is usable).

    Codes: out_of_range, not_closed, too_few_points (fewer than 4 points counting the closing one),
    too_many_points, self_crossing (only tested up to 1,000 points), area_too_large.
    """
    problems: list[str] = []
    if any(not is_valid_point(lat, lon) for lat, lon in ring):
        problems.append("out_of_range")
    closed_already = len(ring) > 0 and tuple(ring[0]) == tuple(ring[-1])
    if ring and not closed_already:
        problems.append("not_closed")
    if len(ring) + (0 if closed_already else 1) < 4:
        problems.append("too_few_points")
    if len(ring) > max_points:
        problems.append("too_many_points")
    if problems and problems != ["not_closed"]:
        return problems
    closed = list(ring) if closed_already else [*ring, ring[0]]
    if len(closed) <= _MAX_POINTS_FOR_CROSSING_TEST and _self_crossing(closed):
        problems.append("self_crossing")
    if polygon_area_km2(closed) > max_area_km2:
        problems.append("area_too_large")
    return problems


def check_circle(circle: Circle, *, max_radius_km: float = 300.0) -> list[str]:
    """Return the problem codes of a circle: out_of_range, invalid_radius (negative or not finite),
    radius_too_large."""
    lat, lon, radius_km = circle
    problems: list[str] = []
    if not is_valid_point(lat, lon):
        problems.append("out_of_range")
    if not math.isfinite(radius_km) or radius_km < 0:
        problems.append("invalid_radius")
    elif radius_km > max_radius_km:
        problems.append("radius_too_large")
    return problems
