//! The stored/attached report's file name.

use chrono::NaiveDate;

/// `<owner>-<first day YYYYMMDD>-<last day YYYYMMDD>.csv`, where the owner is the client's
/// name, or the brand's for a brand-wide scheduler (IvozProvider:
/// `DemoCompany-20180101-20181231.csv`).
///
/// Characters that break file names or download headers on some system (`/ \ : * ? " < > |`
/// and control characters) become `_`, and so do leading dots (no hidden files). An owner name
/// with nothing left becomes `report`, so the name never starts with a bare `-`.
pub fn report_file_name(owner_name: &str, first_day: NaiveDate, last_day: NaiveDate) -> String {
    let mut name = String::with_capacity(owner_name.len());
    let mut leading = true;
    for c in owner_name.trim().chars() {
        let unsafe_here = matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|')
            || c.is_control()
            || (leading && c == '.');
        leading = leading && c == '.';
        name.push(if unsafe_here { '_' } else { c });
    }
    if name.is_empty() {
        name.push_str("report");
    }
    format!(
        "{name}-{}-{}.csv",
        first_day.format("%Y%m%d"),
        last_day.format("%Y%m%d")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(owner: &str) -> String {
        let first = NaiveDate::from_ymd_opt(2018, 1, 1).unwrap();
        let last = NaiveDate::from_ymd_opt(2018, 12, 31).unwrap();
        report_file_name(owner, first, last)
    }

    #[test]
    fn ivozprovider_example() {
        assert_eq!(name("DemoCompany"), "DemoCompany-20180101-20181231.csv");
    }

    #[test]
    fn unsafe_characters_become_underscores() {
        assert_eq!(name("Demo/Co:1"), "Demo_Co_1-20180101-20181231.csv");
        assert_eq!(
            name(r#"a\b*c?d"e<f>g|h"#),
            "a_b_c_d_e_f_g_h-20180101-20181231.csv"
        );
        assert_eq!(
            name("tab\there\nnl\u{7f}"),
            "tab_here_nl_-20180101-20181231.csv"
        );
    }

    #[test]
    fn leading_dots_are_replaced_but_inner_dots_kept() {
        assert_eq!(name(".hidden"), "_hidden-20180101-20181231.csv");
        assert_eq!(name("../etc"), "___etc-20180101-20181231.csv");
        assert_eq!(name("Acme Inc."), "Acme Inc.-20180101-20181231.csv");
        assert_eq!(name("v1.2"), "v1.2-20180101-20181231.csv");
    }

    #[test]
    fn unicode_and_spaces_are_kept() {
        assert_eq!(name("Telefónica Ñ"), "Telefónica Ñ-20180101-20181231.csv");
        assert_eq!(name("  Padded  "), "Padded-20180101-20181231.csv");
    }

    #[test]
    fn empty_owner_gets_a_placeholder() {
        assert_eq!(name(""), "report-20180101-20181231.csv");
        assert_eq!(name("   "), "report-20180101-20181231.csv");
    }

    #[test]
    fn single_day_period() {
        let day = NaiveDate::from_ymd_opt(2018, 12, 9).unwrap();
        assert_eq!(
            report_file_name("Demo", day, day),
            "Demo-20181209-20181209.csv"
        );
    }
}
