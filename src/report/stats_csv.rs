//! The CSV of a statistics answer, shared by `GET /stats` (`Accept: text/csv`) and the
//! console's statistics downloads: the key columns (entities as id and name:
//! `client,clientName`), then the measures the caller sees; the "other" row has `other` in
//! its first key column.

use crate::error::{AppError, AppResult};
use crate::stats::measures::Measures;
use crate::stats::StatsAnswer;

pub fn write(a: &StatsAnswer) -> AppResult<Vec<u8>> {
    let shown = a.visibility;
    let mut header: Vec<String> = Vec::new();
    for d in &a.group_by {
        header.push(d.name().into());
        if d.names_from().is_some() {
            header.push(format!("{}Name", d.name()));
        }
    }
    let measures: Vec<&str> = Measures::NAMES
        .into_iter()
        .filter(|name| match *name {
            "cost" | "margin" => shown.cost,
            "price" => shown.price,
            _ => true,
        })
        .collect();
    header.extend(measures.iter().map(|m| m.to_string()));
    let mut writer = csv::Writer::from_writer(Vec::new());
    let csv_error = |e: csv::Error| AppError::internal(format!("CSV: {e}"));
    writer.write_record(&header).map_err(csv_error)?;
    for r in &a.rows {
        let mut cells: Vec<String> = Vec::new();
        match &r.key {
            Some(parts) => {
                for p in parts {
                    cells.push(p.value.clone().unwrap_or_default());
                    if p.dimension.names_from().is_some() {
                        cells.push(p.name.clone().unwrap_or_default());
                    }
                }
            }
            None => {
                let width = header.len() - measures.len();
                cells.extend((0..width).map(|i| {
                    if i == 0 {
                        "other".into()
                    } else {
                        String::new()
                    }
                }));
            }
        }
        let m = Measures::of(&r.sums, shown);
        for name in &measures {
            cells.push(m.cell(name));
        }
        writer.write_record(&cells).map_err(csv_error)?;
    }
    writer
        .into_inner()
        .map_err(|e| AppError::internal(e.to_string()))
}
