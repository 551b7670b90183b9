//! The checks and conversions of field values every domain shares (times, names, mail
//! addresses, time zones, languages, currencies), usable by any front door and by the
//! domain modules without reaching into the HTTP layer.

use chrono::{DateTime, NaiveDateTime, SecondsFormat};

use crate::error::Validator;

/// Output form of a stored timestamp: RFC 3339 in UTC with `Z`.
pub fn ts(t: NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Parses an RFC 3339 time with a required offset into a stored (UTC) timestamp. Every
/// time the service accepts (call times, filters, `nextExecution`, activation times) comes
/// through here, so the same rules hold everywhere: no leap second (`23:59:60`, which the
/// database and the rating arithmetic cannot hold), and an instant from 1970 to 9999 in UTC
/// (year 0000 and earlier give dates no RFC 3339 writer can print back).
pub fn parse_time(raw: &str) -> Option<NaiveDateTime> {
    use chrono::{Datelike, Timelike};
    let t = DateTime::parse_from_rfc3339(raw.trim()).ok()?.naive_utc();
    let leap_second = t.nanosecond() >= 1_000_000_000;
    (!leap_second && (1970..=9999).contains(&t.year())).then_some(t)
}

pub fn valid_timezone(tz: &str) -> bool {
    tz.parse::<chrono_tz::Tz>().is_ok()
}

/// `en`, `es`, `pt-BR`: a BCP 47 language tag whose subtags are in the IANA registry
/// (`language_tags`), of the shape openapi.yaml documents: an ISO 639-1 code in lowercase
/// with an optional region in capitals (what mail templates are chosen by).
pub fn valid_language(lang: &str) -> bool {
    let shape = |t: &language_tags::LanguageTag| {
        let (base, region) = (t.primary_language(), t.region());
        t.as_str().len() == base.len() + region.map_or(0, |r| r.len() + 1)
            && base.len() == 2
            && base.bytes().all(|c| c.is_ascii_lowercase())
            && region.is_none_or(|r| r.len() == 2 && r.bytes().all(|c| c.is_ascii_uppercase()))
    };
    // `parse` normalises the case (`pt-br` → `pt-BR`): the documented case is required.
    language_tags::LanguageTag::parse(lang)
        .is_ok_and(|t| t.as_str() == lang && t.is_valid() && shape(&t))
}

/// A code of the ISO 4217 list (`EUR`, `USD`…), in capitals.
pub fn valid_currency(code: &str) -> bool {
    iso_currency::Currency::from_code(code).is_some()
}

/// A plain mail address (`local@domain.tld`); display names are not accepted here. The
/// syntax is lettre's (the mailer's own parser); on top, what a deliverable address needs:
/// ASCII, a dotted host name for a domain, a local part of at most 64 octets.
pub fn valid_email(addr: &str) -> bool {
    let Ok(parsed) = addr.parse::<lettre::Address>() else {
        return false;
    };
    let (user, domain) = (parsed.user(), parsed.domain());
    addr.is_ascii()
        && !addr.contains(['"', '\\'])
        && user.len() <= 64
        && domain.len() <= 253
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
}

/// A name: 1 to `max` characters, no control characters, not only spaces.
pub fn check_name(v: &mut Validator, field: &str, name: &str, max: usize) {
    let len = name.chars().count();
    v.check(!name.trim().is_empty(), field, "must not be empty");
    v.check(len <= max, field, format!("at most {max} characters"));
    v.check(
        !name.chars().any(char::is_control),
        field,
        "must not contain control characters",
    );
}

/// The optional `code` records carry (account code, trunk or gateway name, extension or
/// user id): 1 to 100 characters without control characters, stored trimmed; absent stays
/// absent.
pub fn check_code(v: &mut Validator, code: Option<String>) -> Option<String> {
    let code = code?;
    check_name(v, "code", &code, 100);
    Some(code.trim().to_string())
}

/// The id in a reference field (`"client": "<uuid>"`), canonical; `None` when absent, or
/// after recording on `v` that it is not a UUID.
pub fn reference(v: &mut Validator, field: &str, raw: Option<&str>) -> Option<String> {
    let parsed = crate::ids::canonical(raw?);
    v.check(parsed.is_some(), field, "not a UUID");
    parsed
}

pub const MAX_DESCRIPTION_CHARS: usize = 1000;

/// A free-text description: may be empty, bounded, no control characters but newlines.
pub fn check_description(v: &mut Validator, description: &str) {
    v.check(
        description.chars().count() <= MAX_DESCRIPTION_CHARS,
        "description",
        format!("at most {MAX_DESCRIPTION_CHARS} characters"),
    );
    v.check(
        !description
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t'),
        "description",
        "must not contain control characters",
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_checks() {
        assert!(valid_timezone("Europe/Madrid") && !valid_timezone("Mars/Base"));
        assert!(valid_language("en") && valid_language("pt-BR") && !valid_language("english"));
        // Registered subtags only; and only the documented shape of them.
        for bad in [
            "xx",
            "en-UK",
            "pt-br",
            "PT-BR",
            "spa",
            "zh-Hant",
            "en-US-x-a",
            "e",
        ] {
            assert!(!valid_language(bad), "{bad}");
        }
        assert!(!valid_language("es-419") && valid_language("zh-TW"));
        assert!(valid_currency("EUR") && !valid_currency("eur"));
        assert!(valid_currency("USD") && !valid_currency("XYZ") && !valid_currency("EURO"));
        assert!(
            valid_email("ops@example.com")
                && !valid_email("ops@localhost")
                && !valid_email("a b@x.com")
        );
        for bad in [
            "a..b@example.com",
            ".a@example.com",
            "\"a b\"@example.com",
            "a@[10.0.0.1]",
        ] {
            assert!(!valid_email(bad), "{bad}");
        }
    }
}
