//! The console's static files, embedded in the binary: the vendored libraries
//! (`static/vendor/VENDORED.md` lists them with versions, sha256 and licences) and the
//! console's own stylesheet and script. Served with a long cache lifetime: a file's name
//! carries the build's version (`?v=`), so a new build is fetched anew.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use crate::error::AppError;
use crate::ui::UiError;

/// name → (content type, bytes)
const FILES: &[(&str, &str, &[u8])] = &[
    (
        "htmx.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("static/vendor/htmx.min.js"),
    ),
    (
        "uPlot.iife.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("static/vendor/uPlot.iife.min.js"),
    ),
    (
        "uPlot.min.css",
        "text/css; charset=utf-8",
        include_bytes!("static/vendor/uPlot.min.css"),
    ),
    (
        "console.css",
        "text/css; charset=utf-8",
        include_bytes!("static/console.css"),
    ),
    (
        "console.js",
        "text/javascript; charset=utf-8",
        include_bytes!("static/console.js"),
    ),
    (
        "charts.js",
        "text/javascript; charset=utf-8",
        include_bytes!("static/charts.js"),
    ),
    (
        "charts.css",
        "text/css; charset=utf-8",
        include_bytes!("static/charts.css"),
    ),
];

/// Every embedded file's name and size (the budget test reads it).
pub fn sizes() -> impl Iterator<Item = (&'static str, usize)> {
    FILES.iter().map(|(name, _, bytes)| (*name, bytes.len()))
}

pub async fn serve(name: web::Path<String>) -> Result<HttpResponse, UiError> {
    let (_, content_type, bytes) = FILES
        .iter()
        .find(|(n, _, _)| *n == name.as_str())
        .ok_or_else(AppError::not_found)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, *content_type))
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(*bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    /// VENDORED.md lists each vendored file with the sha256 of what is embedded.
    #[test]
    fn the_vendored_list_matches_the_embedded_files() {
        let listed = include_str!("static/vendor/VENDORED.md");
        let mut vendored = 0;
        for (name, _, bytes) in FILES {
            let row = listed
                .lines()
                .find(|l| l.starts_with(&format!("| {name} |")));
            if let Some(row) = row {
                vendored += 1;
                let sha = hex::encode(Sha256::digest(bytes));
                assert!(row.contains(&sha), "{name}: {sha} not in {row}");
            }
        }
        assert_eq!(vendored, 3, "htmx, uPlot js and css");
    }

    #[test]
    fn javascript_and_css_stay_under_300_kb() {
        let total: usize = sizes().map(|(_, n)| n).sum();
        assert!(total < 300 * 1024, "{total} bytes");
    }
}
