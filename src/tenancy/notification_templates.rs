//! Notification templates: the subject and body of the mails the runner sends, one per
//! language. A template with no brand is the global default: platform administrators
//! manage those; brand operators manage their brand's and read the global ones.

use std::collections::HashSet;

use serde::Deserialize;
use serde_json::Value;

use crate::auth::{Caller, Role};
use crate::db::notification_templates::{
    self as templates, NotificationTemplate, TemplateContent, TEMPLATE_TYPES,
};
use crate::db::{self, DbConnection};
use crate::error::{AppError, AppResult, Validator};
use crate::fields::{check_name, valid_email, valid_language};
use crate::ids::{BrandId, Id, NotificationTemplateId};
use crate::listing::ListParams;
use crate::ops::Resource;

/// Bounds that keep one template a reasonable mail (and a reasonable row).
const MAX_LANGUAGES: usize = 50;
const MAX_SUBJECT: usize = 200;
const MAX_BODY: usize = 100_000;
const MAX_FROM_NAME: usize = 100;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TemplateInput {
    pub brand: Option<String>,
    // Required, but optional here so a missing one is reported in `fields` with the rest.
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub template_type: Option<String>,
    /// Checked item by item (see [`parse_contents`]) so each problem names its place.
    pub contents: Option<Value>,
}

/// One element of `contents` as sent.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ContentInput {
    language: Option<String>,
    from_name: Option<String>,
    from_address: Option<String>,
    subject: Option<String>,
    body: Option<String>,
}

/// Checks `contents` into a list, recording each problem under `contents[i].field`.
fn parse_contents(v: &mut Validator, raw: Option<Value>) -> Vec<TemplateContent> {
    let items = match raw {
        None | Some(Value::Null) => {
            v.error("contents", "required");
            return vec![];
        }
        Some(Value::Array(items)) => items,
        Some(_) => {
            v.error(
                "contents",
                "an array of {language, fromName, fromAddress, subject, body}",
            );
            return vec![];
        }
    };
    v.check(!items.is_empty(), "contents", "at least one language");
    v.check(
        items.len() <= MAX_LANGUAGES,
        "contents",
        format!("at most {MAX_LANGUAGES} languages"),
    );
    let mut languages = HashSet::new();
    let mut contents = vec![];
    for (i, item) in items.into_iter().enumerate() {
        let at = |field: &str| format!("contents[{i}].{field}");
        let item: ContentInput = match serde_json::from_value(item) {
            Ok(item) => item,
            Err(e) => {
                v.error(&format!("contents[{i}]"), e.to_string());
                continue;
            }
        };
        let language = item.language.unwrap_or_default();
        if !valid_language(&language) {
            v.error(&at("language"), "a language code (e.g. en, es, pt-BR)");
        } else if !languages.insert(language.to_ascii_lowercase()) {
            v.error(&at("language"), "given twice in contents");
        }
        // Name, address and subject become mail headers: a line break there would let a
        // template write headers of its own.
        let from_name = item.from_name.map(|n| n.trim().to_string());
        if let Some(name) = &from_name {
            v.check(
                name.chars().count() <= MAX_FROM_NAME,
                &at("fromName"),
                format!("at most {MAX_FROM_NAME} characters"),
            );
            v.check(
                !name.chars().any(char::is_control),
                &at("fromName"),
                "must not contain control characters",
            );
        }
        let from_address = item
            .from_address
            .map(|a| a.trim().to_string())
            .filter(|a| !a.is_empty());
        if let Some(address) = &from_address {
            v.check(
                valid_email(address),
                &at("fromAddress"),
                "not a valid address",
            );
        }
        let subject = item.subject.unwrap_or_default();
        check_name(v, &at("subject"), &subject, MAX_SUBJECT);
        let body = item.body.unwrap_or_default();
        v.check(
            body.chars().count() <= MAX_BODY,
            &at("body"),
            format!("at most {MAX_BODY} characters"),
        );
        contents.push(TemplateContent {
            language,
            from_name: from_name.filter(|n| !n.is_empty()),
            from_address,
            subject: subject.trim().to_string(),
            body,
        });
    }
    contents
}

impl TemplateInput {
    /// Validates and builds the row for `brand_id` (`None`: global).
    fn into_row(
        self,
        conn: &mut DbConnection,
        brand_id: Option<String>,
        id: String,
        created_at: chrono::NaiveDateTime,
    ) -> AppResult<NotificationTemplate> {
        if let Some(brand) = &brand_id {
            if !db::brands::exists(conn, &BrandId::from_db(brand.clone()))? {
                return Err(AppError::invalid_field("brand", "not found"));
            }
        }
        let mut v = Validator::new();
        let name = self.name.unwrap_or_default();
        check_name(&mut v, "name", &name, 100);
        let template_type = self.template_type.unwrap_or_default();
        v.check(
            TEMPLATE_TYPES.contains(&template_type.as_str()),
            "type",
            format!("one of {}", TEMPLATE_TYPES.join(", ")),
        );
        let contents = parse_contents(&mut v, self.contents);
        v.finish()?;
        Ok(NotificationTemplate {
            id,
            brand_id,
            name: name.trim().to_string(),
            template_type,
            contents: serde_json::to_string(&contents).map_err(AppError::internal)?,
            created_at,
            updated_at: db::now(),
        })
    }
}

/// The brand a template is written for: a platform administrator's choice (none = global),
/// a brand operator's own brand.
fn write_brand(caller: &Caller, requested: Option<&str>) -> AppResult<Option<String>> {
    match (caller.role, requested) {
        (Role::Platform, None) => Ok(None),
        (Role::Platform, Some(b)) => BrandId::parse_ref("brand", b).map(|b| Some(b.into())),
        _ => caller.write_brand(requested).map(Some),
    }
}

/// Client administrators have nothing to do with templates.
fn require_operator(caller: &Caller) -> AppResult<()> {
    caller.require(&[Role::Platform, Role::Brand])
}

pub struct NotificationTemplates;

impl Resource for NotificationTemplates {
    type Id = NotificationTemplateId;
    type Object = NotificationTemplate;
    type Input = TemplateInput;

    const FILTERS: &'static [&'static str] = &["brand", "type", "name"];
    const ORDER: &'static [&'static str] = &["name", "createdAt"];

    fn id_of(template: &NotificationTemplate) -> &str {
        &template.id
    }

    /// A template the caller may read: its brand's or a global one.
    fn find(
        conn: &mut DbConnection,
        caller: &Caller,
        id: &NotificationTemplateId,
    ) -> AppResult<NotificationTemplate> {
        if caller.role == Role::Client {
            return Err(AppError::not_found());
        }
        templates::find(conn, id.as_str())?
            .filter(|t| t.brand_id.as_deref().is_none_or(|b| caller.sees_brand(b)))
            .ok_or_else(AppError::not_found)
    }

    fn may_list(caller: &Caller) -> AppResult<()> {
        require_operator(caller)
    }

    fn list(
        conn: &mut DbConnection,
        caller: &Caller,
        params: &ListParams,
    ) -> AppResult<(i64, Vec<NotificationTemplate>)> {
        Self::may_list(caller)?;
        let mut filter = templates::Filter {
            brand: params.filter_id("brand")?,
            template_type: params.filter_choice("type", TEMPLATE_TYPES)?,
            name: params.filter("name").map(str::to_string),
            ..Default::default()
        };
        if let Some(own) = caller.brand_scope() {
            match &filter.brand {
                // Another brand matches nothing, whether it exists or not.
                Some(b) if *b != own => filter.nothing = true,
                Some(_) => {}
                None => filter.brand_or_global = Some(own),
            }
        }
        templates::list(conn, &filter, params)
    }

    fn may_create(caller: &Caller) -> AppResult<()> {
        require_operator(caller)
    }

    fn create(
        conn: &mut DbConnection,
        caller: &Caller,
        input: TemplateInput,
    ) -> AppResult<NotificationTemplate> {
        Self::may_create(caller)?;
        let brand = write_brand(caller, input.brand.as_deref())?;
        let row = input.into_row(conn, brand, db::new_id(), db::now())?;
        templates::insert(conn, &row)?;
        Ok(row)
    }

    /// Global templates are read-only to brand operators.
    fn may_change(caller: &Caller, current: &NotificationTemplate) -> AppResult<()> {
        require_operator(caller)?;
        if current.brand_id.is_none() && !caller.is_platform() {
            return Err(AppError::forbidden(
                "global templates are managed by platform administrators",
            ));
        }
        Ok(())
    }

    fn save(
        conn: &mut DbConnection,
        caller: &Caller,
        current: NotificationTemplate,
        input: TemplateInput,
    ) -> AppResult<NotificationTemplate> {
        let brand = write_brand(caller, input.brand.as_deref())?;
        if brand != current.brand_id {
            return Err(AppError::invalid_field(
                "brand",
                "a template cannot move to another brand (or between brand and global)",
            ));
        }
        let row = input.into_row(conn, brand, current.id, current.created_at)?;
        templates::update(conn, &row)?;
        Ok(row)
    }

    fn remove(
        conn: &mut DbConnection,
        _caller: &Caller,
        current: NotificationTemplate,
        _force: bool,
    ) -> AppResult<()> {
        templates::delete(conn, &current.id)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{brand, database, operator_of, platform};

    fn input(brand: Option<&BrandId>, name: &str) -> TemplateInput {
        TemplateInput {
            brand: brand.map(|b| b.to_string()),
            name: Some(name.into()),
            template_type: Some(TEMPLATE_TYPES[0].into()),
            contents: Some(serde_json::json!([
                {"language": "en", "subject": "Your calls", "body": "Attached."}
            ])),
        }
    }

    #[test]
    fn global_templates_are_read_only_to_brand_operators() {
        let (_dir, mut conn) = database();
        let conn = &mut conn;
        let a = brand(conn, "A");
        let operator = operator_of(&a);
        let global =
            NotificationTemplates::create(conn, &platform(), input(None, "Global")).unwrap();
        assert_eq!(global.brand_id, None);
        let id = NotificationTemplateId::from_db(global.id.clone());

        // The operator reads the global template but may not change or delete it.
        assert_eq!(
            NotificationTemplates::find(conn, &operator, &id)
                .unwrap()
                .name,
            "Global"
        );
        let changed = NotificationTemplates::replace(conn, &operator, &id, input(None, "Mine"));
        assert_eq!(changed.unwrap_err().code, "forbidden");
        let deleted = NotificationTemplates::delete(conn, &operator, &id, false);
        assert_eq!(deleted.unwrap_err().code, "forbidden");

        // Its own templates go to its brand, and cannot be turned global.
        let own = NotificationTemplates::create(conn, &operator, input(None, "Own")).unwrap();
        assert_eq!(own.brand_id.as_deref(), Some(a.as_str()));
        let own_id = NotificationTemplateId::from_db(own.id);
        let moved = NotificationTemplates::replace(conn, &platform(), &own_id, input(None, "Own"));
        assert!(moved.unwrap_err().fields.contains_key("brand"));
        NotificationTemplates::delete(conn, &operator, &own_id, false).unwrap();
    }
}
