//! Inbound DDI provider detection, the pure part: does an INVITE's source address belong to
//! a provider, and how do the provider's transformation rules rewrite the callee (usually
//! into E.164). No I/O: `/ddi_providers` and `/cdr_sources` (whose numbering has rewrite
//! rules of the same kind) validate with these functions and call ingestion runs them on
//! every inbound row, so all agree on what a rule means.

use std::net::IpAddr;

use ipnet::IpNet;
use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::Validator;

/// Rules per provider: a provider's numbering needs a handful; a cap keeps ingestion cheap.
pub const MAX_RULES: usize = 100;
pub const MAX_PRIORITY: i64 = 1_000_000;
pub const MAX_MATCH_EXPR_CHARS: usize = 500;
pub const MAX_REPLACE_EXPR_CHARS: usize = 200;

/// Compiled size cap of one rule's regex. Rules are user input and every provider's rules
/// stay compiled during an ingestion, so the crate's 10 MiB default is far too generous.
const REGEX_SIZE_LIMIT: usize = 256 * 1024;

/// One rule as stored and as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TransformationRule {
    /// A regex (Rust `regex` syntax); only its first match in the number is replaced.
    pub match_expr: String,
    /// The replacement, with `$1`, `${1}` or `$name` for groups and `$$` for a `$`.
    pub replace_expr: String,
    /// Lower runs first; equal priorities keep their order in the list.
    pub priority: i64,
}

// ---------------------------------------------------------------------------------------
// Addresses

/// Parses one address entry: an IPv4/IPv6 address, or a CIDR block whose host bits are
/// zero. An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) is taken as the IPv4 address.
pub fn parse_address(raw: &str) -> Result<IpNet, String> {
    let text = raw.trim();
    if text.is_empty() {
        return Err("must not be empty".into());
    }
    if text.contains('/') {
        let net: IpNet = text
            .parse()
            .map_err(|_| format!("{text:?} is not an IP address or CIDR block"))?;
        // A block written with host bits (10.0.0.5/24) is most likely a typo for either
        // the address or the block; refuse rather than guess which one was meant.
        if net.trunc() != net {
            return Err(format!(
                "{text:?} has host bits set; the block is {}",
                net.trunc()
            ));
        }
        Ok(net)
    } else {
        let addr: IpAddr = text
            .parse()
            .map_err(|_| format!("{text:?} is not an IP address or CIDR block"))?;
        Ok(IpNet::from(addr.to_canonical()))
    }
}

/// Parses a provider's address list (as stored, or as given to the API), refusing
/// duplicates. The error names the entry's position.
pub fn parse_addresses(raw: &[String]) -> Result<Vec<IpNet>, String> {
    let mut nets: Vec<IpNet> = Vec::with_capacity(raw.len());
    for (i, text) in raw.iter().enumerate() {
        let net = parse_address(text).map_err(|e| format!("address {i}: {e}"))?;
        if let Some(j) = nets.iter().position(|n| *n == net) {
            return Err(format!("address {i}: duplicate of address {j}"));
        }
        nets.push(net);
    }
    Ok(nets)
}

/// The canonical text of an entry: a bare address for a single host (`10.0.0.1`,
/// `2001:db8::1`), `address/prefix` for a block.
pub fn address_text(net: &IpNet) -> String {
    if net.prefix_len() == net.max_prefix_len() {
        net.addr().to_string()
    } else {
        net.to_string()
    }
}

/// Does `ip` fall in any of the entries? An IPv4-mapped IPv6 source (as a dual-stack
/// socket reports IPv4 peers) matches the IPv4 entries too.
pub fn address_matches(addrs: &[IpNet], ip: IpAddr) -> bool {
    let canonical = ip.to_canonical();
    addrs
        .iter()
        .any(|net| net.contains(&ip) || net.contains(&canonical))
}

// ---------------------------------------------------------------------------------------
// Transformation rules

/// Compiles a rule's `matchExpr` with the size limits that keep hostile patterns cheap.
pub fn compile_match(expr: &str) -> Result<Regex, String> {
    if expr.is_empty() {
        return Err("must not be empty".into());
    }
    if expr.chars().count() > MAX_MATCH_EXPR_CHARS {
        return Err(format!("at most {MAX_MATCH_EXPR_CHARS} characters"));
    }
    RegexBuilder::new(expr)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(_) => "the regular expression is too large".to_string(),
            // The syntax error's Display is a multi-line caret diagram; keep its last line,
            // which says what is wrong.
            other => format!(
                "not a valid regular expression: {}",
                other
                    .to_string()
                    .lines()
                    .last()
                    .unwrap_or("")
                    .trim_start_matches("error: ")
            ),
        })
}

/// Checks a `replaceExpr` against its compiled `matchExpr`: every group it refers to must
/// exist. The regex crate silently substitutes "" for an unknown group, and `$1_` means
/// the group *named* `1_`, a mistake that would otherwise pass unnoticed.
pub fn check_replacement(re: &Regex, replace: &str) -> Result<(), String> {
    if replace.chars().count() > MAX_REPLACE_EXPR_CHARS {
        return Err(format!("at most {MAX_REPLACE_EXPR_CHARS} characters"));
    }
    if replace.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    for name in group_refs(replace) {
        let exists = match name.parse::<usize>() {
            Ok(index) => index < re.captures_len(),
            Err(_) => re.capture_names().flatten().any(|n| n == name),
        };
        if exists {
            continue;
        }
        let digits: String = name.chars().take_while(char::is_ascii_digit).collect();
        return Err(if !digits.is_empty() && digits.len() < name.len() {
            format!(
                "${name} refers to a group named {name:?}; write ${{{digits}}}{} for group {digits}",
                &name[digits.len()..]
            )
        } else {
            format!("${name} refers to a group that matchExpr does not have")
        });
    }
    Ok(())
}

/// The group names/indexes a replacement refers to, following the regex crate's rules:
/// `$$` is a literal `$`; `${x}` names `x`; `$` + the longest run of `[0-9A-Za-z_]` names
/// that run; any other `$` is literal.
fn group_refs(replace: &str) -> Vec<&str> {
    let bytes = replace.as_bytes();
    let mut refs = vec![];
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            i += 1;
            continue;
        }
        match bytes.get(i + 1) {
            Some(b'$') => i += 2,
            Some(b'{') => match replace[i + 2..].find('}') {
                Some(len) => {
                    refs.push(&replace[i + 2..i + 2 + len]);
                    i += 2 + len + 1;
                }
                None => i += 1,
            },
            _ => {
                let start = i + 1;
                let end = start
                    + bytes[start..]
                        .iter()
                        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
                        .count();
                if end > start {
                    refs.push(&replace[start..end]);
                }
                i = end.max(i + 1);
            }
        }
    }
    refs
}

/// A rule list as a body gives it (DDI providers' `transformationRules`, CDR sources'
/// `numbering.rewriteRules`), read from raw JSON so that every problem is reported under its
/// own field (`{field}[2].priority`). The order is kept (priority decides the order they
/// run in); absent or `null` is an empty list.
pub fn check_rules(v: &mut Validator, field: &str, raw: Option<Value>) -> Vec<TransformationRule> {
    let items = match raw {
        None | Some(Value::Null) => return vec![],
        Some(Value::Array(items)) => items,
        Some(_) => {
            v.error(
                field,
                "must be an array of {matchExpr, replaceExpr, priority}",
            );
            return vec![];
        }
    };
    if items.len() > MAX_RULES {
        v.error(field, format!("at most {MAX_RULES} rules"));
        return vec![];
    }
    items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| check_rule(v, &format!("{field}[{i}]"), item))
        .collect()
}

fn check_rule(v: &mut Validator, field: &str, item: &Value) -> Option<TransformationRule> {
    let Value::Object(map) = item else {
        v.error(
            field,
            "must be an object {matchExpr, replaceExpr, priority}",
        );
        return None;
    };
    if let Some(unknown) = map
        .keys()
        .find(|k| !["matchExpr", "replaceExpr", "priority"].contains(&k.as_str()))
    {
        v.error(
            field,
            format!("unknown field {unknown:?} (expected matchExpr, replaceExpr, priority)"),
        );
    }
    let match_field = format!("{field}.matchExpr");
    let replace_field = format!("{field}.replaceExpr");
    let priority_field = format!("{field}.priority");

    let match_expr = string_member(v, map, "matchExpr", &match_field);
    let replace_expr = string_member(v, map, "replaceExpr", &replace_field);
    let regex = match_expr
        .as_deref()
        .and_then(|expr| match compile_match(expr) {
            Ok(re) => Some(re),
            Err(e) => {
                v.error(&match_field, e);
                None
            }
        });
    // Group references can only be checked against a pattern that compiled.
    if let (Some(re), Some(replace)) = (&regex, &replace_expr) {
        if let Err(e) = check_replacement(re, replace) {
            v.error(&replace_field, e);
        }
    }
    let priority = match map.get("priority").and_then(Value::as_i64) {
        Some(p) if (0..=MAX_PRIORITY).contains(&p) => Some(p),
        _ => {
            v.error(
                &priority_field,
                format!("required, an integer from 0 to {MAX_PRIORITY}"),
            );
            None
        }
    };
    Some(TransformationRule {
        match_expr: match_expr?,
        replace_expr: replace_expr?,
        priority: priority?,
    })
}

fn string_member(
    v: &mut Validator,
    map: &Map<String, Value>,
    key: &str,
    field: &str,
) -> Option<String> {
    match map.get(key) {
        Some(Value::String(s)) => Some(s.clone()),
        _ => {
            v.error(field, "required, a string");
            None
        }
    }
}

/// A provider's rules, compiled once and ready to apply in priority order.
#[derive(Debug, Clone)]
pub struct CompiledRules {
    steps: Vec<(Regex, String)>,
}

impl CompiledRules {
    /// Compiles and orders the rules (ascending priority, ties in list order). The error
    /// names the rule's position in `rules`.
    pub fn compile(rules: &[TransformationRule]) -> Result<CompiledRules, String> {
        let mut ordered: Vec<(usize, &TransformationRule)> = rules.iter().enumerate().collect();
        ordered.sort_by_key(|(_, rule)| rule.priority); // stable: ties keep list order
        let mut steps = Vec::with_capacity(rules.len());
        for (i, rule) in ordered {
            let re = compile_match(&rule.match_expr).map_err(|e| format!("rule {i}: {e}"))?;
            check_replacement(&re, &rule.replace_expr).map_err(|e| format!("rule {i}: {e}"))?;
            steps.push((re, rule.replace_expr.clone()));
        }
        Ok(CompiledRules { steps })
    }

    /// Applies each rule to the previous rule's result, replacing the first match only;
    /// a rule that does not match leaves the number as it was.
    pub fn apply(&self, number: &str) -> String {
        self.steps
            .iter()
            .fold(number.to_string(), |current, (re, replace)| {
                re.replace(&current, replace.as_str()).into_owned()
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(match_expr: &str, replace_expr: &str, priority: i64) -> TransformationRule {
        TransformationRule {
            match_expr: match_expr.into(),
            replace_expr: replace_expr.into(),
            priority,
        }
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        parse_addresses(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn addresses_parse_to_canonical_text() {
        let cases = [
            ("10.0.0.1", "10.0.0.1"),
            (" 10.0.0.1 ", "10.0.0.1"),
            ("10.0.0.1/32", "10.0.0.1"),
            ("192.168.0.0/16", "192.168.0.0/16"),
            ("2001:DB8:0:0::1", "2001:db8::1"),
            ("2001:db8::/32", "2001:db8::/32"),
            ("::ffff:10.0.0.9", "10.0.0.9"),
            ("0.0.0.0/0", "0.0.0.0/0"),
        ];
        for (raw, canonical) in cases {
            assert_eq!(
                address_text(&parse_address(raw).unwrap()),
                canonical,
                "{raw}"
            );
        }
    }

    #[test]
    fn bad_addresses_are_refused() {
        for raw in [
            "",
            "  ",
            "10.0.0",
            "10.0.0.256",
            "10.0.0.0/33",
            "2001:db8::/129",
            "host.example",
            "10.0.0.5/24",
        ] {
            assert!(parse_address(raw).is_err(), "{raw:?} accepted");
        }
        assert!(parse_address("10.0.0.5/24")
            .unwrap_err()
            .contains("10.0.0.0/24"));
        let dup = parse_addresses(&["10.0.0.1".into(), "10.0.0.1/32".into()]).unwrap_err();
        assert!(dup.contains("duplicate"), "{dup}");
    }

    #[test]
    fn addresses_match_hosts_and_blocks() {
        let list = nets(&["10.0.0.1", "192.168.10.0/24", "2001:db8:1::/48"]);
        assert!(address_matches(&list, ip("10.0.0.1")));
        assert!(!address_matches(&list, ip("10.0.0.2")));
        assert!(address_matches(&list, ip("192.168.10.0")));
        assert!(address_matches(&list, ip("192.168.10.255")));
        assert!(!address_matches(&list, ip("192.168.11.1")));
        assert!(address_matches(&list, ip("2001:db8:1:ffff::5")));
        assert!(!address_matches(&list, ip("2001:db8:2::5")));
        assert!(
            address_matches(&list, ip("::ffff:10.0.0.1")),
            "IPv4-mapped source"
        );
        assert!(!address_matches(&[], ip("10.0.0.1")));
    }

    #[test]
    fn rules_apply_in_priority_order_each_to_the_previous_result() {
        // Listed out of order: priority decides. National 9 digits → +34…, then 00 → +.
        let rules =
            CompiledRules::compile(&[rule(r"^00", "+", 20), rule(r"^([6-9]\d{8})$", "0034$1", 10)])
                .unwrap();
        assert_eq!(rules.apply("912345678"), "+34912345678");
        assert_eq!(rules.apply("0044201234567"), "+44201234567");
        // If the order were the list order, the first rule would not see the 0034 prefix.
        let reversed =
            CompiledRules::compile(&[rule(r"^00", "+", 10), rule(r"^([6-9]\d{8})$", "0034$1", 20)])
                .unwrap();
        assert_eq!(reversed.apply("912345678"), "0034912345678");
    }

    #[test]
    fn equal_priorities_keep_list_order() {
        let rules = CompiledRules::compile(&[rule("a", "b", 5), rule("b", "c", 5)]).unwrap();
        assert_eq!(rules.apply("a"), "c");
    }

    #[test]
    fn a_rule_that_does_not_match_leaves_the_number() {
        let rules = CompiledRules::compile(&[rule(r"^0(\d+)$", "+34$1", 0)]).unwrap();
        assert_eq!(rules.apply("+34912345678"), "+34912345678");
        assert_eq!(CompiledRules::compile(&[]).unwrap().apply("123"), "123");
    }

    #[test]
    fn only_the_first_match_is_replaced_and_groups_work() {
        let rules =
            CompiledRules::compile(&[rule(r"(?P<cc>\d{2})-", "+${cc}", 0), rule("-", "", 1)])
                .unwrap();
        assert_eq!(rules.apply("34-91-23"), "+349123");
        let literal_dollar = CompiledRules::compile(&[rule("x", "$$", 0)]).unwrap();
        assert_eq!(literal_dollar.apply("axb"), "a$b");
    }

    #[test]
    fn bad_rules_are_refused() {
        assert!(compile_match("").is_err());
        assert!(compile_match("(unclosed").is_err());
        assert!(compile_match(&"a".repeat(MAX_MATCH_EXPR_CHARS + 1)).is_err());
        // Small to write, huge compiled: refused by the size limit, not built.
        assert!(compile_match(r"\w{1000}\w{1000}").is_err());
        let re = compile_match(r"^(\d+)$").unwrap();
        assert!(check_replacement(&re, "+34$1").is_ok());
        assert!(check_replacement(&re, "+34${1}0").is_ok());
        assert!(check_replacement(&re, "$0 and $$2").is_ok());
        assert!(check_replacement(&re, "$2").is_err());
        assert!(check_replacement(&re, "${name}").is_err());
        let hint = check_replacement(&re, "$1_x").unwrap_err();
        assert!(hint.contains("${1}_x"), "{hint}");
        assert!(CompiledRules::compile(&[rule("(", "", 0)])
            .unwrap_err()
            .starts_with("rule 0:"));
    }

    #[test]
    fn group_refs_follow_the_regex_crate() {
        assert_eq!(group_refs("a$1b${2}c$$3$"), ["1b", "2"]);
        assert_eq!(group_refs("${unclosed $x"), ["x"]);
        assert_eq!(group_refs("$-$ $"), Vec::<&str>::new());
    }
}
