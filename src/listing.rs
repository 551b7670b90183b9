//! What a list asks for, whichever front door it came through: the page, the order and
//! the filters (by name, values as given). The JSON API fills it from the query string
//! (`api::ListParams::parse`); the operations and the queries read it here.

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
