//! Queries on `notification_templates`, and the stored form of a template's contents:
//! a JSON array with one subject/body per language. [`pick_content`] is how the sender
//! chooses the language to use.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::schema::notification_templates;
use crate::db::{DbConnection, MultiBackend};
use crate::error::{AppError, AppResult};
use crate::listing::{Direction, ListParams};

/// The template types there are; the runner's call CSV mails are the only one so far.
pub const TEMPLATE_TYPES: &[&str] = &["callCsv", "alert"];

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = notification_templates, treat_none_as_null = true)]
pub struct NotificationTemplate {
    pub id: String,
    /// `None`: the global default, used by brands that have no template of their own.
    pub brand_id: Option<String>,
    pub name: String,
    pub template_type: String,
    /// JSON text of a `Vec<TemplateContent>`; read it with [`NotificationTemplate::contents`].
    pub contents: String,
    pub created_at: chrono::NaiveDateTime,
    pub updated_at: chrono::NaiveDateTime,
}

/// One language of a template. Subject and body may hold `${CALLCSV_…}` variables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateContent {
    pub language: String,
    pub from_name: Option<String>,
    /// `None`: the brand's address, else the configured default sender.
    pub from_address: Option<String>,
    pub subject: String,
    pub body: String,
}

impl NotificationTemplate {
    /// The stored contents. They were validated on the way in, so a failure here means the
    /// row was altered behind the API's back.
    pub fn contents(&self) -> AppResult<Vec<TemplateContent>> {
        serde_json::from_str(&self.contents).map_err(|e| {
            AppError::internal(format!("notification template {}: contents: {e}", self.id))
        })
    }
}

/// The content to send to a reader of `language` (`es`, `pt-BR`…): that exact language,
/// else its base language (`pt` for `pt-BR`), else English, else the first one there is.
/// `None` only when `contents` is empty.
pub fn pick_content<'a>(
    contents: &'a [TemplateContent],
    language: &str,
) -> Option<&'a TemplateContent> {
    let find = |lang: &str| {
        contents
            .iter()
            .find(|c| c.language.eq_ignore_ascii_case(lang))
    };
    let base = language.split('-').next().unwrap_or(language);
    find(language)
        .or_else(|| find(base))
        .or_else(|| find("en"))
        .or_else(|| contents.first())
}

pub fn find(conn: &mut DbConnection, id: &str) -> AppResult<Option<NotificationTemplate>> {
    Ok(notification_templates::table
        .find(id)
        .select(NotificationTemplate::as_select())
        .first(conn)
        .optional()?)
}

/// What a list may be restricted to; the handler puts the caller's tenant in here.
#[derive(Debug, Default)]
pub struct Filter {
    /// Only this brand's templates.
    pub brand: Option<String>,
    /// Only this brand's templates and the global ones (what a brand operator sees).
    pub brand_or_global: Option<String>,
    pub template_type: Option<String>,
    pub name: Option<String>,
    /// Set when the request can match nothing (e.g. it names another tenant's brand).
    pub nothing: bool,
}

fn filtered(f: &Filter) -> notification_templates::BoxedQuery<'_, MultiBackend> {
    use notification_templates::dsl as t;
    let mut query = notification_templates::table.into_boxed();
    if f.nothing {
        // No row has an empty id.
        query = query.filter(t::id.eq(""));
    }
    if let Some(b) = &f.brand {
        query = query.filter(t::brand_id.eq(b));
    }
    if let Some(b) = &f.brand_or_global {
        query = query.filter(t::brand_id.eq(b).or(t::brand_id.is_null()));
    }
    if let Some(ty) = &f.template_type {
        query = query.filter(t::template_type.eq(ty));
    }
    if let Some(n) = &f.name {
        query = query.filter(t::name.eq(n));
    }
    query
}

pub fn list(
    conn: &mut DbConnection,
    f: &Filter,
    params: &ListParams,
) -> AppResult<(i64, Vec<NotificationTemplate>)> {
    use notification_templates::dsl as t;
    let total = filtered(f).count().get_result(conn)?;
    let mut query = filtered(f);
    for (field, direction) in &params.order {
        query = match (field.as_str(), direction) {
            ("name", Direction::Asc) => query.then_order_by(t::name.asc()),
            ("name", Direction::Desc) => query.then_order_by(t::name.desc()),
            ("createdAt", Direction::Asc) => query.then_order_by(t::created_at.asc()),
            ("createdAt", Direction::Desc) => query.then_order_by(t::created_at.desc()),
            _ => query,
        };
    }
    let rows = query
        .then_order_by(t::id.asc())
        .limit(params.per_page)
        .offset(params.offset())
        .select(NotificationTemplate::as_select())
        .load(conn)?;
    Ok((total, rows))
}

pub fn insert(conn: &mut DbConnection, template: &NotificationTemplate) -> AppResult<()> {
    diesel::insert_into(notification_templates::table)
        .values(template)
        .execute(conn)?;
    Ok(())
}

pub fn update(conn: &mut DbConnection, template: &NotificationTemplate) -> AppResult<()> {
    diesel::update(notification_templates::table.find(&template.id))
        .set(template)
        .execute(conn)?;
    Ok(())
}

pub fn delete(conn: &mut DbConnection, id: &str) -> AppResult<usize> {
    Ok(diesel::delete(notification_templates::table.find(id)).execute(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(language: &str) -> TemplateContent {
        TemplateContent {
            language: language.into(),
            from_name: None,
            from_address: None,
            subject: format!("subject {language}"),
            body: String::new(),
        }
    }

    fn picked(languages: &[&str], wanted: &str) -> Option<String> {
        let contents: Vec<TemplateContent> = languages.iter().map(|l| content(l)).collect();
        pick_content(&contents, wanted).map(|c| c.language.clone())
    }

    #[test]
    fn exact_language_wins() {
        assert_eq!(
            picked(&["en", "pt", "pt-BR"], "pt-BR").as_deref(),
            Some("pt-BR")
        );
        assert_eq!(picked(&["en", "es"], "es").as_deref(), Some("es"));
        assert_eq!(picked(&["en", "pt-br"], "pt-BR").as_deref(), Some("pt-br"));
    }

    #[test]
    fn regional_falls_back_to_base_language() {
        assert_eq!(picked(&["en", "pt"], "pt-BR").as_deref(), Some("pt"));
        // A sibling region is not the base language: English comes first.
        assert_eq!(picked(&["en", "pt-PT"], "pt-BR").as_deref(), Some("en"));
    }

    #[test]
    fn then_english_then_first() {
        assert_eq!(picked(&["es", "en"], "fr").as_deref(), Some("en"));
        assert_eq!(picked(&["es", "ca"], "fr").as_deref(), Some("es"));
        assert_eq!(picked(&["es"], "").as_deref(), Some("es"));
        assert_eq!(picked(&[], "en"), None);
    }

    #[test]
    fn contents_round_trip_as_camel_case_json() {
        let text =
            r#"[{"language":"en","fromName":"Ops","fromAddress":null,"subject":"S","body":"B"}]"#;
        let parsed: Vec<TemplateContent> = serde_json::from_str(text).unwrap();
        assert_eq!(parsed[0].from_name.as_deref(), Some("Ops"));
        assert_eq!(serde_json::to_string(&parsed).unwrap(), text);
    }
}
