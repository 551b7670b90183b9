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

/// Marks "no prefix" while flattening (values there are positions in the input).
const NONE: u32 = u32::MAX;

/// The lookup splits a key in two: its first `bucket_places` places select a bucket through
/// a direct table, and the remaining places (at most 18, which fit a `u64`) are searched
/// among that bucket's few entries, each holding its value beside its key. Rating is bound
/// by cache misses, and this reads two or three cache lines where a binary search over the
/// whole table would read many more.
pub(crate) struct PrefixIndex<T> {
    bucket_places: usize,
    /// Per bucket, where its entries start in `entries` (one more at the end).
    buckets: Vec<u32>,
    entries: Vec<Entry<T>>,
    /// The value stored where no prefix matches.
    none: T,
}

#[derive(Clone, Copy)]
struct Entry<T> {
    /// Start of the interval within its bucket; each bucket's first entry starts at 0.
    suffix: u64,
    /// The value of the longest prefix covering the interval, or `PrefixIndex::none`.
    value: T,
}

impl<T: Copy + PartialEq> PrefixIndex<T> {
    /// `prefixes` are distinct digit strings of 1..=20 ASCII digits, each with its value;
    /// `none` is a value that none of them has.
    pub(crate) fn new(prefixes: &[(&[u8], T)], none: T) -> PrefixIndex<T> {
        let (starts, positions) = flatten(prefixes.iter().map(|(digits, _)| *digits));
        let value = |position: u32| match position {
            NONE => none,
            _ => prefixes[position as usize].1,
        };
        // About eight intervals per bucket, with 2..=4 places: at least 2 so that the other
        // 18 places fit a u64, at most 4 (14 641 buckets) to keep small plans small.
        let bucket_places = (2..=4)
            .find(|&places| POW11[places] * 8 >= starts.len() as u128)
            .unwrap_or(4);
        let bucket_count = POW11[bucket_places] as usize;
        let bucket_width = POW11[PLACES - bucket_places];

        let mut buckets = Vec::with_capacity(bucket_count + 1);
        let mut entries = Vec::with_capacity(starts.len() + bucket_count);
        let mut at = 0; // the interval containing the current bucket's first key
        for bucket in 0..bucket_count {
            let low = bucket as u128 * bucket_width;
            let high = low + bucket_width;
            while at + 1 < starts.len() && starts[at + 1] <= low {
                at += 1;
            }
            buckets.push(entries.len() as u32);
            entries.push(Entry {
                suffix: 0,
                value: value(positions[at]),
            });
            let mut next = at + 1;
            while next < starts.len() && starts[next] < high {
                entries.push(Entry {
                    suffix: (starts[next] - low) as u64,
                    value: value(positions[next]),
                });
                next += 1;
            }
        }
        buckets.push(entries.len() as u32);
        PrefixIndex {
            bucket_places,
            buckets,
            entries,
            none,
        }
    }

    /// The value of the longest prefix of `digits` (ASCII digits, at least one).
    #[inline]
    pub(crate) fn find(&self, digits: &[u8]) -> Option<T> {
        let (bucket, suffix) = split_key(digits, self.bucket_places);
        let from = self.buckets[bucket] as usize;
        let to = self.buckets[bucket + 1] as usize;
        let entries = &self.entries[from..to];
        // entries[0].suffix == 0 <= suffix, so the partition point is at least 1.
        let at = entries.partition_point(|entry| entry.suffix <= suffix) - 1;
        let value = entries[at].value;
        (value != self.none).then_some(value)
    }
}

/// The disjoint intervals of the prefixes' nested key ranges: their starts (the first is 0)
/// and the position in the input of the longest prefix covering each.
fn flatten<'a>(prefixes: impl Iterator<Item = &'a [u8]>) -> (Vec<u128>, Vec<u32>) {
    let mut ranges: Vec<(u128, u128, u32)> = prefixes
        .enumerate()
        .map(|(position, digits)| {
            let start = key(digits);
            (start, start + POW11[PLACES - digits.len()], position as u32)
        })
        .collect();
    // Outer ranges before the ranges they contain: by start, then longest range first.
    ranges.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));

    let mut intervals = Intervals {
        starts: vec![0],
        values: vec![NONE],
        open: Vec::new(),
    };
    for (start, end, value) in ranges {
        intervals.close_until(start);
        intervals.push(start, value);
        intervals.open.push((end, value));
    }
    intervals.close_until(u128::MAX);
    (intervals.starts, intervals.values)
}

struct Intervals {
    starts: Vec<u128>,
    values: Vec<u32>,
    /// End and value of the ranges containing the current position, innermost last.
    open: Vec<(u128, u32)>,
}

impl Intervals {
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

    /// Closes the open ranges that end at or before `position`; the rest of a closed
    /// range's span goes back to the enclosing range (or to no prefix).
    fn close_until(&mut self, position: u128) {
        while let Some(&(end, _)) = self.open.last() {
            if end > position {
                break;
            }
            self.open.pop();
            let outer = self.open.last().map_or(NONE, |&(_, value)| value);
            self.push(end, outer);
        }
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

/// The same key as `key`, as (its first `bucket_places` places, the remaining places),
/// computed in 64-bit arithmetic.
#[inline]
fn split_key(digits: &[u8], bucket_places: usize) -> (usize, u64) {
    let place = |i: usize| digits.get(i).map_or(0, |&d| u64::from(d - b'0' + 1));
    let mut bucket = 0u64;
    for i in 0..bucket_places {
        bucket = bucket * 11 + place(i);
    }
    let mut suffix = 0u64;
    for i in bucket_places..PLACES {
        suffix = suffix * 11 + place(i);
    }
    (bucket as usize, suffix)
}

/// The digits of a dialled number as the switch reported it. A leading `+` is ignored; any
/// other non-digit (spaces, `*`, `#`, a SIP URI) makes the number unratable: stripping such
/// characters could silently match the wrong destination (`*21*0044…`).
#[inline]
pub(crate) fn number_digits(callee: &str) -> Option<&[u8]> {
    let digits = callee.strip_prefix('+').unwrap_or(callee).as_bytes();
    (!digits.is_empty() && digits.iter().all(u8::is_ascii_digit)).then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(prefixes: &[&str]) -> PrefixIndex<usize> {
        let prefixes: Vec<(&[u8], usize)> = prefixes
            .iter()
            .enumerate()
            .map(|(i, p)| (p.as_bytes(), i))
            .collect();
        PrefixIndex::new(&prefixes, usize::MAX)
    }

    fn find<'a>(prefixes: &[&'a str], index: &PrefixIndex<usize>, callee: &str) -> Option<&'a str> {
        number_digits(callee)
            .and_then(|digits| index.find(digits))
            .map(|i| prefixes[i])
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
    fn split_key_is_the_key_in_two_parts() {
        for digits in [
            "1",
            "4420794600",
            "09",
            "99999999999999999999",
            "00000000000000000000",
        ] {
            for places in 2..=4 {
                let (bucket, suffix) = split_key(digits.as_bytes(), places);
                let whole = bucket as u128 * POW11[PLACES - places] + u128::from(suffix);
                assert_eq!(
                    whole,
                    key(digits.as_bytes()),
                    "{digits} with {places} places"
                );
            }
        }
    }

    #[test]
    fn large_tables_use_wider_buckets_and_still_agree() {
        // 30 000 prefixes of 1–9 digits over a small alphabet: deep nesting, 4-place buckets.
        let mut state = 0x1234_5678_9ABC_DEF1u64;
        let mut next = move |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let mut set = std::collections::HashSet::new();
        while set.len() < 30_000 {
            let len = 1 + next(9);
            set.insert(
                (0..len)
                    .map(|_| char::from(b'0' + next(4) as u8))
                    .collect::<String>(),
            );
        }
        let owned: Vec<String> = set.iter().cloned().collect();
        let prefixes: Vec<&str> = owned.iter().map(String::as_str).collect();
        let idx = index(&prefixes);
        assert_eq!(idx.bucket_places, 4);
        for _ in 0..20_000 {
            let len = next(13);
            let callee: String = (0..len).map(|_| char::from(b'0' + next(5) as u8)).collect();
            let expected = (1..=callee.len().min(9))
                .rev()
                .map(|l| &callee[..l])
                .find(|p| set.contains(*p));
            assert_eq!(find(&prefixes, &idx, &callee), expected, "{callee}");
        }
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
