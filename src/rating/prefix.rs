//! Longest-prefix match of a dialled number against a plan's prefixes: one sorted table of
//! disjoint key ranges, searched with a single binary search per call and no allocation.
//!
//! A digit string is read as a base-11 number of 20 places: digit `d` is written `d + 1`
//! and missing places are 0. All numbers that start with prefix `p` then form the key range
//! `[key(p), key(p) + 11^(20 - len(p)))`; a number shorter than `p` falls outside it (its
//! next place is 0, below any digit), and two prefixes' ranges are either nested or
//! disjoint. Flattening the nesting yields disjoint intervals, each labelled with the
//! longest prefix covering it.

use crate::rating::row::MAX_PREFIX_DIGITS;

const PLACES: usize = MAX_PREFIX_DIGITS;

/// 11^0 ..= 11^20 (11^20 ≈ 6.7e20 needs 128 bits).
const POW11: [u128; PLACES + 1] = {
    let mut table = [1u128; PLACES + 1];
    let mut i = 1;
    while i < table.len() {
        table[i] = table[i - 1] * 11;
        i += 1;
    }
    table
};

const NONE: u32 = u32::MAX;

pub(crate) struct PrefixIndex {
    /// Start key of each interval, strictly increasing; `starts[0] == 0`.
    starts: Vec<u128>,
    /// The value of the longest prefix covering each interval, or `NONE`.
    values: Vec<u32>,
}

impl PrefixIndex {
    /// `prefixes` are distinct digit strings of 1..=20 ASCII digits, each with its value.
    pub(crate) fn new(prefixes: impl IntoIterator<Item = (impl AsRef<[u8]>, u32)>) -> PrefixIndex {
        let mut ranges: Vec<(u128, u128, u32)> = prefixes
            .into_iter()
            .map(|(digits, value)| {
                let digits = digits.as_ref();
                let start = key(digits);
                (start, start + POW11[PLACES - digits.len()], value)
            })
            .collect();
        // Outer ranges before the ranges they contain: by start, then longest range first.
        ranges.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));

        let mut index = PrefixIndex {
            starts: vec![0],
            values: vec![NONE],
        };
        // The ranges that contain the current position, innermost last.
        let mut open: Vec<(u128, u32)> = Vec::new();
        for (start, end, value) in ranges {
            index.close_until(&mut open, start);
            index.push(start, value);
            open.push((end, value));
        }
        index.close_until(&mut open, u128::MAX);
        index.starts.shrink_to_fit();
        index.values.shrink_to_fit();
        index
    }

    /// Closes every open range that ends at or before `position`; after each, the enclosing
    /// range (or no prefix) takes over.
    fn close_until(&mut self, open: &mut Vec<(u128, u32)>, position: u128) {
        while let Some(&(end, _)) = open.last() {
            if end > position {
                break;
            }
            open.pop();
            let outer = open.last().map_or(NONE, |&(_, value)| value);
            self.push(end, outer);
        }
    }

    fn push(&mut self, start: u128, value: u32) {
        let last = self.starts.len() - 1;
        if self.starts[last] == start {
            // An interval of length zero: the later label wins.
            self.values[last] = value;
        } else if self.values[last] != value {
            self.starts.push(start);
            self.values.push(value);
        }
    }

    /// The value of the longest prefix of the number with this key.
    #[inline]
    pub(crate) fn find(&self, key: u128) -> Option<u32> {
        // starts[0] == 0 <= key, so the partition point is at least 1.
        let at = self.starts.partition_point(|&start| start <= key) - 1;
        let value = self.values[at];
        (value != NONE).then_some(value)
    }
}

/// Key of the first 20 digits of an ASCII digit string.
fn key(digits: &[u8]) -> u128 {
    let used = &digits[..digits.len().min(PLACES)];
    let mut key = 0u128;
    for &digit in used {
        key = key * 11 + u128::from(digit - b'0' + 1);
    }
    key * POW11[PLACES - used.len()]
}

/// Key of a dialled number as the switch reported it. A leading `+` is ignored; any other
/// non-digit (spaces, `*`, `#`, a SIP URI) makes the number unratable: stripping such
/// characters could silently match the wrong destination (`*21*0044…`).
#[inline]
pub(crate) fn number_key(callee: &str) -> Option<u128> {
    let digits = callee.strip_prefix('+').unwrap_or(callee).as_bytes();
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(key(digits))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(prefixes: &[&str]) -> PrefixIndex {
        PrefixIndex::new(
            prefixes
                .iter()
                .enumerate()
                .map(|(i, p)| (p.as_bytes(), i as u32)),
        )
    }

    fn find<'a>(prefixes: &[&'a str], index: &PrefixIndex, callee: &str) -> Option<&'a str> {
        number_key(callee)
            .and_then(|key| index.find(key))
            .map(|i| prefixes[i as usize])
    }

    /// The obvious quadratic answer, to compare the index against.
    fn brute_force<'a>(prefixes: &[&'a str], callee: &str) -> Option<&'a str> {
        let digits = callee.strip_prefix('+').unwrap_or(callee);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        prefixes
            .iter()
            .filter(|p| digits.starts_with(*p))
            .max_by_key(|p| p.len())
            .copied()
    }

    #[test]
    fn longest_prefix_wins_among_nested_prefixes() {
        let prefixes = ["4", "44", "442", "44207", "4420794", "33", "0256", "02563"];
        let idx = index(&prefixes);
        let cases = [
            ("442079460000", Some("4420794")),
            ("442079560000", Some("44207")),
            ("442180000000", Some("442")),
            ("441", Some("44")),
            ("4", Some("4")),
            ("49", Some("4")),
            ("44", Some("44")),
            ("+44207", Some("44207")),
            ("4420", Some("442")),
            ("3", None),
            ("34", None),
            ("33", Some("33")),
            ("0256308200", Some("02563")),
            ("0256", Some("0256")),
            ("025", None),
            ("5", None),
            ("", None),
            ("+", None),
        ];
        for (callee, expected) in cases {
            assert_eq!(find(&prefixes, &idx, callee), expected, "{callee}");
        }
    }

    #[test]
    fn numbers_with_other_characters_do_not_match() {
        let prefixes = ["44"];
        let idx = index(&prefixes);
        for callee in [
            "44 20",
            "0044",
            "++44",
            "44#",
            "*4420",
            "sip:+44@x",
            "4+4",
            " 44",
            "44\n",
        ] {
            assert_eq!(find(&prefixes, &idx, callee), None, "{callee:?}");
        }
    }

    #[test]
    fn twenty_digit_prefixes_and_longer_numbers() {
        let prefixes = ["12345678901234567890", "1234567890123456789", "9"];
        let idx = index(&prefixes);
        assert_eq!(
            find(&prefixes, &idx, "1234567890123456789012"),
            Some(prefixes[0])
        );
        assert_eq!(
            find(&prefixes, &idx, "12345678901234567891"),
            Some(prefixes[1])
        );
        assert_eq!(find(&prefixes, &idx, "99999999999999999999999"), Some("9"));
        assert_eq!(find(&prefixes, &idx, "999999999999999999999x"), None);
        let empty = index(&[]);
        assert_eq!(find(&[], &empty, "44"), None);
    }

    #[test]
    fn agrees_with_brute_force_on_many_prefixes() {
        // Deterministic pseudo-random prefixes with lots of nesting (small alphabet).
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut owned: Vec<String> = (0..400)
            .map(|_| {
                let len = 1 + next() % 6;
                (0..len)
                    .map(|_| char::from(b'0' + (next() % 3) as u8))
                    .collect()
            })
            .collect();
        owned.sort();
        owned.dedup();
        let prefixes: Vec<&str> = owned.iter().map(String::as_str).collect();
        let idx = index(&prefixes);
        for _ in 0..5000 {
            let len = next() % 9;
            let callee: String = (0..len)
                .map(|_| char::from(b'0' + (next() % 4) as u8))
                .collect();
            assert_eq!(
                find(&prefixes, &idx, &callee),
                brute_force(&prefixes, &callee),
                "{callee}"
            );
        }
    }
}
