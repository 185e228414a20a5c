//! Bulk import of instances: every row is checked, and either all of them land or none.

use serde::Serialize;

use super::instances::{NewInstance, TokenAuthMethod, insert_instance};
use super::{RegistryError, display_text};
use crate::backend::audit::{self, Actor, Event};
use crate::backend::db::{Db, now};
use crate::backend::vault::Vault;
use crate::domain::{
    ClientSecret, EmailDomain, InstanceId, InvalidValue, IssuerPolicy, IssuerUrl, TenantSlug,
};

/// One row of an import file (JSON array or CSV), as read: every field is checked here.
/// Not `Debug`: it holds a client secret.
#[derive(serde::Deserialize)]
pub struct ImportRow {
    pub tenant: String,
    /// Creates the org when it does not exist yet.
    #[serde(default)]
    pub tenant_name: Option<String>,
    /// Email domains for an org created by this row: a list (JSON) or one space- or
    /// comma-separated string (CSV).
    #[serde(default)]
    pub domains: Option<Domains>,
    #[serde(default)]
    pub id: Option<String>,
    pub label: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    #[serde(default)]
    pub token_auth_method: Option<String>,
}

/// The `domains` field as either format writes it.
#[derive(serde::Deserialize)]
#[serde(untagged)]
pub enum Domains {
    List(Vec<String>),
    Text(String),
}

impl Domains {
    fn parse(self) -> Result<Vec<EmailDomain>, InvalidValue> {
        let raw = match self {
            Self::List(list) => list,
            Self::Text(text) => text.split([' ', ',']).map(str::to_owned).collect(),
        };
        raw.iter()
            .filter(|domain| !domain.trim().is_empty())
            .map(|domain| EmailDomain::parse(domain))
            .collect()
    }
}

/// Why one row was refused; `row` counts from 1 (the first data row).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    pub row: usize,
    pub message: String,
}

struct CheckedRow {
    /// The org's name, to create it if it does not exist yet.
    new_tenant: Option<String>,
    /// Domains to claim for the row's org.
    domains: Vec<EmailDomain>,
    instance: NewInstance,
}

/// An import file is easy to get wrong by one column, which would put a secret where a slug
/// or issuer belongs; so a row's errors name the column and never quote its value.
fn in_column(column: &'static str) -> impl Fn(InvalidValue) -> InvalidValue {
    move |error| {
        let mut unquoted = String::with_capacity(error.0.len());
        for (index, part) in error.0.split('\'').enumerate() {
            unquoted.push_str(if index % 2 == 1 { "'…'" } else { part });
        }
        InvalidValue(format!("{column}: {unquoted}"))
    }
}

fn check_row(raw: ImportRow, policy: &IssuerPolicy) -> Result<CheckedRow, InvalidValue> {
    let tenant = TenantSlug::parse(raw.tenant.trim()).map_err(in_column("tenant"))?;
    let new_tenant = raw
        .tenant_name
        .filter(|name| !name.trim().is_empty())
        .map(|name| display_text("organization name", &name))
        .transpose()
        .map_err(in_column("tenant_name"))?;
    let domains = match raw.domains {
        Some(domains) => domains.parse().map_err(in_column("domains"))?,
        None => Vec::new(),
    };
    let id = raw
        .id
        .filter(|id| !id.trim().is_empty())
        .map(|id| InstanceId::parse(id.trim()))
        .transpose()
        .map_err(in_column("id"))?;
    let token_auth_method = match raw.token_auth_method.as_deref().map(str::trim) {
        None | Some("") => TokenAuthMethod::default(),
        Some(method) => TokenAuthMethod::parse(method).map_err(in_column("token_auth_method"))?,
    };
    Ok(CheckedRow {
        new_tenant,
        domains,
        instance: NewInstance {
            id,
            tenant,
            label: display_text("instance label", &raw.label).map_err(in_column("label"))?,
            issuer: IssuerUrl::parse(&raw.issuer, policy).map_err(in_column("issuer"))?,
            client_id: super::instances::client_id(&raw.client_id)
                .map_err(in_column("client_id"))?,
            client_secret: ClientSecret::new(raw.client_secret)
                .map_err(in_column("client_secret"))?,
            token_auth_method,
            extra_redirect_uris: Vec::new(),
            post_logout_uri: None,
            enabled: true,
        },
    })
}

/// Imports every row or none: rows are checked first (each bad row reported), then inserted in
/// one transaction, which is rolled back if any row conflicts with what is stored.
/// Returns how many instances were added.
pub async fn import_instances(
    db: &Db,
    vault: &Vault,
    rows: Vec<ImportRow>,
    policy: &IssuerPolicy,
    actor: &Actor,
) -> Result<usize, RegistryError> {
    let mut errors = Vec::new();
    let mut checked = Vec::with_capacity(rows.len());
    let mut seen_clients = std::collections::HashSet::new();
    let mut seen_ids = std::collections::HashSet::new();
    for (index, raw) in rows.into_iter().enumerate() {
        let row = index + 1;
        match check_row(raw, policy) {
            Ok(ok) => {
                let client = (
                    ok.instance.issuer.as_str().to_owned(),
                    ok.instance.client_id.clone(),
                );
                if !seen_clients.insert(client) {
                    errors.push(RowError {
                        row,
                        message: format!(
                            "client id '{}' at {} appears twice in the file",
                            ok.instance.client_id, ok.instance.issuer
                        ),
                    });
                } else if let Some(id) = &ok.instance.id
                    && !seen_ids.insert(id.clone())
                {
                    errors.push(RowError {
                        row,
                        message: format!("instance id '{id}' appears twice in the file"),
                    });
                } else {
                    checked.push((row, ok));
                }
            }
            Err(error) => errors.push(RowError {
                row,
                message: error.0,
            }),
        }
    }
    if !errors.is_empty() {
        return Err(RegistryError::BadRows(errors));
    }

    let mut tx = db.begin().await?;
    let count = checked.len();
    let mut tenants_seen = std::collections::HashSet::new();
    for (row, checked) in checked {
        let CheckedRow {
            new_tenant,
            domains,
            instance,
        } = checked;
        if let Some(name) = new_tenant
            && tenants_seen.insert(instance.tenant.clone())
        {
            sqlx::query(
                "INSERT INTO tenants (slug, display_name, status, created_at, updated_at) \
                 VALUES ($1, $2, 'active', $3, $3) ON CONFLICT (slug) DO NOTHING",
            )
            .bind(instance.tenant.as_str())
            .bind(&name)
            .bind(now())
            .execute(&mut *tx)
            .await?;
        }
        let inserted = match insert_instance(&mut tx, vault, instance).await {
            Ok(inserted) => inserted,
            Err(error) => {
                errors.push(row_error(row, error)?);
                continue;
            }
        };
        // Every row may add domains to its org; one owned by another org fails the row.
        for domain in &domains {
            if let Err(error) =
                super::domains::route_by_operator(&mut tx, &inserted.tenant, domain).await
            {
                errors.push(row_error(row, error)?);
            }
        }
    }
    if !errors.is_empty() {
        tx.rollback().await?;
        return Err(RegistryError::BadRows(errors));
    }
    audit::record(
        &mut tx,
        Event {
            actor,
            action: "instance.import",
            tenant: None,
            instance: None,
            succeeded: true,
            detail: format!("{count} instance(s)"),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(count)
}

/// A refusal that belongs to one row; storage failures abort the whole import instead.
fn row_error(row: usize, error: RegistryError) -> Result<RowError, RegistryError> {
    match error {
        RegistryError::Invalid(_)
        | RegistryError::UnknownTenant(_)
        | RegistryError::DomainTaken { .. }
        | RegistryError::Conflict(_) => Ok(RowError {
            row,
            message: error.to_string(),
        }),
        other => Err(other),
    }
}

#[cfg(test)]
mod tests {
    use super::in_column;
    use crate::domain::InvalidValue;

    #[test]
    fn a_row_error_names_the_column_and_hides_the_value() {
        let error = InvalidValue("issuer 'SECRET-VALUE' refused: not a URL".to_owned());
        assert_eq!(
            in_column("issuer")(error).0,
            "issuer: issuer '…' refused: not a URL"
        );
    }

    mod properties {
        use proptest::prelude::*;
        use serde_json::Value;

        use super::super::{Domains, ImportRow, check_row, in_column};
        use crate::domain::{
            EmailDomain, InstanceId, InvalidValue, IssuerPolicy, IssuerUrl, TenantSlug,
        };

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

        fn policy() -> IssuerPolicy {
            IssuerPolicy {
                allowed_custom_hosts: vec!["login.acme.example".to_owned()],
                allow_loopback_http: false,
            }
        }

        /// A field as people fill it in: usually right for its column (the first of `usual`;
        /// the others are near misses), sometimes padded with spaces, empty, or any text.
        fn field(usual: &'static [&'static str]) -> impl Strategy<Value = String> {
            prop_oneof![
                12 => Just(usual[0].to_owned()),
                2 => prop::sample::select(usual).prop_map(str::to_owned),
                1 => prop::sample::select(usual).prop_map(|value| format!(" {value}\t")),
                1 => Just(String::new()),
                1 => any::<String>(),
                1 => "(?s).{0,90}",
            ]
        }

        /// The fields of an [`ImportRow`], which is not `Debug` (it holds a secret).
        #[derive(Debug, Clone)]
        struct Fields {
            tenant: String,
            tenant_name: Option<String>,
            domains: Option<Result<Vec<String>, String>>,
            id: Option<String>,
            label: String,
            issuer: String,
            client_id: String,
            client_secret: String,
            token_auth_method: Option<String>,
        }

        impl Fields {
            fn row(self) -> ImportRow {
                ImportRow {
                    tenant: self.tenant,
                    tenant_name: self.tenant_name,
                    domains: self.domains.map(|domains| match domains {
                        Ok(list) => Domains::List(list),
                        Err(text) => Domains::Text(text),
                    }),
                    id: self.id,
                    label: self.label,
                    issuer: self.issuer,
                    client_id: self.client_id,
                    client_secret: self.client_secret,
                    token_auth_method: self.token_auth_method,
                }
            }
        }

        /// A row near a good one; `domains` is `Ok(list)` (JSON) or `Err(text)` (CSV).
        fn row() -> impl Strategy<Value = Fields> {
            (
                (
                    field(&["acme", "globex-eu", "Acme", "a", "-acme"]),
                    prop::option::of(field(&["Acme Corp", "Globex"])),
                    prop::option::of(prop_oneof![
                        field(&[
                            "acme.com",
                            "acme.com eu.acme.com",
                            "acme.com,gmail.com",
                            " , "
                        ])
                        .prop_map(Err),
                        prop::collection::vec(field(&["acme.com", "co.uk", ""]), 0..3).prop_map(Ok),
                    ]),
                    prop::option::of(field(&["acme-okta", "ab", "ACME"])),
                    field(&["Okta", "Acme Okta (EU)"]),
                ),
                (
                    field(&[
                        "https://acme.okta.com",
                        "https://acme.okta.com/oauth2/default/",
                        "https://login.acme.example",
                        "http://acme.okta.com",
                        "https://evil.example",
                    ]),
                    field(&["0oa1client", "0oa client"]),
                    field(&["s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t"]),
                    prop::option::of(field(&[
                        "client_secret_basic",
                        "client_secret_post",
                        "basic",
                    ])),
                ),
            )
                .prop_map(
                    |(
                        (tenant, tenant_name, domains, id, label),
                        (issuer, client_id, client_secret, token_auth_method),
                    )| Fields {
                        tenant,
                        tenant_name,
                        domains,
                        id,
                        label,
                        issuer,
                        client_id,
                        client_secret,
                        token_auth_method,
                    },
                )
        }

        proptest! {
            #[test]
            fn an_arbitrary_import_row_never_panics_and_a_checked_one_holds_only_valid_values(
                raw in row(),
            ) {
                let policy = policy();
                match check_row(raw.row(), &policy) {
                    Ok(checked) => {
                        let instance = &checked.instance;
                        prop_assert_eq!(
                            &TenantSlug::parse(instance.tenant.as_str()),
                            &Ok(instance.tenant.clone())
                        );
                        prop_assert_eq!(
                            &IssuerUrl::parse(instance.issuer.as_str(), &policy),
                            &Ok(instance.issuer.clone())
                        );
                        if let Some(id) = &instance.id {
                            prop_assert_eq!(&InstanceId::parse(id.as_str()), &Ok(id.clone()));
                        }
                        for domain in &checked.domains {
                            prop_assert_eq!(
                                &EmailDomain::parse(domain.as_str()),
                                &Ok(domain.clone())
                            );
                        }
                        let label = &instance.label;
                        prop_assert!(!label.is_empty() && label.trim() == label);
                        prop_assert!(!instance.client_secret.expose().is_empty());
                    }
                    Err(error) => {
                        prop_assert!(
                            COLUMNS
                                .iter()
                                .any(|column| error.0.starts_with(&format!("{column}: "))),
                            "{}",
                            error
                        );
                    }
                }
            }

            #[test]
            fn a_secret_in_the_wrong_column_is_never_quoted_in_the_error(
                raw in row(),
                secret in "[A-Za-z0-9_-]{20,40}",
                column in 0usize..7,
            ) {
                let mut raw = raw;
                match column {
                    0 => raw.tenant = secret.clone(),
                    1 => raw.tenant_name = Some(secret.clone()),
                    2 => raw.domains = Some(Err(secret.clone())),
                    3 => raw.id = Some(secret.clone()),
                    4 => raw.issuer = secret.clone(),
                    5 => raw.client_id = format!("{secret} "),
                    _ => raw.token_auth_method = Some(secret.clone()),
                }
                if let Err(error) = check_row(raw.row(), &policy()) {
                    prop_assert!(!error.0.contains(&secret), "{}", error);
                }
            }

            #[test]
            fn domains_as_one_string_read_as_the_same_list(
                domains in prop::collection::vec("[a-zA-Z0-9.@ü-]{0,12}", 0..4),
                separator in prop::sample::select(vec![" ", ",", ", ", "  "]),
            ) {
                let text = Domains::Text(domains.join(separator)).parse();
                let list = Domains::List(domains).parse();
                prop_assert_eq!(text, list);
            }

            #[test]
            fn arbitrary_json_as_the_domains_field_never_panics(
                value in prop_oneof![
                    any::<String>().prop_map(Value::from),
                    prop::collection::vec(any::<String>(), 0..3).prop_map(Value::from),
                    any::<i64>().prop_map(Value::from),
                    Just(Value::Null),
                    Just(serde_json::json!([1, "acme.com"])),
                ],
            ) {
                if let Ok(domains) = serde_json::from_value::<Domains>(value) {
                    let _ = domains.parse();
                }
            }

            #[test]
            fn a_row_error_keeps_the_message_but_never_the_quoted_value(
                column in prop::sample::select(COLUMNS.to_vec()),
                before in "[^']{0,20}",
                value in "[^']{0,20}",
                after in "[^']{0,20}",
            ) {
                let error = InvalidValue(format!("{before}'{value}'{after}"));
                prop_assert_eq!(
                    in_column(column)(error).0,
                    format!("{column}: {before}'…'{after}")
                );
            }
        }
    }
}
