//! The summary report of a scheduler of kind `summary`: the period's calls summed by the
//! scheduler's `groupBy` with the `/stats` operation (so its figures are those of
//! `GET /stats` for the same period, filters and grouping), written as one CSV row per
//! group and a `TOTAL` row, by price descending then by key.

use std::io::Write;
use std::path::Path;

use chrono::NaiveDateTime;
use chrono_tz::Tz;
use sha2::{Digest, Sha256};

use crate::db::schedulers::Scheduler;
use crate::db::stats::StatsFilter;
use crate::db::DbConnection;
use crate::error::{AppError, AppResult};
use crate::ids::{BrandId, ClientId, Id};
use crate::listing::Direction;
use crate::report::Written;
use crate::stats::measures::{Measures, Sums};
use crate::stats::{self, Bound, Dimension, OrderBy, Scope, StatsAnswer, StatsQuery};

/// The calls a scheduler's report covers, as `/stats` filters them (both kinds share the
/// scheduler's filters; a summary counts unanswered attempts too, as `/stats` does).
pub fn stats_filter(sch: &Scheduler) -> StatsFilter {
    StatsFilter {
        client_type: sch
            .client_id
            .is_none()
            .then(|| sch.client_type.clone())
            .flatten(),
        carrier: sch.carrier_id.clone(),
        ddi_provider: sch.ddi_provider_id.clone(),
        ddi: sch.ddi_id.clone(),
        endpoint_type: sch.endpoint_type.clone(),
        endpoint_id: sch.endpoint_id.clone(),
        direction: sch.call_direction.clone(),
        destination_countries: countries_of(sch),
        international: sch.international,
        ..StatsFilter::default()
    }
}

/// The scheduler's destination countries filter as a list.
pub fn countries_of(sch: &Scheduler) -> Option<Vec<String>> {
    sch.destination_countries
        .as_deref()
        .map(|c| c.split(',').map(str::to_string).collect())
}

/// The statistics of `sch`'s report for [in_date, out_date), local times in `zone`: the
/// scheduler's brand (and client) as its level sees them, every group (no limit).
pub fn summary_of(
    conn: &mut DbConnection,
    sch: &Scheduler,
    in_date: NaiveDateTime,
    out_date: NaiveDateTime,
    zone: Tz,
) -> AppResult<StatsAnswer> {
    let scope = scope_of(conn, sch)?;
    let group_by = stats::group_by(sch.group_by.as_deref().unwrap_or_default())?;
    let mut q = period_query(sch, in_date, out_date, zone, group_by);
    // By key when prices are hidden: their order would tell them.
    q.order = scope
        .visibility
        .price
        .then_some((OrderBy::Price, Direction::Desc));
    stats::run(conn, &scope, &q)
}

/// Whose calls a scheduler's report sums: its brand's, or (client level) its client's as
/// the client's administrators see them.
pub fn scope_of(conn: &mut DbConnection, sch: &Scheduler) -> AppResult<Scope> {
    let client_level = sch.level == crate::schedulers::CLIENT_LEVEL;
    let mut scope = match (&sch.client_id, client_level) {
        (Some(client), true) => Scope::for_client(conn, &ClientId::from_db(client.clone()))?,
        _ => Scope::for_brand(conn, &BrandId::from_db(sch.brand_id.clone()))?,
    };
    scope.client = sch.client_id.clone();
    Ok(scope)
}

/// The `/stats` query of `sch`'s period [in_date, out_date) and filters, grouped by
/// `group_by` in `zone`, ordered by key, every group.
pub fn period_query(
    sch: &Scheduler,
    in_date: NaiveDateTime,
    out_date: NaiveDateTime,
    zone: Tz,
    group_by: Vec<Dimension>,
) -> StatsQuery {
    StatsQuery {
        after: Bound::Instant(in_date),
        strictly_before: Bound::Instant(out_date),
        group_by,
        filter: stats_filter(sch),
        timezone: Some(zone),
        order: None,
        limit: usize::MAX,
    }
}

/// The header: key columns (entities as id and name, `country` as code and name), then the
/// measures; client-level reports have no cost or margin (and an empty price when hidden).
pub fn header(group_by: &[Dimension], client_level: bool) -> Vec<String> {
    let mut header = Vec::new();
    for d in group_by {
        header.extend(key_columns(*d));
    }
    header.extend(measures(client_level).into_iter().map(str::to_string));
    header
}

fn key_columns(d: Dimension) -> Vec<String> {
    let name = d.name();
    if d == Dimension::Country {
        vec!["country".into(), "countryName".into()]
    } else if d.names_from().is_some() {
        vec![format!("{name}Id"), format!("{name}Name")]
    } else {
        vec![name.into()]
    }
}

fn measures(client_level: bool) -> Vec<&'static str> {
    Measures::NAMES
        .into_iter()
        .filter(|m| !client_level || !matches!(*m, "cost" | "margin"))
        .collect()
}

/// The CSV bytes of a summary: header, a row per group, the `TOTAL` row.
pub fn csv_of(answer: &StatsAnswer, client_level: bool) -> AppResult<Vec<u8>> {
    let csv_error = |e: csv::Error| AppError::internal(format!("summary CSV: {e}"));
    let mut csv = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let header = header(&answer.group_by, client_level);
    csv.write_record(&header).map_err(csv_error)?;
    let shown = answer.visibility;
    let measures = measures(client_level);
    let figures = |cells: &mut Vec<String>, sums: &Sums| {
        let m = Measures::of(sums, shown);
        cells.extend(measures.iter().map(|name| m.cell(name)));
    };
    for row in &answer.rows {
        let mut cells = Vec::with_capacity(header.len());
        for part in row.key.iter().flatten() {
            let value = part.value.clone().unwrap_or_default();
            let name = match part.dimension {
                Dimension::Country => part
                    .value
                    .as_deref()
                    .map(|code| {
                        crate::calls::country_names::english_name(code)
                            .unwrap_or(code)
                            .to_string()
                    })
                    .unwrap_or_default(),
                d if d.names_from().is_some() => part.name.clone().unwrap_or_default(),
                _ => {
                    cells.push(value);
                    continue;
                }
            };
            cells.push(value);
            cells.push(name);
        }
        figures(&mut cells, &row.sums);
        csv.write_record(&cells).map_err(csv_error)?;
    }
    let keys = header.len() - measures.len();
    let mut total: Vec<String> = (0..keys)
        .map(|i| {
            if i == 0 {
                "TOTAL".into()
            } else {
                String::new()
            }
        })
        .collect();
    figures(&mut total, &answer.totals);
    csv.write_record(&total).map_err(csv_error)?;
    csv.into_inner()
        .map_err(|e| AppError::internal(format!("summary CSV: {e}")))
}

/// Writes a summary's CSV to `path` (created; fsynced); the rows counted are the groups.
pub fn write_summary(
    answer: &StatsAnswer,
    client_level: bool,
    path: &Path,
    shown: &Path,
) -> AppResult<Written> {
    let bytes = csv_of(answer, client_level)?;
    let io = |e: std::io::Error| AppError::io("writing the report file", shown, &e);
    let mut file = std::fs::File::create(path).map_err(io)?;
    file.write_all(&bytes).map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(Written {
        rows: answer.rows.len() as i64,
        bytes: bytes.len() as i64,
        sha256: hex::encode(Sha256::digest(&bytes)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::measures::Visibility;
    use crate::stats::{KeyPart, StatsRow};

    fn sums(calls: i64, price: i64) -> Sums {
        Sums {
            calls,
            answered: calls,
            billed_seconds: 60 * calls,
            cost_micros: price / 2,
            price_micros: price,
            margin_micros: price - price / 2,
            unrated: 0,
        }
    }

    fn answer(visibility: Visibility) -> StatsAnswer {
        let row = |code: Option<&str>, s: Sums| StatsRow {
            key: Some(vec![KeyPart {
                dimension: Dimension::Country,
                value: code.map(str::to_string),
                name: None,
            }]),
            sums: s,
        };
        StatsAnswer {
            from: String::new(),
            to: String::new(),
            timezone: "UTC".into(),
            group_by: vec![Dimension::Country],
            rows: vec![row(Some("GB"), sums(2, 300_000)), row(None, sums(1, 0))],
            totals: sums(3, 300_000),
            visibility,
        }
    }

    #[test]
    fn brand_and_client_columns_with_the_total() {
        let brand = String::from_utf8(csv_of(&answer(Visibility::ALL), false).unwrap()).unwrap();
        assert_eq!(
            brand,
            "country,countryName,calls,answered,asr,billedSeconds,minutes,acd,cost,price,margin,unrated\r\n\
             GB,United Kingdom,2,2,1.0000,120,2.0,60.0,0.1500,0.3000,0.1500,0\r\n\
             ,,1,1,1.0000,60,1.0,60.0,0.0000,0.0000,0.0000,0\r\n\
             TOTAL,,3,3,1.0000,180,3.0,60.0,0.1500,0.3000,0.1500,0\r\n"
        );
        let hidden = Visibility {
            cost: false,
            price: false,
        };
        let client = String::from_utf8(csv_of(&answer(hidden), true).unwrap()).unwrap();
        assert_eq!(
            client.lines().next().unwrap(),
            "country,countryName,calls,answered,asr,billedSeconds,minutes,acd,price,unrated"
        );
        assert!(
            client.ends_with("TOTAL,,3,3,1.0000,180,3.0,60.0,,0\r\n"),
            "{client}"
        );
    }
}
