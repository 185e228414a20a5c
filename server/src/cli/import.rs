//! `orgpass instance import FILE`: reads a JSON array or a CSV file of instances; the registry
//! checks every row and imports all of them or none.

use std::path::Path;

use app::backend::audit::Actor;
use app::backend::registry::{self, ImportRow, RegistryError};
use app::domain::IssuerPolicy;
use clap::ValueEnum;
use serde::Serialize;

use super::{CliError, print};
use crate::startup::Storage;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Json,
    Csv,
}

#[derive(Serialize)]
struct Imported {
    imported: usize,
}

fn read_rows(path: &Path, format: Option<Format>) -> Result<Vec<ImportRow>, CliError> {
    let format = match format {
        Some(format) => format,
        None => match path.extension().and_then(|ext| ext.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("json") => Format::Json,
            Some(ext) if ext.eq_ignore_ascii_case("csv") => Format::Csv,
            _ => {
                return Err(CliError::BadInput(format!(
                    "cannot tell the format of {}: name it .json or .csv, or pass --format",
                    path.display()
                )));
            }
        },
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::BadInput(format!("cannot read {}: {e}", path.display())))?;
    match format {
        // serde_json's messages give line and column, never the offending value.
        Format::Json => serde_json::from_str(&text).map_err(|e| {
            CliError::BadInput(format!(
                "{} is not a JSON array of instances: {e}",
                path.display()
            ))
        }),
        Format::Csv => {
            let mut reader = csv::ReaderBuilder::new()
                .trim(csv::Trim::All)
                .from_reader(text.as_bytes());
            reader
                .deserialize()
                .enumerate()
                .map(|(index, row)| {
                    row.map_err(|e| {
                        CliError::BadInput(format!(
                            "row {}: {}",
                            index + 1,
                            csv_error_without_values(&e)
                        ))
                    })
                })
                .collect()
        }
    }
}

/// csv's errors may quote a field, which could be a secret: keep only the kind of problem.
fn csv_error_without_values(error: &csv::Error) -> String {
    match error.kind() {
        csv::ErrorKind::Deserialize { err, .. } => match err.field() {
            Some(field) => format!("field {} is malformed or missing", field + 1),
            None => "a required column is missing".to_owned(),
        },
        csv::ErrorKind::UnequalLengths { .. } => "it has a different number of fields".to_owned(),
        _ => "it cannot be read as CSV".to_owned(),
    }
}

pub async fn run(
    storage: &Storage,
    path: &Path,
    format: Option<Format>,
    policy: &IssuerPolicy,
    json: bool,
) -> Result<(), CliError> {
    let rows = read_rows(path, format)?;
    if rows.is_empty() {
        return Err(CliError::BadInput(format!(
            "{} has no rows",
            path.display()
        )));
    }
    match registry::import_instances(&storage.db, &storage.vault, rows, policy, &Actor::Operator)
        .await
    {
        Ok(imported) => print(json, &Imported { imported }, || {
            format!("imported {imported} instance(s)")
        }),
        Err(RegistryError::BadRows(errors)) => {
            let mut message = format!(
                "{} bad row(s) in {}; nothing was imported:",
                errors.len(),
                path.display()
            );
            for error in &errors {
                message.push_str(&format!("\n  row {}: {}", error.row, error.message));
            }
            Err(CliError::BadInput(message))
        }
        Err(other) => Err(other.into()),
    }
}
