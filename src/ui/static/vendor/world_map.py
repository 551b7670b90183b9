#!/usr/bin/env python3
"""Converts world-atlas's countries-110m.json (Natural Earth 110 m, TopoJSON) into
world-110m.tsv: one line per country, `alpha-2 <TAB> name <TAB> SVG path data`, in an
equirectangular projection of SCALE pixels per degree (x from 180°W, y from NORTH),
integer coordinates, relative moves; rings crossing the antimeridian are drawn on both
edges. Antarctica is left out. Runs offline from the
committed input; refresh.sh runs it after fetching a new world-atlas.

    python3 world_map.py countries-110m.json > world-110m.tsv   (in src/ui/static/vendor)
"""
import json
import sys

SCALE = 3
NORTH = 84
SOUTH = -57

# ISO 3166-1 numeric (world-atlas's ids) -> alpha-2, for the 174 ids the file has (from
# Debian's iso-codes); the three unnumbered shapes are named by NAMELESS below.
NUMERIC = {
    "004": "AF", "008": "AL", "010": "AQ", "012": "DZ", "024": "AO", "031": "AZ", "032": "AR",
    "036": "AU", "040": "AT", "044": "BS", "050": "BD", "051": "AM", "056": "BE", "064": "BT",
    "068": "BO", "070": "BA", "072": "BW", "076": "BR", "084": "BZ", "090": "SB", "096": "BN",
    "100": "BG", "104": "MM", "108": "BI", "112": "BY", "116": "KH", "120": "CM", "124": "CA",
    "140": "CF", "144": "LK", "148": "TD", "152": "CL", "156": "CN", "158": "TW", "170": "CO",
    "178": "CG", "180": "CD", "188": "CR", "191": "HR", "192": "CU", "196": "CY", "203": "CZ",
    "204": "BJ", "208": "DK", "214": "DO", "218": "EC", "222": "SV", "226": "GQ", "231": "ET",
    "232": "ER", "233": "EE", "238": "FK", "242": "FJ", "246": "FI", "250": "FR", "260": "TF",
    "262": "DJ", "266": "GA", "268": "GE", "270": "GM", "275": "PS", "276": "DE", "288": "GH",
    "300": "GR", "304": "GL", "320": "GT", "324": "GN", "328": "GY", "332": "HT", "340": "HN",
    "348": "HU", "352": "IS", "356": "IN", "360": "ID", "364": "IR", "368": "IQ", "372": "IE",
    "376": "IL", "380": "IT", "384": "CI", "388": "JM", "392": "JP", "398": "KZ", "400": "JO",
    "404": "KE", "408": "KP", "410": "KR", "414": "KW", "417": "KG", "418": "LA", "422": "LB",
    "426": "LS", "428": "LV", "430": "LR", "434": "LY", "440": "LT", "442": "LU", "450": "MG",
    "454": "MW", "458": "MY", "466": "ML", "478": "MR", "484": "MX", "496": "MN", "498": "MD",
    "499": "ME", "504": "MA", "508": "MZ", "512": "OM", "516": "NA", "524": "NP", "528": "NL",
    "540": "NC", "548": "VU", "554": "NZ", "558": "NI", "562": "NE", "566": "NG", "578": "NO",
    "586": "PK", "591": "PA", "598": "PG", "600": "PY", "604": "PE", "608": "PH", "616": "PL",
    "620": "PT", "624": "GW", "626": "TL", "630": "PR", "634": "QA", "642": "RO", "643": "RU",
    "646": "RW", "682": "SA", "686": "SN", "688": "RS", "694": "SL", "703": "SK", "704": "VN",
    "705": "SI", "706": "SO", "710": "ZA", "716": "ZW", "724": "ES", "728": "SS", "729": "SD",
    "732": "EH", "740": "SR", "748": "SZ", "752": "SE", "756": "CH", "760": "SY", "762": "TJ",
    "764": "TH", "768": "TG", "780": "TT", "784": "AE", "788": "TN", "792": "TR", "795": "TM",
    "800": "UG", "804": "UA", "807": "MK", "818": "EG", "826": "GB", "834": "TZ", "840": "US",
    "854": "BF", "858": "UY", "860": "UZ", "862": "VE", "887": "YE", "894": "ZM",
}
# Shapes without an ISO number: drawn as the country whose numbers they dial (Kosovo has
# its own code, XK, in libphonenumber; Somaliland dials +252 and Northern Cyprus is shaded
# with Cyprus).
NAMELESS = {"Kosovo": "XK", "Somaliland": "SO", "N. Cyprus": "CY"}
LEFT_OUT = {"AQ"}


def decode_arcs(topo):
    (sx, sy), (tx, ty) = topo["transform"]["scale"], topo["transform"]["translate"]
    arcs = []
    for arc in topo["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x += dx
            y += dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def ring_points(ring, arcs):
    points = []
    for i in ring:
        arc = arcs[i] if i >= 0 else list(reversed(arcs[~i]))
        points.extend(arc if not points else arc[1:])
    return points


def project(lon, lat):
    return round((lon + 180) * SCALE), round((NORTH - lat) * SCALE)


def numbers(values):
    """SVG numbers with the fewest separators: a minus sign separates by itself."""
    out = ""
    for v in values:
        out += ("%d" % v) if not out or v < 0 else (" %d" % v)
    return out


def unwrapped(points):
    """The ring with continuous longitudes: a ring crossing the antimeridian (Russia, Fiji)
    jumps by 360° between two points; shifting what follows by 360° keeps it whole (it then
    extends past ±180°, and is drawn again shifted back, see rings_path)."""
    out, shift, last = [], 0.0, None
    for lon, lat in points:
        if last is not None:
            if lon + shift - last > 180:
                shift -= 360
            elif lon + shift - last < -180:
                shift += 360
        out.append((lon + shift, lat))
        last = lon + shift
    return out


def rings_path(points):
    ring = unwrapped(points)
    lons = [lon for lon, _ in ring]
    d = ring_path(ring)
    # The part beyond the map's edge shows again on the other side (the SVG clips the rest).
    if max(lons) > 180:
        d += ring_path([(lon - 360, lat) for lon, lat in ring])
    if min(lons) < -180:
        d += ring_path([(lon + 360, lat) for lon, lat in ring])
    return d


def ring_path(points):
    start, last, steps = None, None, []
    for lon, lat in points:
        p = project(lon, lat)
        if p == last:
            continue
        if last is None:
            start = p
        else:
            steps += [p[0] - last[0], p[1] - last[1]]
        last = p
    # A ring that collapses to fewer than three points is invisible at this scale.
    if len(steps) < 4:
        return ""
    return "M" + numbers(start) + "l" + numbers(steps) + "z"


def main(path):
    topo = json.load(open(path))
    arcs = decode_arcs(topo)
    shapes = {}
    names = {}
    for g in topo["objects"]["countries"]["geometries"]:
        name = g["properties"]["name"]
        code = NUMERIC[g["id"]] if g.get("id") else NAMELESS[name]
        if code in LEFT_OUT:
            continue
        polygons = g["arcs"] if g["type"] == "MultiPolygon" else [g["arcs"]]
        d = "".join(rings_path(ring_points(r, arcs)) for poly in polygons for r in poly)
        shapes[code] = shapes.get(code, "") + d
        if g.get("id") or code not in names:
            names[code] = name
    width, height = 360 * SCALE, (NORTH - SOUTH) * SCALE
    print("# viewBox\t0 0 %d %d" % (width, height))
    for code in sorted(shapes):
        print("%s\t%s\t%s" % (code, names[code], shapes[code]))


if __name__ == "__main__":
    main(sys.argv[1])
