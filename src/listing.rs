//! What a list asks for, whichever front door it came through: the page, the order and
//! the filters (by name, values as given). The JSON API fills it from the query string
//! (`ListParams::parse`), the console from its filter forms (`ListParams::from_pairs`); the
//! operations and the queries read it here.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;

use crate::error::{AppError, AppResult};
use crate::ids::Id;

pub const MAX_ITEMS_PER_PAGE: i64 = 1000;
pub const DEFAULT_ITEMS_PER_PAGE: i64 = 50;
/// The largest `page` (openapi.yaml's `Page` maximum): the offset must fit an i64.
pub const MAX_PAGE: i64 = i64::MAX / MAX_ITEMS_PER_PAGE;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Asc,
    Desc,
}

/// A page of a collection, its order and its filters. Filter values are checked when read
/// (a malformed one is a 400 `invalid_query`, the same from every front door).
#[derive(Debug, Clone)]
pub struct ListParams {
    pub page: i64,
    pub per_page: i64,
    pub filters: BTreeMap<String, String>,
    pub order: Vec<(String, Direction)>,
}

impl Default for ListParams {
    fn default() -> ListParams {
        ListParams {
            page: 1,
            per_page: DEFAULT_ITEMS_PER_PAGE,
            filters: BTreeMap::new(),
            order: vec![],
        }
    }
}

impl ListParams {
    pub fn offset(&self) -> i64 {
        (self.page - 1) * self.per_page
    }

    pub fn filter(&self, name: &str) -> Option<&str> {
        self.filters.get(name).map(String::as_str)
    }

    /// A filter holding an id; malformed → 400.
    pub fn filter_id(&self, name: &str) -> AppResult<Option<String>> {
        Ok(self
            .filter_ref::<crate::ids::AnyId>(name)?
            .map(String::from))
    }

    /// A filter holding an id of a known kind; malformed → 400.
    pub fn filter_ref<I: Id>(&self, name: &str) -> AppResult<Option<I>> {
        self.filter(name)
            .map(|raw| I::parse_filter(name, raw))
            .transpose()
    }

    /// A filter holding an RFC 3339 time; malformed → 400.
    pub fn filter_time(&self, name: &str) -> AppResult<Option<NaiveDateTime>> {
        match self.filter(name) {
            None => Ok(None),
            Some(raw) => crate::fields::parse_time(raw).map(Some).ok_or_else(|| {
                AppError::invalid_query(format!(
                    "{name}: {raw:?} is not an RFC 3339 time with an offset \
                     (years 1970 to 9999, no leap second)"
                ))
            }),
        }
    }

    pub fn filter_bool(&self, name: &str) -> AppResult<Option<bool>> {
        match self.filter(name) {
            None => Ok(None),
            Some("true") | Some("1") => Ok(Some(true)),
            Some("false") | Some("0") => Ok(Some(false)),
            Some(raw) => Err(AppError::invalid_query(format!(
                "{name}: {raw:?} is not true or false"
            ))),
        }
    }

    /// A filter restricted to a set of values; anything else → 400.
    pub fn filter_choice(&self, name: &str, choices: &[&str]) -> AppResult<Option<String>> {
        match self.filter(name) {
            None => Ok(None),
            Some(raw) if choices.contains(&raw) => Ok(Some(raw.to_string())),
            Some(raw) => Err(AppError::invalid_query(format!(
                "{name}: {raw:?} is not one of {}",
                choices.join(", ")
            ))),
        }
    }
}

/// The query string of a collection request: `?page=&itemsPerPage=&_order[field]=&<filters>`.
/// Unknown parameters are a 400, so a typo never silently returns everything.
impl ListParams {
    pub fn parse(
        req: &actix_web::HttpRequest,
        allowed_filters: &[&str],
        allowed_order: &[&str],
    ) -> AppResult<ListParams> {
        let pairs = url::form_urlencoded::parse(req.query_string().as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()));
        ListParams::from_pairs(pairs, allowed_filters, allowed_order)
    }

    /// The same from already decoded pairs (the console's filter forms, blanks left out).
    pub fn from_pairs(
        pairs: impl IntoIterator<Item = (String, String)>,
        allowed_filters: &[&str],
        allowed_order: &[&str],
    ) -> AppResult<ListParams> {
        let mut params = ListParams::default();
        let mut seen = std::collections::HashSet::new();
        for (key, value) in pairs {
            if !seen.insert(key.clone()) {
                return Err(AppError::invalid_query(format!(
                    "{key}: given more than once"
                )));
            }
            match key.as_str() {
                "page" => params.page = positive(&key, &value, MAX_PAGE)?,
                "itemsPerPage" => params.per_page = positive(&key, &value, MAX_ITEMS_PER_PAGE)?,
                _ if key.starts_with("_order[") && key.ends_with(']') => {
                    let field = &key["_order[".len()..key.len() - 1];
                    if !allowed_order.contains(&field) {
                        return Err(AppError::invalid_query(format!(
                            "{key}: cannot order by {field:?} (possible: {})",
                            allowed_order.join(", ")
                        )));
                    }
                    let direction = match value.as_str() {
                        "asc" | "ASC" => Direction::Asc,
                        "desc" | "DESC" => Direction::Desc,
                        _ => {
                            return Err(AppError::invalid_query(format!(
                                "{key}: expected asc or desc"
                            )))
                        }
                    };
                    params.order.push((field.to_string(), direction));
                }
                _ if allowed_filters.contains(&key.as_str()) => {
                    params.filters.insert(key, value);
                }
                _ => {
                    let mut known: Vec<&str> = vec!["page", "itemsPerPage"];
                    known.extend(allowed_filters);
                    return Err(AppError::invalid_query(format!(
                        "unknown query parameter {key:?} (possible: {}, _order[field])",
                        known.join(", ")
                    )));
                }
            }
        }
        Ok(params)
    }
}

fn positive(key: &str, value: &str, max: i64) -> AppResult<i64> {
    // Plain digits only: `parse` alone would also take a leading `+`.
    let digits = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
    match value.parse::<i64>() {
        Ok(n) if digits && n >= 1 && n <= max => Ok(n),
        _ => Err(AppError::invalid_query(format!(
            "{key}: {value:?} must be a whole number from 1 to {max}"
        ))),
    }
}

/// The URL of another page of the same list: the request's path and query with `page`
/// replaced (the API's `Link` header and the console's page links).
pub fn page_link(req: &actix_web::HttpRequest, page: i64) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
        if key != "page" {
            query.append_pair(&key, &value);
        }
    }
    query.append_pair("page", &page.to_string());
    format!("{}?{}", req.path(), query.finish())
}
