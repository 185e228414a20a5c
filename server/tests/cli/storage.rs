//! Where the data lives: `DATABASE_URL` and PostgreSQL's need for `ORGPASS_MASTER_KEY`.

use crate::common::storage::postgres_pass;
use crate::support::{Cli, stderr};

#[tokio::test]
async fn postgres_without_a_master_key_is_refused() {
    if !postgres_pass() {
        return; // Only PostgreSQL requires ORGPASS_MASTER_KEY.
    }
    let cli = Cli::new().await;
    cli.add_tenant("acme", "Acme");
    let before = cli.snapshot();
    let message = cli.refused_with(
        &["tenant", "add", "globex", "--name", "Globex"],
        None,
        &[("ORGPASS_MASTER_KEY", None)],
    );
    assert!(message.contains("ORGPASS_MASTER_KEY"), "{message}");
    assert!(!cli.data_file("master.keys").exists());
    assert_eq!(cli.snapshot(), before);
}

#[tokio::test]
async fn a_database_url_that_is_not_postgres_is_refused() {
    let cli = Cli::new().await;
    for url in [
        "mysql://x",
        "mysql://orgpass:hunter2@db.example/orgpass",
        "sqlite://x.db",
    ] {
        let message = cli.refused_with(&["tenant", "list"], None, &[("DATABASE_URL", Some(url))]);
        assert!(message.contains("postgres://"), "{message}");
        assert!(
            !message.contains("hunter2"),
            "the password was echoed: {message}"
        );
    }
    assert!(!cli.data_file("orgpass.db").exists());

    // A PostgreSQL database that cannot be opened is a failure (exit 1) that hides the password.
    if let Ok(server) = std::env::var("ORGPASS_TEST_DATABASE_URL")
        && postgres_pass()
    {
        let mut url = url::Url::parse(&server).expect("ORGPASS_TEST_DATABASE_URL");
        url.set_password(Some("hunter2"))
            .expect("a URL with a host");
        url.set_path("orgpass_no_such_database");
        let output = cli.run_with(
            &["tenant", "list"],
            None,
            &[("DATABASE_URL", Some(url.as_str()))],
        );
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
        assert!(
            stderr(&output).contains("cannot open the database"),
            "{}",
            stderr(&output)
        );
        assert!(!stderr(&output).contains("hunter2"), "{}", stderr(&output));
    }
}

#[tokio::test]
async fn a_flag_in_the_environment_accepts_the_usual_spellings_of_yes() {
    let cli = Cli::new().await;
    for yes in ["1", "yes", "on", "true", "TRUE"] {
        // Parsed as "on", the dev-cookie flag is then refused for a public https URL.
        let message = cli.refused_with(
            &["serve"],
            None,
            &[
                ("ORGPASS_INSECURE_DEV_COOKIES", Some(yes)),
                ("ORGPASS_PUBLIC_URL", Some("https://orgpass.example.com")),
                ("ORGPASS_LISTEN", Some("127.0.0.1:0")),
            ],
        );
        assert!(
            message.contains("only allowed when the public URL is a loopback"),
            "{yes}: {message}"
        );
    }
    let message = cli.refused_with(
        &["serve"],
        None,
        &[("ORGPASS_DEV_LOOPBACK_ISSUERS", Some("maybe"))],
    );
    assert!(message.contains("maybe"), "{message}");
}
