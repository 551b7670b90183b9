//! The world map of the dashboard and the countries statistics: an SVG drawn on the server
//! from Natural Earth 110 m country shapes (world-atlas, converted once by
//! `static/vendor/world_map.py` into `world-110m.tsv`: alpha-2, name, path data), each
//! country shaded by its share of the largest country's billed seconds.

use std::collections::HashMap;
use std::sync::LazyLock;

const SHAPES: &str = include_str!("static/vendor/world-110m.tsv");

struct Shape {
    code: &'static str,
    name: &'static str,
    d: &'static str,
}

struct Atlas {
    view_box: &'static str,
    shapes: Vec<Shape>,
}

static ATLAS: LazyLock<Atlas> = LazyLock::new(|| {
    let mut view_box = "0 0 1080 423";
    let mut shapes = Vec::new();
    for line in SHAPES.lines() {
        if let Some(v) = line.strip_prefix("# viewBox\t") {
            view_box = v;
            continue;
        }
        let mut cells = line.splitn(3, '\t');
        if let (Some(code), Some(name), Some(d)) = (cells.next(), cells.next(), cells.next()) {
            shapes.push(Shape { code, name, d });
        }
    }
    Atlas { view_box, shapes }
});

/// A country's English name as the map has it (`ES` → Spain); None for codes it lacks
/// (small islands are not in the 110 m shapes).
pub fn country_name(code: &str) -> Option<&'static str> {
    ATLAS.shapes.iter().find(|s| s.code == code).map(|s| s.name)
}

/// One country of the drawn map.
pub struct Country {
    pub d: &'static str,
    /// `shade-0` (no calls) to `shade-5` (the most minutes), styled in console.css.
    pub class: &'static str,
    /// The tooltip: name and minutes.
    pub title: String,
}

pub struct WorldMap {
    pub view_box: &'static str,
    pub countries: Vec<Country>,
    /// The largest country's minutes, for the legend.
    pub max_minutes: String,
}

const SHADES: [&str; 6] = [
    "shade-0", "shade-1", "shade-2", "shade-3", "shade-4", "shade-5",
];

/// The shade of `seconds` against the largest country's: none for no minutes, then five
/// steps on a square-root scale (so small destinations still show).
fn shade(seconds: i64, max: i64) -> &'static str {
    if seconds <= 0 || max <= 0 {
        return SHADES[0];
    }
    let step = ((seconds as f64 / max as f64).sqrt() * 5.0).ceil() as usize;
    SHADES[step.clamp(1, 5)]
}

/// The map with each country shaded by its billed seconds (`minutes` keyed by alpha-2:
/// (billed seconds, minutes as shown)).
pub fn shaded(minutes: &HashMap<String, (i64, String)>) -> WorldMap {
    let max = minutes.values().map(|(s, _)| *s).max().unwrap_or(0);
    let max_minutes = minutes
        .values()
        .find(|(s, _)| *s == max)
        .map(|(_, m)| m.clone())
        .unwrap_or_else(|| "0.0".into());
    let countries = ATLAS
        .shapes
        .iter()
        .map(|s| {
            let (seconds, shown) = minutes
                .get(s.code)
                .cloned()
                .unwrap_or((0, "0.0".to_string()));
            Country {
                d: s.d,
                class: shade(seconds, max),
                title: format!("{} ({}): {} min", s.name, s.code, shown),
            }
        })
        .collect();
    WorldMap {
        view_box: ATLAS.view_box,
        countries,
        max_minutes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    #[test]
    fn the_map_has_the_countries_by_alpha_2_and_is_listed_with_its_sha256() {
        assert!(ATLAS.shapes.len() > 170, "{}", ATLAS.shapes.len());
        assert_eq!(country_name("ES"), Some("Spain"));
        assert_eq!(country_name("GB"), Some("United Kingdom"));
        assert_eq!(country_name("XK"), Some("Kosovo"));
        assert_eq!(country_name("AQ"), None, "Antarctica is left out");
        assert!(ATLAS.shapes.iter().all(|s| s.d.starts_with('M')));
        let listed = include_str!("static/vendor/VENDORED.md");
        let sha = hex::encode(Sha256::digest(SHAPES.as_bytes()));
        assert!(
            listed.contains("| world-110m.tsv |") && listed.contains(&sha),
            "world-110m.tsv {sha} in VENDORED.md"
        );
    }

    #[test]
    fn countries_are_shaded_by_their_share_of_the_largest() {
        assert_eq!(shade(0, 100), "shade-0");
        assert_eq!(shade(100, 100), "shade-5");
        assert_eq!(shade(1, 100), "shade-1");
        assert_eq!(shade(25, 100), "shade-3");
        let minutes = HashMap::from([
            ("ES".to_string(), (600, "10.0".to_string())),
            ("FR".to_string(), (6, "0.1".to_string())),
        ]);
        let map = shaded(&minutes);
        let spain = map
            .countries
            .iter()
            .find(|c| c.title.starts_with("Spain"))
            .unwrap();
        assert_eq!(spain.class, "shade-5");
        assert_eq!(spain.title, "Spain (ES): 10.0 min");
        assert_eq!(map.max_minutes, "10.0");
        let brazil = map
            .countries
            .iter()
            .find(|c| c.title.starts_with("Brazil"))
            .unwrap();
        assert_eq!(brazil.class, "shade-0");
    }
}
