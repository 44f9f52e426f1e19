import math

import pytest

from nguon.lib.geo import (
    EARTH_RADIUS_KM,
    bbox,
    check_circle,
    check_polygon,
    haversine_km,
    point_in_circle,
    point_in_polygon,
    polygon_area_km2,
)

SQUARE = [(10.0, 106.0), (10.0, 107.0), (11.0, 107.0), (11.0, 106.0), (10.0, 106.0)]
# A "U" open to the north: the notch between the arms is outside.
U_SHAPE = [(0, 0), (0, 3), (3, 3), (3, 2), (1, 2), (1, 1), (3, 1), (3, 0), (0, 0)]
# The flood polygon along the Đồng Nai river used in the CAP samples.
DONG_NAI = [
    (11.30, 106.95),
    (11.28, 107.08),
    (11.12, 107.10),
    (10.98, 106.93),
    (10.92, 106.87),
    (10.90, 106.82),
    (10.95, 106.80),
    (11.05, 106.85),
    (11.18, 106.90),
    (11.30, 106.95),
]


@pytest.mark.parametrize(
    ("lat", "lon", "inside"),
    [
        (10.5, 106.5, True),
        (9.9, 106.5, False),
        (10.5, 107.1, False),
        (2, 1.5, False),  # in the notch of the U
        (0.5, 1.5, True),  # in its base
        (2, 0.5, True),  # in its left arm
        (2, 0, True),  # on the outer edge: a point on the boundary counts as inside
        (1, 2, True),  # on an inner vertex
        (2, 2, True),  # on the inner edge of the notch
    ],
)
def test_point_in_polygon(lat, lon, inside):
    ring = SQUARE if lat > 5 else U_SHAPE
    assert point_in_polygon(lat, lon, ring) is inside


def test_a_point_on_a_shared_edge_belongs_to_both_neighbours():
    west = [(0, 0), (0, 1), (1, 1), (1, 0), (0, 0)]
    east = [(0, 1), (0, 2), (1, 2), (1, 1), (0, 1)]
    assert point_in_polygon(0.5, 1, west) and point_in_polygon(0.5, 1, east)


def test_a_ray_through_a_vertex_is_counted_once():
    diamond = [(0, 1), (1, 2), (2, 1), (1, 0), (0, 1)]
    # The horizontal ray from (1, 0.5) passes exactly through the vertex (1, 2).
    assert point_in_polygon(1, 0.5, diamond)
    assert not point_in_polygon(1, -0.5, diamond)


def test_point_in_polygon_with_a_real_area():
    assert point_in_polygon(10.95, 106.82, DONG_NAI)  # Biên Hòa, on the river
    assert point_in_polygon(11.10, 107.00, DONG_NAI)
    assert not point_in_polygon(10.80, 106.70, DONG_NAI)  # Thủ Đức, outside
    assert not point_in_polygon(10.5, 106.5, [(0, 0), (1, 1)])  # not a polygon


def test_haversine_km():
    # One degree of longitude on the equator is R·π/180.
    assert haversine_km(0, 0, 0, 1) == pytest.approx(EARTH_RADIUS_KM * math.pi / 180)
    # Hà Nội – Thành phố Hồ Chí Minh, about 1,138 km as the crow flies.
    assert haversine_km(21.0285, 105.8542, 10.8231, 106.6297) == pytest.approx(1138, abs=2)
    assert haversine_km(10.9, 106.8, 10.9, 106.8) == 0
    assert haversine_km(0, 0, 0, 180) == pytest.approx(math.pi * EARTH_RADIUS_KM)


def test_point_in_circle():
    circle = (10.95, 106.85, 5.0)
    assert point_in_circle(10.95, 106.85, circle)
    assert point_in_circle(10.95 + 4.9 / 111.195, 106.85, circle)
    assert not point_in_circle(10.95 + 5.1 / 111.195, 106.85, circle)
    assert point_in_circle(10.95, 106.85, (10.95, 106.85, 0.0))  # a zero radius still holds its centre


def test_polygon_area_of_a_latitude_longitude_cell_matches_the_closed_form():
    cell = [(10, 106), (10, 107), (11, 107), (11, 106), (10, 106)]
    exact = EARTH_RADIUS_KM**2 * math.radians(1) * (math.sin(math.radians(11)) - math.sin(math.radians(10)))
    assert polygon_area_km2(cell) == pytest.approx(exact, rel=1e-9)
    assert polygon_area_km2(list(reversed(cell))) == pytest.approx(exact, rel=1e-9)  # winding does not matter


def test_polygon_area_of_wyoming_within_one_percent():
    # Wyoming is bounded by 41°N, 45°N, 104.05°W and 111.05°W; the US Census gives 253,335 km² in total.
    wyoming = [(41, -111.05), (41, -104.05), (45, -104.05), (45, -111.05), (41, -111.05)]
    assert polygon_area_km2(wyoming) == pytest.approx(253_335, rel=0.01)


def test_polygon_area_of_degenerate_rings_is_zero():
    assert polygon_area_km2([]) == 0
    assert polygon_area_km2([(1, 1), (2, 2)]) == 0


def test_bbox():
    assert bbox(DONG_NAI) == (10.90, 106.80, 11.30, 107.10)
    with pytest.raises(ValueError):
        bbox([])


@pytest.mark.parametrize(
    ("ring", "kwargs", "codes"),
    [
        (SQUARE, {}, []),
        (DONG_NAI, {}, []),
        (SQUARE[:-1], {}, ["not_closed"]),
        ([(0, 0), (0, 1), (0, 0)], {}, ["too_few_points"]),
        ([(0, 0), (0, 1)], {}, ["not_closed", "too_few_points"]),
        (SQUARE, {"max_points": 4}, ["too_many_points"]),
        ([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)], {}, ["self_crossing"]),
        (SQUARE, {"max_area_km2": 10_000}, ["area_too_large"]),
        ([(8, 102), (8, 110), (23, 110), (23, 102), (8, 102)], {}, ["area_too_large"]),  # all of Vietnam
        ([(91, 0), (91, 1), (90, 1), (91, 0)], {}, ["out_of_range"]),
        ([(0, 0), (0, 181), (1, 1), (0, 0)], {}, ["out_of_range"]),
    ],
)
def test_check_polygon(ring, kwargs, codes):
    assert check_polygon(ring, **kwargs) == codes


def test_check_polygon_reports_problems_of_the_closed_ring_when_only_the_closing_point_is_missing():
    assert check_polygon([(0, 0), (1, 1), (1, 0), (0, 1)]) == ["not_closed", "self_crossing"]


@pytest.mark.parametrize(
    ("circle", "kwargs", "codes"),
    [
        ((10.95, 106.85, 5.0), {}, []),
        ((10.95, 106.85, 0.0), {}, []),
        ((10.95, 106.85, 301.0), {}, ["radius_too_large"]),
        ((10.95, 106.85, 20.0), {"max_radius_km": 10}, ["radius_too_large"]),
        ((10.95, 106.85, -1.0), {}, ["invalid_radius"]),
        ((10.95, 106.85, math.nan), {}, ["invalid_radius"]),
        ((-91.0, 106.85, 5.0), {}, ["out_of_range"]),
        ((10.95, -180.5, 5.0), {}, ["out_of_range"]),
    ],
)
def test_check_circle(circle, kwargs, codes):
    assert check_circle(circle, **kwargs) == codes
