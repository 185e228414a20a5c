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
        // serde_json's messages can quote the offending value (a secret in the wrong place):
        // say only what kind of mistake it is and where.
        Format::Json => serde_json::from_str(&text).map_err(|e| {
            let kind = match e.classify() {
                serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                    "not valid JSON"
                }
                _ => "not an array of objects with the import's fields",
            };
            CliError::BadInput(format!(
                "{} is not a JSON array of instances: {kind} at line {}, column {}",
                path.display(),
                e.line(),
                e.column()
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

#[cfg(test)]
mod properties {
    use std::io::Write;

    use app::backend::registry::Domains;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::{CliError, Format, ImportRow, read_rows};

    #[test]
    fn a_json_row_of_the_wrong_shape_is_refused_without_quoting_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("rows.json");
        std::fs::write(&file, r#"["s3cr3t-client-secret-value"]"#).unwrap();
        let Err(CliError::BadInput(message)) = read_rows(&file, Some(Format::Json)) else {
            panic!("accepted");
        };
        assert!(!message.contains("s3cr3t"), "{message}");
        assert!(message.contains("line 1, column"), "{message}");
    }

    const COLUMNS: [&str; 9] = [
        "tenant",
        "tenant_name",
        "domains",
        "id",
        "label",
        "issuer",
        "client_id",
        "client_secret",
        "token_auth_method",
    ];

    /// A row's fields as text, in [`COLUMNS`] order (`ImportRow` is not `Debug`: it holds a
    /// secret); the domains are one string, as in CSV.
    fn fields(row: ImportRow) -> Vec<Option<String>> {
        let domains = row.domains.map(|domains| match domains {
            Domains::Text(text) => text,
            Domains::List(list) => list.join(" "),
        });
        vec![
            Some(row.tenant),
            row.tenant_name,
            domains,
            row.id,
            Some(row.label),
            Some(row.issuer),
            Some(row.client_id),
            Some(row.client_secret),
            row.token_auth_method,
        ]
    }

    /// `text` in a file named for its format, read as `orgpass instance import FILE` does.
    fn read(text: &[u8], format: Format) -> Result<Vec<Vec<Option<String>>>, CliError> {
        let name = match format {
            Format::Json => "rows.json",
            Format::Csv => "rows.csv",
        };
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join(name);
        std::fs::File::create(&path)
            .and_then(|mut file| file.write_all(text))
            .expect("the file is written");
        read_rows(&path, None).map(|rows| rows.into_iter().map(fields).collect())
    }

    /// A field value: plausible, empty, padded, with CSV's special characters, or any text.
    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z0-9:/.-]{1,12}",
            Just(String::new()),
            "[ \t]{0,2}[a-z\",\r\n ]{0,8}[ \t]{0,2}",
            any::<String>(),
        ]
    }

    /// Text near a CSV import file: the header (sometimes short of a column), then rows of
    /// fields that may be quoted, short, long, or any text.
    fn csv_like() -> impl Strategy<Value = Vec<u8>> {
        let header = prop_oneof![
            4 => Just(COLUMNS.join(",")),
            1 => prop::sample::subsequence(COLUMNS.to_vec(), 0..9)
                .prop_map(|columns| columns.join(",")),
            1 => any::<String>(),
        ];
        let row = prop::collection::vec(
            prop_oneof![
                value(),
                value().prop_map(|v| format!("\"{}\"", v.replace('"', "\"\"")))
            ],
            0..11,
        )
        .prop_map(|fields| fields.join(","));
        prop_oneof![
            6 => (header, prop::collection::vec(row, 0..4))
                .prop_map(|(header, rows)| format!("{header}\n{}", rows.join("\n")).into_bytes()),
            1 => prop::collection::vec(any::<u8>(), 0..128),
        ]
    }

    /// Text near a JSON import file: an array of objects with the columns as strings, lists,
    /// numbers, `null` or missing; or any JSON; or any bytes.
    fn json_like() -> impl Strategy<Value = Vec<u8>> {
        let member = prop_oneof![
            4 => value().prop_map(Value::from),
            1 => prop::collection::vec(value(), 0..3).prop_map(Value::from),
            1 => any::<i64>().prop_map(Value::from),
            1 => Just(Value::Null),
        ];
        let row = prop::collection::vec(prop::option::of(member), 9).prop_map(|members| {
            let object: serde_json::Map<String, Value> = COLUMNS
                .iter()
                .zip(members)
                .filter_map(|(name, member)| Some(((*name).to_owned(), member?)))
                .collect();
            Value::Object(object)
        });
        prop_oneof![
            6 => prop::collection::vec(row, 0..4)
                .prop_map(|rows| Value::from(rows).to_string().into_bytes()),
            1 => any::<String>().prop_map(|text| Value::from(text).to_string().into_bytes()),
            1 => prop::collection::vec(any::<u8>(), 0..128),
        ]
    }

    /// Rows as CSV's writer quotes them, every column present.
    fn to_csv(rows: &[Vec<String>]) -> Vec<u8> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(COLUMNS).expect("the header is written");
        for row in rows {
            writer.write_record(row).expect("a row is written");
        }
        writer.into_inner().expect("the CSV is flushed")
    }

    fn trimmed(value: &str) -> Option<String> {
        Some(value.trim().to_owned()).filter(|value| !value.is_empty())
    }

    proptest! {
        #[test]
        fn an_arbitrary_csv_import_file_never_panics(text in csv_like()) {
            let _ = read(&text, Format::Csv);
        }

        #[test]
        fn an_arbitrary_json_import_file_never_panics(text in json_like()) {
            let _ = read(&text, Format::Json);
        }

        #[test]
        fn a_csv_error_never_quotes_a_field(
            rows in prop::collection::vec(
                prop::collection::vec("[A-Za-z0-9_-]{12,20}", 0..11),
                1..4,
            ),
        ) {
            let text = rows.iter().map(|row| row.join(",")).collect::<Vec<_>>().join("\n");
            let text = format!("{}\n{text}", COLUMNS.join(","));
            if let Err(error) = read(text.as_bytes(), Format::Csv) {
                let message = error.to_string();
                for field in rows.iter().flatten() {
                    prop_assert!(!message.contains(field.as_str()), "{}", message);
                }
            }
        }

        #[test]
        fn csv_rows_are_read_back_as_written_less_surrounding_whitespace(
            rows in prop::collection::vec(
                (
                    prop::collection::vec(value(), 9),
                    prop::collection::vec("[a-z]{1,8}\\.[a-z]{2,6}", 0..3),
                ),
                1..4,
            ),
        ) {
            let rows: Vec<Vec<String>> = rows
                .into_iter()
                .map(|(mut fields, domains)| {
                    // The domains column is a space-separated list of names (CSV cannot tell
                    // text that looks like a number from a number there).
                    fields[2] = domains.join(" ");
                    // A required column left empty is a row error of its own.
                    for required in [0, 4, 5, 6, 7] {
                        if fields[required].trim().is_empty() {
                            fields[required] = "x".to_owned();
                        }
                    }
                    fields
                })
                .collect();
            let read_back = read(&to_csv(&rows), Format::Csv).expect("the file reads");
            let expected: Vec<Vec<Option<String>>> = rows
                .iter()
                .map(|row| row.iter().map(|field| trimmed(field)).collect())
                .collect();
            prop_assert_eq!(read_back, expected);
        }

        #[test]
        fn json_rows_are_read_back_exactly_as_written(
            rows in prop::collection::vec(
                (
                    prop::collection::vec(any::<String>(), 5),
                    prop::collection::vec(prop::option::of(any::<String>()), 3),
                    prop::option::of(prop::collection::vec(any::<String>(), 0..3)),
                ),
                0..4,
            ),
        ) {
            let objects: Vec<Value> = rows
                .iter()
                .map(|(required, optional, domains)| {
                    json!({
                        "tenant": required[0],
                        "tenant_name": optional[0],
                        "domains": domains,
                        "id": optional[1],
                        "label": required[1],
                        "issuer": required[2],
                        "client_id": required[3],
                        "client_secret": required[4],
                        "token_auth_method": optional[2],
                    })
                })
                .collect();
            let text = Value::from(objects).to_string();
            let read_back = read(text.as_bytes(), Format::Json).expect("the file reads");
            let expected: Vec<Vec<Option<String>>> = rows
                .into_iter()
                .map(|(required, optional, domains)| {
                    let [tenant, label, issuer, client_id, client_secret] =
                        <[String; 5]>::try_from(required).expect("five");
                    let [tenant_name, id, method] =
                        <[Option<String>; 3]>::try_from(optional).expect("three");
                    vec![
                        Some(tenant),
                        tenant_name,
                        domains.map(|list| list.join(" ")),
                        id,
                        Some(label),
                        Some(issuer),
                        Some(client_id),
                        Some(client_secret),
                        method,
                    ]
                })
                .collect();
            prop_assert_eq!(read_back, expected);
        }
    }
}
