//! A source's numbering plan: how the numbers its records carry become E.164. The
//! operator's rewrite rules run first (as a DDI provider's do), then the plan's prefixes:
//! a leading `+` is kept, the international prefix becomes `+`, the national prefix becomes
//! `+` and the country code, a number of at most `extensionMaxDigits` digits is an internal
//! extension and stays as it is, any other digits are a national number. A country's
//! defaults come from libphonenumber's metadata (the `phonenumber` crate), not from rules
//! written here.

use phonenumber::metadata::DATABASE;

use crate::detection::{CompiledRules, TransformationRule};

/// The longest E.164 number: 15 digits after the `+`.
const E164_MAX_DIGITS: usize = 15;

/// Extension length assumed when the operator has not said: most PBX dial plans use 3 or
/// 4 digits, and no national number is that short.
pub const DEFAULT_EXTENSION_MAX_DIGITS: usize = 4;

/// A number after numbering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Number {
    /// `+` and up to 15 digits.
    E164(String),
    /// An internal extension, as it was.
    Extension(String),
}

impl Number {
    pub fn as_str(&self) -> &str {
        match self {
            Number::E164(n) | Number::Extension(n) => n,
        }
    }
}

/// A source's `numbering`, its rules compiled.
#[derive(Debug, Clone)]
pub struct Numbering {
    country_code: String,
    national_prefix: String,
    international_prefix: String,
    extension_max_digits: usize,
    rules: CompiledRules,
}

/// Whether libphonenumber has metadata for a region (ISO 3166-1 alpha-2 in capitals, `SB`):
/// the countries a call can be placed in.
pub fn knows_region(iso: &str) -> bool {
    DATABASE.by_id(iso).is_some()
}

impl Numbering {
    /// A plan from its parts; the error names the part that is wrong.
    pub fn new(
        country_code: &str,
        national_prefix: &str,
        international_prefix: &str,
        extension_max_digits: usize,
        rewrite_rules: &[TransformationRule],
    ) -> Result<Numbering, String> {
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if country_code.is_empty() || country_code.len() > 3 || !digits(country_code) {
            return Err("countryCode: 1 to 3 digits".into());
        }
        if national_prefix.len() > 4 || !digits(national_prefix) {
            return Err("nationalPrefix: up to 4 digits".into());
        }
        if international_prefix.is_empty()
            || international_prefix.len() > 5
            || !digits(international_prefix)
        {
            return Err("internationalPrefix: 1 to 5 digits".into());
        }
        if extension_max_digits > 8 {
            return Err("extensionMaxDigits: at most 8".into());
        }
        Ok(Numbering {
            country_code: country_code.into(),
            national_prefix: national_prefix.into(),
            international_prefix: international_prefix.into(),
            extension_max_digits,
            rules: CompiledRules::compile(rewrite_rules)
                .map_err(|e| format!("rewriteRules: {e}"))?,
        })
    }

    /// The conventions of a country (ISO 3166-1 alpha-2, `ES`) as libphonenumber knows them,
    /// with [`DEFAULT_EXTENSION_MAX_DIGITS`] and no rewrite rules; `None` for an unknown code.
    pub fn for_country(iso: &str) -> Option<Numbering> {
        let meta = DATABASE.by_id(iso.to_ascii_uppercase().as_str())?;
        // Where a country has several international prefixes the metadata gives a
        // pattern and a preferred one; otherwise the pattern is the prefix itself.
        let international = meta
            .preferred_international_prefix()
            .map(str::to_string)
            .or_else(|| {
                meta.international_prefix()
                    .map(|re| re.as_str().to_string())
            })
            .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))?;
        Numbering::new(
            &meta.country_code().to_string(),
            meta.national_prefix().unwrap_or(""),
            &international,
            DEFAULT_EXTENSION_MAX_DIGITS,
            &[],
        )
        .ok()
    }

    pub fn country_code(&self) -> &str {
        &self.country_code
    }

    pub fn national_prefix(&self) -> &str {
        &self.national_prefix
    }

    pub fn international_prefix(&self) -> &str {
        &self.international_prefix
    }

    pub fn extension_max_digits(&self) -> usize {
        self.extension_max_digits
    }

    /// A number as dialled on the source's switch, in E.164 or as an extension.
    pub fn normalise(&self, raw: &str) -> Result<Number, String> {
        let rewritten = self.rules.apply(raw.trim());
        let (plus, digits) = plain_digits(&rewritten).ok_or_else(|| not_a_number(raw))?;
        if plus {
            return e164(digits, raw);
        }
        if digits.len() <= self.extension_max_digits {
            return Ok(Number::Extension(digits));
        }
        if let Some(rest) = digits.strip_prefix(self.international_prefix.as_str()) {
            return e164(rest.to_string(), raw);
        }
        let national = match self.national_prefix.as_str() {
            "" => digits.as_str(),
            prefix => digits.strip_prefix(prefix).unwrap_or(&digits),
        };
        e164(format!("{}{national}", self.country_code), raw)
    }

    /// A number of a format that writes E.164 already (Webex, Chime): the `+` is checked
    /// (and added to bare international digits, as Chime's documented examples have them),
    /// extensions of internal calls stay as they are; no national rules apply.
    pub fn normalise_e164(&self, raw: &str) -> Result<Number, String> {
        let rewritten = self.rules.apply(raw.trim());
        let (_, digits) = plain_digits(&rewritten).ok_or_else(|| not_a_number(raw))?;
        if digits.len() <= self.extension_max_digits && !rewritten.starts_with('+') {
            return Ok(Number::Extension(digits));
        }
        e164(digits, raw)
    }
}

/// Whether a number starts with `+`, and its digits once the separators people and
/// switches write (spaces, dashes, dots, brackets) are gone; `None` for anything else
/// (`anonymous`, a SIP URI, an empty caller).
fn plain_digits(text: &str) -> Option<(bool, String)> {
    let (plus, rest) = match text.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let digits: String = rest
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then_some((plus, digits))
}

fn e164(digits: String, raw: &str) -> Result<Number, String> {
    if digits.is_empty() || digits.len() > E164_MAX_DIGITS || digits.starts_with('0') {
        return Err(format!(
            "{raw:?} is not an E.164 number once numbered (+{digits})"
        ));
    }
    Ok(Number::E164(format!("+{digits}")))
}

fn not_a_number(raw: &str) -> String {
    format!("{raw:?} is not a phone number")
}

/// The ISO 3166-1 country of an E.164 number by libphonenumber's metadata (the main
/// country of a shared code such as +1 when the number does not tell), if any.
pub fn country_of(e164: &str) -> Option<String> {
    let number = phonenumber::parse(None, e164).ok()?;
    number.country().id().map(|id| id.as_ref().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(cc: &str, national: &str, international: &str, ext: usize) -> Numbering {
        Numbering::new(cc, national, international, ext, &[]).unwrap()
    }

    fn e164_of(numbering: &Numbering, raw: &str) -> String {
        match numbering.normalise(raw).unwrap() {
            Number::E164(n) => n,
            Number::Extension(n) => panic!("{raw} gave the extension {n}"),
        }
    }

    #[test]
    fn spain_uk_and_nanp_as_the_spec_writes_them() {
        let spain = plan("34", "", "00", 5);
        assert_eq!(e164_of(&spain, "912345678"), "+34912345678");
        assert_eq!(e164_of(&spain, "0044 20 7946 0000"), "+442079460000");
        assert_eq!(e164_of(&spain, "+34 600-000-000"), "+34600000000");
        assert_eq!(
            spain.normalise("70012").unwrap(),
            Number::Extension("70012".into())
        );
        let uk = plan("44", "0", "00", 4);
        assert_eq!(e164_of(&uk, "02079460000"), "+442079460000");
        assert_eq!(e164_of(&uk, "0034912345678"), "+34912345678", "00 before 0");
        assert_eq!(
            uk.normalise("7001").unwrap(),
            Number::Extension("7001".into())
        );
        let nanp = plan("1", "1", "011", 4);
        assert_eq!(e164_of(&nanp, "12125551234"), "+12125551234");
        assert_eq!(e164_of(&nanp, "2125551234"), "+12125551234");
        assert_eq!(e164_of(&nanp, "01134912345678"), "+34912345678");
        assert_eq!(
            nanp.normalise("1234").unwrap(),
            Number::Extension("1234".into()),
            "an extension starting like the national prefix stays an extension"
        );
    }

    #[test]
    fn rewrite_rules_run_first() {
        let rules = [TransformationRule {
            // This PBX dials 9 for an outside line.
            match_expr: r"^9(\d{9,})$".into(),
            replace_expr: "$1".into(),
            priority: 1,
        }];
        let spain = Numbering::new("34", "", "00", 4, &rules).unwrap();
        assert_eq!(e164_of(&spain, "9912345678"), "+34912345678");
        assert_eq!(e164_of(&spain, "90044201234567"), "+44201234567");
        assert!(Numbering::new(
            "34",
            "",
            "00",
            4,
            &[TransformationRule {
                match_expr: "(".into(),
                replace_expr: "".into(),
                priority: 1,
            }]
        )
        .unwrap_err()
        .starts_with("rewriteRules"));
    }

    #[test]
    fn what_is_not_a_number_is_refused() {
        let spain = plan("34", "", "00", 4);
        for bad in [
            "",
            "anonymous",
            "sip:100@pbx",
            "9.12678E+11",
            "+",
            "+34 91x",
        ] {
            assert!(spain.normalise(bad).is_err(), "{bad:?}");
        }
        assert!(spain.normalise("+1234567890123456").is_err(), "16 digits");
        assert!(spain.normalise("000349").is_err(), "+0… after the prefix");
    }

    #[test]
    fn e164_formats_only_get_the_plus_checked() {
        let plan = plan("34", "", "00", 4);
        assert_eq!(
            plan.normalise_e164("+34911111111").unwrap(),
            Number::E164("+34911111111".into())
        );
        assert_eq!(
            plan.normalise_e164("12075550155").unwrap(),
            Number::E164("+12075550155".into())
        );
        assert_eq!(
            plan.normalise_e164("1001").unwrap(),
            Number::Extension("1001".into())
        );
        assert!(
            plan.normalise_e164("0034911111111").is_err(),
            "no national rules"
        );
    }

    #[test]
    fn country_defaults_come_from_libphonenumber() {
        let spain = Numbering::for_country("es").unwrap();
        assert_eq!(
            (
                spain.country_code(),
                spain.national_prefix(),
                spain.international_prefix()
            ),
            ("34", "", "00")
        );
        let uk = Numbering::for_country("GB").unwrap();
        assert_eq!(
            (
                uk.country_code(),
                uk.national_prefix(),
                uk.international_prefix()
            ),
            ("44", "0", "00")
        );
        let us = Numbering::for_country("US").unwrap();
        assert_eq!(
            (
                us.country_code(),
                us.national_prefix(),
                us.international_prefix()
            ),
            ("1", "1", "011")
        );
        assert!(Numbering::for_country("XX").is_none());
        assert_eq!(country_of("+34912345678").as_deref(), Some("ES"));
        assert_eq!(country_of("+442079460000").as_deref(), Some("GB"));
    }
}
