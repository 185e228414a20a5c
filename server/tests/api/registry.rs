//! The registry against the real database (SQLite, or PostgreSQL in that pass): sealed secrets,
//! master-key rotation while the server runs, domains, all-or-nothing import, status changes
//! that take effect on the next request, setup links and the audit trail.

use app::backend::audit::{self, Actor};
use app::backend::registry::{
    self, Domains, ImportRow, InstanceChanges, NewTenant, RegistryError, TenantChanges,
    TenantStatus,
};
use app::backend::vault::Vault;
use app::domain::{EmailDomain, InstanceId, IssuerPolicy, TenantSlug};
use reqwest::StatusCode;
use server::startup::{Application, StartupError};
use sqlx::Row;

use crate::helpers::{
    ACME_OKTA, GLOBEX_ENG, GLOBEX_OPS, TestApp, dev_serve_args, reason, spawn_app,
    test_leptos_options, within_feed_delay,
};

fn slug(raw: &str) -> TenantSlug {
    TenantSlug::parse(raw).unwrap()
}

fn domain(raw: &str) -> EmailDomain {
    EmailDomain::parse(raw).unwrap()
}

fn dev_policy() -> IssuerPolicy {
    IssuerPolicy {
        allow_loopback_http: true,
        ..IssuerPolicy::default()
    }
}

async fn sealed_columns(app: &TestApp, id: &str) -> (i64, Vec<u8>) {
    let row = sqlx::query("SELECT secret_key_id, secret_sealed FROM instances WHERE id = $1")
        .bind(id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    (row.get("secret_key_id"), row.get("secret_sealed"))
}

fn import_row(tenant: &str, id: &str, issuer: &str, client_id: &str) -> ImportRow {
    ImportRow {
        tenant: tenant.to_owned(),
        tenant_name: Some(format!("Org {tenant}")),
        domains: None,
        id: Some(id.to_owned()),
        label: "Okta".to_owned(),
        issuer: issuer.to_owned(),
        client_id: client_id.to_owned(),
        client_secret: "an-imported-secret-of-forty-characters-xx".to_owned(),
        token_auth_method: None,
    }
}

#[tokio::test]
async fn client_secrets_are_stored_sealed_and_shown_only_as_a_hint() {
    let app = spawn_app().await;
    let secret = &app.secrets[ACME_OKTA];

    let (_, sealed) = sealed_columns(&app, ACME_OKTA).await;
    let detail =
        registry::instance_detail(&app.db, &app.vault, &InstanceId::parse(ACME_OKTA).unwrap())
            .await
            .unwrap();

    assert!(
        !sealed.windows(secret.len()).any(|w| w == secret.as_bytes()),
        "the secret is stored in clear"
    );
    let tail = &secret[secret.len() - 4..];
    assert_eq!(detail.client_secret, format!("set, ends in …{tail}"));
    assert!(
        !serde_json::to_string(&detail)
            .unwrap()
            .contains(secret.as_str())
    );
}

#[tokio::test]
async fn a_sealed_secret_copied_to_another_instance_does_not_open_there() {
    let app = spawn_app().await;
    let (key_id, sealed) = sealed_columns(&app, ACME_OKTA).await;
    sqlx::query("UPDATE instances SET secret_key_id = $1, secret_sealed = $2 WHERE id = $3")
        .bind(key_id)
        .bind(sealed)
        .bind(GLOBEX_ENG)
        .execute(&app.db)
        .await
        .unwrap();

    let opened =
        registry::enabled_credentials(&app.db, &app.vault, &InstanceId::parse(GLOBEX_ENG).unwrap())
            .await;

    assert!(matches!(opened, Err(RegistryError::Sealing(_))));
}

#[tokio::test]
async fn rotating_the_master_key_reseals_every_secret_while_sign_ins_continue() {
    let app = spawn_app().await;
    app.browser().sign_in_ok(ACME_OKTA).await;

    // What `orgpass keys rotate` does, from another process's point of view: its own vault.
    let operator_vault = match app.storage().master_key() {
        // PostgreSQL pass: the operator puts a new key in front of the old one.
        Some(old) => {
            Vault::from_env_value(&format!("{},{old}", Vault::generate_env_entry(2))).unwrap()
        }
        None => {
            let vault =
                Vault::from_key_file(&app.storage().data_dir().join("master.keys"), false).unwrap();
            assert_eq!(vault.rotate().unwrap(), 2);
            vault
        }
    };
    let resealed = registry::reseal_all(&app.db, &operator_vault)
        .await
        .unwrap();

    assert_eq!(resealed, 3, "one secret per instance");
    for id in [ACME_OKTA, GLOBEX_ENG, GLOBEX_OPS] {
        assert_eq!(
            sealed_columns(&app, id).await.0,
            2,
            "{id} still on the old key"
        );
    }
    assert_eq!(
        registry::reseal_all(&app.db, &operator_vault)
            .await
            .unwrap(),
        0
    );
    if app.storage().master_key().is_none() {
        // The running server reads the new key from the file on first need: no restart.
        app.browser().sign_in_ok(GLOBEX_OPS).await;
    } else {
        let id = InstanceId::parse(GLOBEX_OPS).unwrap();
        assert!(
            registry::instance_detail(&app.db, &operator_vault, &id)
                .await
                .is_ok()
        );
    }
}

#[tokio::test]
async fn a_wrong_master_key_stops_start_up_with_a_clear_error_and_changes_nothing() {
    let app = spawn_app().await;
    let before = sealed_columns(&app, ACME_OKTA).await;
    let mut storage = app.storage().args();
    storage.master_key = Some(Vault::generate_env_entry(1).into());

    let started = Application::build(&storage, &dev_serve_args(), test_leptos_options()).await;

    match started {
        Err(StartupError::MasterKey(message)) => {
            assert!(message.contains("ORGPASS_MASTER_KEY"), "{message}");
        }
        Err(other) => panic!("expected a master key error, got {other}"),
        Ok(_) => panic!("the server started with a wrong master key"),
    }
    assert_eq!(sealed_columns(&app, ACME_OKTA).await, before);
    app.browser().sign_in_ok(ACME_OKTA).await;
}

#[tokio::test]
async fn a_domain_belongs_to_one_org_only() {
    let app = spawn_app().await;
    let actor = Actor::Operator;
    let changes = TenantChanges {
        add_domains: vec![domain("acme.example")],
        ..TenantChanges::default()
    };
    registry::update_tenant(&app.db, &slug("acme"), changes, &actor)
        .await
        .unwrap();

    let taken = registry::add_tenant(
        &app.db,
        NewTenant {
            slug: slug("acme-clone"),
            display_name: "Acme Clone".to_owned(),
            domains: vec![domain("ACME.example")],
        },
        &actor,
    )
    .await;

    match taken {
        Err(RegistryError::DomainTaken {
            domain: taken,
            owner,
        }) => {
            assert_eq!((taken, owner.as_str()), (domain("acme.example"), "acme"));
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert!(
        registry::find_tenant(&app.db, &slug("acme-clone"))
            .await
            .unwrap()
            .is_none(),
        "the org was half-created"
    );
    let acme = registry::find_tenant(&app.db, &slug("acme"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(acme.domains, vec![domain("acme.example")]);
}

#[tokio::test]
async fn an_import_with_one_bad_row_imports_nothing_and_names_the_row() {
    let app = spawn_app().await;
    let issuer = app.issuer("acme").to_owned();
    let rows = vec![
        import_row("initech", "initech-okta", &issuer, "0oainitech"),
        import_row(
            "umbrella",
            "umbrella-okta",
            "http://169.254.169.254",
            "0oaumbrella",
        ),
        import_row("Bad Slug", "bad-okta", &issuer, "0oabad"),
        import_row(
            "hooli",
            "hooli-okta",
            "https://acme.okta.com.evil.example",
            "0oahooli",
        ),
    ];

    let imported =
        registry::import_instances(&app.db, &app.vault, rows, &dev_policy(), &Actor::Operator)
            .await;

    match imported {
        Err(RegistryError::BadRows(errors)) => {
            let rows: Vec<usize> = errors.iter().map(|e| e.row).collect();
            assert_eq!(rows, vec![2, 3, 4], "{errors:?}");
        }
        other => panic!("expected bad rows, got {other:?}"),
    }
    assert_eq!(
        registry::list_instances(&app.db, None).await.unwrap().len(),
        3
    );
    assert!(
        registry::find_tenant(&app.db, &slug("initech"))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn an_import_conflicting_with_a_registered_client_is_rolled_back_whole() {
    let app = spawn_app().await;
    let issuer = app.issuer("acme").to_owned();
    let rows = vec![
        import_row("initech", "initech-okta", &issuer, "0oainitech"),
        // acme-okta's client id at acme's issuer is registered already.
        import_row("acme", "acme-again", &issuer, "0oa1acmeokta"),
        import_row("hooli", "hooli-okta", &issuer, "0oahooli"),
    ];

    let imported =
        registry::import_instances(&app.db, &app.vault, rows, &dev_policy(), &Actor::Operator)
            .await;

    match imported {
        Err(RegistryError::BadRows(errors)) => {
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert_eq!(errors[0].row, 2);
            assert!(
                errors[0].message.contains("already registered"),
                "{errors:?}"
            );
        }
        other => panic!("expected bad rows, got {other:?}"),
    }
    assert_eq!(
        registry::list_instances(&app.db, None).await.unwrap().len(),
        3
    );
    assert_eq!(registry::list_tenants(&app.db).await.unwrap().len(), 2);
}

#[tokio::test]
async fn suspending_an_org_ends_its_sessions_and_refuses_sign_in_until_reactivated() {
    let app = spawn_app().await;
    let browser = app.browser();
    browser.sign_in_ok(ACME_OKTA).await;
    let suspend = TenantChanges {
        status: Some(TenantStatus::Suspended),
        ..TenantChanges::default()
    };
    registry::update_tenant(&app.db, &slug("acme"), suspend, &Actor::Operator)
        .await
        .unwrap();

    within_feed_delay("the suspension", async || {
        browser.session().await.0 == StatusCode::UNAUTHORIZED
    })
    .await;
    let login = app.browser().login(ACME_OKTA, None, None).await;
    assert_eq!(login.status, StatusCode::NOT_FOUND);
    assert!(
        login.body.contains(reason::UNKNOWN_INSTANCE),
        "{}",
        login.body
    );
    app.browser().sign_in_ok(GLOBEX_ENG).await;

    let reactivate = TenantChanges {
        status: Some(TenantStatus::Active),
        ..TenantChanges::default()
    };
    registry::update_tenant(&app.db, &slug("acme"), reactivate, &Actor::Operator)
        .await
        .unwrap();
    app.browser().sign_in_ok(ACME_OKTA).await;
}

#[tokio::test]
async fn disabling_an_instance_takes_effect_on_the_running_server() {
    let app = spawn_app().await;
    let browser = app.browser();
    browser.sign_in_ok(GLOBEX_ENG).await;
    let id = InstanceId::parse(GLOBEX_ENG).unwrap();

    registry::set_enabled(&app.db, &id, false, &Actor::Operator)
        .await
        .unwrap();

    within_feed_delay("the disabled instance", async || {
        browser.session().await.0 == StatusCode::UNAUTHORIZED
    })
    .await;
    assert_eq!(
        app.browser().login(GLOBEX_ENG, None, None).await.status,
        StatusCode::NOT_FOUND
    );
    app.browser().sign_in_ok(GLOBEX_OPS).await;
    registry::set_enabled(&app.db, &id, true, &Actor::Operator)
        .await
        .unwrap();
    app.browser().sign_in_ok(GLOBEX_ENG).await;
}

#[tokio::test]
async fn removing_an_org_removes_its_instances_and_sessions_only() {
    let app = spawn_app().await;
    let acme_browser = app.browser();
    acme_browser.sign_in_ok(ACME_OKTA).await;
    let globex_browser = app.browser();
    globex_browser.sign_in_ok(GLOBEX_OPS).await;

    registry::remove_tenant(&app.db, &slug("acme"), &Actor::Operator)
        .await
        .unwrap();

    within_feed_delay("the removed org", async || {
        acme_browser.session().await.0 == StatusCode::UNAUTHORIZED
    })
    .await;
    assert_eq!(globex_browser.session().await.0, StatusCode::OK);
    let left: Vec<String> = registry::list_instances(&app.db, None)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.id.to_string())
        .collect();
    assert_eq!(left, vec![GLOBEX_ENG, GLOBEX_OPS]);
}

#[tokio::test]
async fn a_next_secret_can_be_promoted_once_okta_retires_the_old_one() {
    let app = spawn_app().await;
    let id = InstanceId::parse(ACME_OKTA).unwrap();
    let next =
        app::domain::ClientSecret::new("the-next-secret-okta-generated-000000WXYZ".to_owned())
            .unwrap();
    let stage = InstanceChanges {
        next_secret: Some(Some(next)),
        ..InstanceChanges::default()
    };
    registry::update_instance(&app.db, &app.vault, &id, stage, &Actor::Operator)
        .await
        .unwrap();
    let staged = registry::instance_detail(&app.db, &app.vault, &id)
        .await
        .unwrap();
    assert_eq!(
        staged.next_client_secret.as_deref(),
        Some("set, ends in …WXYZ")
    );

    let promote = InstanceChanges {
        promote_next: true,
        ..InstanceChanges::default()
    };
    registry::update_instance(&app.db, &app.vault, &id, promote, &Actor::Operator)
        .await
        .unwrap();

    let promoted = registry::instance_detail(&app.db, &app.vault, &id)
        .await
        .unwrap();
    assert_eq!(promoted.client_secret, "set, ends in …WXYZ");
    assert_eq!(promoted.next_client_secret, None);
    let again = InstanceChanges {
        promote_next: true,
        ..InstanceChanges::default()
    };
    assert!(matches!(
        registry::update_instance(&app.db, &app.vault, &id, again, &Actor::Operator).await,
        Err(RegistryError::Invalid(_))
    ));
}

#[tokio::test]
async fn setup_links_are_stored_hashed_listed_and_revocable() {
    let app = spawn_app().await;
    let (link, token) = registry::create_setup_link(
        &app.db,
        &slug("acme"),
        std::time::Duration::from_secs(3600),
        &Actor::Operator,
    )
    .await
    .unwrap();
    let token = secrecy::ExposeSecret::expose_secret(&token).to_owned();

    let stored: Vec<String> = sqlx::query("SELECT token_hash FROM setup_links")
        .fetch_all(&app.db)
        .await
        .unwrap()
        .iter()
        .map(|row| row.get("token_hash"))
        .collect();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], token);
    let listed = registry::list_setup_links(&app.db, Some(&slug("acme")))
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].status, registry::SetupLinkStatus::Active);
    assert!(!serde_json::to_string(&listed).unwrap().contains(&token));

    registry::revoke_setup_link(&app.db, &link.id, &Actor::Operator)
        .await
        .unwrap();

    let listed = registry::list_setup_links(&app.db, None).await.unwrap();
    assert_eq!(listed[0].status, registry::SetupLinkStatus::Revoked);
    assert!(matches!(
        registry::create_setup_link(
            &app.db,
            &slug("nobody"),
            std::time::Duration::from_secs(60),
            &Actor::Operator
        )
        .await,
        Err(RegistryError::UnknownTenant(_))
    ));
}

#[tokio::test]
async fn every_change_is_audited_without_its_secrets() {
    let app = spawn_app().await;
    let id = InstanceId::parse(GLOBEX_OPS).unwrap();
    let rotate = InstanceChanges {
        client_secret: Some(
            app::domain::ClientSecret::new("a-brand-new-secret-for-globex-ops-000000".to_owned())
                .unwrap(),
        ),
        ..InstanceChanges::default()
    };
    registry::update_instance(&app.db, &app.vault, &id, rotate, &Actor::Operator)
        .await
        .unwrap();

    let events = audit::recent(&app.db, Some(&slug("globex")), 50)
        .await
        .unwrap();

    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        vec![
            "instance.update",
            "instance.add",
            "instance.add",
            "tenant.add"
        ]
    );
    assert!(
        events
            .iter()
            .all(|e| e.actor == "operator" && e.outcome == "success")
    );
    assert!(events[0].detail.contains("client secret replaced"));
    let everything = serde_json::to_string(&events).unwrap();
    assert!(!everything.contains("a-brand-new-secret"));
    for secret in app.all_secrets() {
        assert!(!everything.contains(secret));
    }
    assert!(
        !audit::recent(&app.db, Some(&slug("acme")), 50)
            .await
            .unwrap()
            .iter()
            .any(|e| e.tenant.as_deref() == Some("globex")),
        "one org's trail shows another's events"
    );
}

#[tokio::test]
async fn an_import_creates_a_missing_org_once_with_the_domains_of_all_its_rows() {
    let app = spawn_app().await;
    let issuer = app.issuer("acme").to_owned();
    let mut first = import_row("initech", "initech-hq", &issuer, "0oainitechhq");
    first.domains = Some(Domains::List(vec!["initech.example".to_owned()]));
    let mut second = import_row("initech", "initech-eu", &issuer, "0oainitecheu");
    second.domains = Some(Domains::Text(
        "initech.example, initech-eu.example".to_owned(),
    ));

    let imported = registry::import_instances(
        &app.db,
        &app.vault,
        vec![first, second],
        &dev_policy(),
        &Actor::Operator,
    )
    .await
    .unwrap();

    assert_eq!(imported, 2);
    let initech = registry::find_tenant(&app.db, &slug("initech"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        initech.domains,
        vec![domain("initech-eu.example"), domain("initech.example")]
    );
    assert_eq!(
        registry::list_instances(&app.db, Some(&slug("initech")))
            .await
            .unwrap()
            .len(),
        2
    );
}
