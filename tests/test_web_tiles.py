"""The schematic tile map sits roughly where the counties are: checked against approximate
coordinates of the 90 county seats (degrees east, north; rounded public figures)."""

from __future__ import annotations

import numpy as np

from mujun.reference.divisions import division_name
from mujun.web.pages.tiles import TILES

SEATS = {
    "330102": (120.17, 30.24), "330105": (120.14, 30.32), "330106": (120.13, 30.26),
    "330108": (120.21, 30.21), "330109": (120.26, 30.18), "330110": (120.00, 30.29),
    "330111": (119.96, 30.05), "330112": (119.72, 30.23), "330113": (120.30, 30.42),
    "330114": (120.49, 30.32), "330122": (119.69, 29.80), "330127": (119.04, 29.61),
    "330182": (119.28, 29.47), "330203": (121.55, 29.86), "330205": (121.56, 29.89),
    "330206": (121.84, 29.90), "330211": (121.71, 29.95), "330212": (121.55, 29.82),
    "330213": (121.41, 29.66), "330225": (121.87, 29.48), "330226": (121.43, 29.29),
    "330281": (121.15, 30.04), "330282": (121.27, 30.17), "330302": (120.66, 28.02),
    "330303": (120.81, 27.93), "330304": (120.64, 27.97), "330305": (121.16, 27.84),
    "330324": (120.69, 28.15), "330326": (120.57, 27.66), "330327": (120.43, 27.52),
    "330328": (120.09, 27.79), "330329": (119.72, 27.56), "330381": (120.66, 27.78),
    "330382": (120.96, 28.11), "330383": (120.55, 27.58), "330402": (120.78, 30.75),
    "330411": (120.71, 30.77), "330421": (120.93, 30.83), "330424": (120.95, 30.53),
    "330481": (120.68, 30.51), "330482": (121.02, 30.70), "330483": (120.57, 30.63),
    "330502": (120.10, 30.87), "330503": (120.42, 30.87), "330521": (119.98, 30.54),
    "330522": (119.91, 31.03), "330523": (119.68, 30.64), "330602": (120.58, 30.00),
    "330603": (120.49, 30.08), "330604": (120.87, 30.03), "330624": (120.90, 29.50),
    "330681": (120.24, 29.71), "330683": (120.82, 29.59), "330702": (119.65, 29.08),
    "330703": (119.69, 29.10), "330723": (119.82, 28.89), "330726": (119.89, 29.45),
    "330727": (120.45, 29.05), "330781": (119.46, 29.21), "330782": (120.07, 29.31),
    "330783": (120.24, 29.29), "330784": (120.05, 28.89), "330802": (118.87, 28.94),
    "330803": (118.96, 28.98), "330822": (118.51, 28.90), "330824": (118.41, 29.14),
    "330825": (119.17, 29.03), "330881": (118.63, 28.74), "330902": (122.11, 30.02),
    "330903": (122.30, 29.95), "330921": (122.20, 30.24), "330922": (122.45, 30.73),
    "331002": (121.44, 28.68), "331003": (121.26, 28.65), "331004": (121.37, 28.58),
    "331022": (121.38, 29.10), "331023": (121.01, 29.14), "331024": (120.73, 28.85),
    "331081": (121.38, 28.37), "331082": (121.14, 28.86), "331083": (121.23, 28.14),
    "331102": (119.91, 28.45), "331121": (120.29, 28.14), "331122": (120.09, 28.66),
    "331123": (119.28, 28.59), "331124": (119.48, 28.45), "331125": (119.57, 28.12),
    "331126": (119.06, 27.62), "331127": (119.63, 27.97), "331181": (119.14, 28.07),
}  # fmt: skip


def _rank_correlation(a, b) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def test_every_tile_has_a_seat_and_no_two_counties_share_a_tile():
    assert set(SEATS) == set(TILES)
    assert len(set(TILES.values())) == len(TILES) == 90


def test_columns_follow_longitude_and_rows_latitude():
    codes = sorted(TILES)
    columns = _rank_correlation([TILES[c][0] for c in codes], [SEATS[c][0] for c in codes])
    rows = _rank_correlation([TILES[c][1] for c in codes], [-SEATS[c][1] for c in codes])
    assert columns > 0.95 and rows > 0.95, (columns, rows)


def test_no_county_sits_on_the_wrong_side_of_a_neighbour():
    # Tiles are a coarse grid: counties within 0.2° of each other may swap; anything clearer
    # east (north) of a county on roughly the same latitude (longitude) must not be drawn west
    # (south) of it.
    swapped = []
    for a, (xa, ya) in TILES.items():
        for b, (xb, yb) in TILES.items():
            (lon_a, lat_a), (lon_b, lat_b) = SEATS[a], SEATS[b]
            if lon_a - lon_b > 0.2 and abs(lat_a - lat_b) < 0.3 and xa < xb:
                swapped.append(f"{division_name(a)} is east of {division_name(b)}")
            if lat_a - lat_b > 0.2 and abs(lon_a - lon_b) < 0.3 and ya > yb:
                swapped.append(f"{division_name(a)} is north of {division_name(b)}")
    assert swapped == []


def test_each_city_is_one_piece_of_touching_tiles():
    cities: dict[str, set[tuple[int, int]]] = {}
    for code, cell in TILES.items():
        cities.setdefault(code[:4] + "00", set()).add(cell)
    split = []
    for city, cells in cities.items():
        start = next(iter(cells))
        seen, todo = {start}, [start]
        while todo:
            x, y = todo.pop()
            for n in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
                if n in cells and n not in seen:
                    seen.add(n)
                    todo.append(n)
        if seen != cells:
            split.append(division_name(city))
    assert split == []
