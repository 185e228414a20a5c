//! `orgpass instance import`: JSON and CSV files, imported whole or not at all.

use crate::support::{CSV_HEADER, Cli, assert_hidden, hint, secret};

#[tokio::test]
async fn a_json_import_of_three_good_rows_adds_them_all() {
    let cli = Cli::new().await;
    let rows = serde_json::json!([
        {"tenant": "acme", "tenant_name": "Acme Corp", "domains": "acme.com acme.io",
         "id": "acme-main", "label": "Okta", "issuer": "https://acme.okta.com",
         "client_id": "0oa1acme", "client_secret": secret("AAAA"),
         "token_auth_method": "client_secret_basic"},
        {"tenant": "acme", "tenant_name": "Acme Corp", "domains": "acme.com acme.io",
         "id": "acme-eng", "label": "Engineering", "issuer": "https://acme.okta.com",
         "client_id": "0oa2acme", "client_secret": secret("BBBB"),
         "token_auth_method": "client_secret_post"},
        {"tenant": "globex", "tenant_name": "Globex", "domains": "globex.com",
         "label": "Okta", "issuer": "https://globex.oktapreview.com",
         "client_id": "0oa1globex", "client_secret": secret("CCCC")},
    ]);
    let file = cli.write_file("instances.json", &rows.to_string());

    let out = cli.ok(&["instance", "import", file.to_str().unwrap()]);
    assert!(out.contains("imported 3"), "{out}");

    let mut slugs = cli.tenant_slugs();
    slugs.sort();
    assert_eq!(slugs, ["acme", "globex"]);
    let acme = cli.json(&["tenant", "show", "acme", "--json"]);
    assert_eq!(acme["tenant"]["display_name"], "Acme Corp");
    assert_eq!(
        acme["tenant"]["domains"],
        serde_json::json!(["acme.com", "acme.io"])
    );
    assert_eq!(acme["instances"].as_array().unwrap().len(), 2);
    let globex = cli.json(&["tenant", "show", "globex", "--json"]);
    assert_eq!(
        globex["tenant"]["domains"],
        serde_json::json!(["globex.com"])
    );
    let globex_id = globex["instances"][0]["id"]
        .as_str()
        .expect("a generated id");

    assert_eq!(cli.show("acme-main")["client_secret"], hint("AAAA"));
    let eng = cli.show("acme-eng");
    assert_eq!(eng["client_secret"], hint("BBBB"));
    assert_eq!(eng["token_auth_method"], "client_secret_post");
    let globex_main = cli.show(globex_id);
    assert_eq!(globex_main["client_secret"], hint("CCCC"));
    assert_eq!(globex_main["issuer"], "https://globex.oktapreview.com");
    assert_eq!(globex_main["token_auth_method"], "client_secret_basic");

    // --json reports the count; an explicit --format overrides the extension.
    let more = serde_json::json!([
        {"tenant": "acme", "label": "Sales", "issuer": "https://acme.okta.com",
         "client_id": "0oa3acme", "client_secret": secret("DDDD")},
    ]);
    let file = cli.write_file("more.txt", &more.to_string());
    let message = cli.refused(&["instance", "import", file.to_str().unwrap()]);
    assert!(message.contains("--format"), "{message}");
    let imported = cli.json(&[
        "instance",
        "import",
        file.to_str().unwrap(),
        "--format",
        "json",
        "--json",
    ]);
    assert_eq!(imported, serde_json::json!({"imported": 1}));
    assert_eq!(cli.instance_ids().len(), 4);
}

#[tokio::test]
async fn a_csv_import_with_bad_rows_names_them_and_imports_nothing() {
    let cli = Cli::new().await;
    cli.add_tenant("acme", "Acme");
    cli.add_instance(
        "acme",
        "acme-main",
        "https://acme.okta.com",
        "0oa1acme",
        &secret("MAIN"),
    );
    let before = cli.snapshot();

    let good_first = format!(
        "acme,,,acme-two,Two,https://acme.okta.com,0oa2acme,{},",
        secret("TWOS")
    );
    let good_last = format!(
        "initech,Initech,initech.com,,Okta,https://initech.okta.com,0oa1initech,{},\
         client_secret_post",
        secret("INIT")
    );
    let bad_rows = [
        (
            format!(
                "acme,,,acme-meta,Meta,http://169.254.169.254,0oa3acme,{},",
                secret("BAD1")
            ),
            "refused",
        ),
        (
            format!(
                "acme,,,acme-dup,Dup,https://acme.okta.com,0oa2acme,{},",
                secret("BAD2")
            ),
            "appears twice",
        ),
        (
            format!(
                "acme,,,acme-look,Look,https://acme.okta.com.evil.example,0oa4acme,{},",
                secret("BAD3")
            ),
            "refused",
        ),
        (
            format!(
                "acme,,,acme-two,Two again,https://acme.okta.com,0oa5acme,{},",
                secret("BAD4")
            ),
            "appears twice",
        ),
        (
            format!(
                "acme,,,acme-tam,Tam,https://acme.okta.com,0oa6acme,{},none",
                secret("BAD5")
            ),
            "token auth method",
        ),
        (
            "acme,,,acme-nosecret,None,https://acme.okta.com,0oa7acme,,".to_owned(),
            "empty",
        ),
    ];
    for (index, (bad, why)) in bad_rows.iter().enumerate() {
        let csv = format!("{CSV_HEADER}\n{good_first}\n{bad}\n{good_last}\n");
        let file = cli.write_file(&format!("bad-{index}.csv"), &csv);
        let message = cli.refused(&["instance", "import", file.to_str().unwrap()]);
        assert!(message.contains("row 2:"), "{bad}: {message}");
        assert!(
            !message.contains("row 1:") && !message.contains("row 3:"),
            "{message}"
        );
        assert!(message.contains(why), "{bad}: {message}");
        assert!(message.contains("nothing was imported"), "{message}");
        assert_eq!(cli.snapshot(), before, "{bad}");
    }

    // Every bad row is named, not only the first.
    let csv = format!(
        "{CSV_HEADER}\n{good_first}\n{}\n{good_last}\n{}\n",
        bad_rows[0].0, bad_rows[2].0
    );
    let file = cli.write_file("two-bad.csv", &csv);
    let message = cli.refused(&["instance", "import", file.to_str().unwrap()]);
    assert!(message.contains("2 bad row(s)"), "{message}");
    assert!(
        message.contains("row 2:") && message.contains("row 4:"),
        "{message}"
    );
    assert_eq!(cli.snapshot(), before);

    // A row the CSV reader cannot take is named too.
    let csv = format!("{CSV_HEADER}\n{good_first}\nacme,,,short\n");
    let file = cli.write_file("ragged.csv", &csv);
    let message = cli.refused(&["instance", "import", file.to_str().unwrap()]);
    assert!(message.contains("row 2"), "{message}");
    let file = cli.write_file("empty.csv", &format!("{CSV_HEADER}\n"));
    assert!(
        cli.refused(&["instance", "import", file.to_str().unwrap()])
            .contains("no rows")
    );
    assert_eq!(cli.snapshot(), before);

    // The same file without its bad row goes in whole.
    let csv = format!("{CSV_HEADER}\n{good_first}\n{good_last}\n");
    let file = cli.write_file("good.csv", &csv);
    let out = cli.ok(&["instance", "import", file.to_str().unwrap()]);
    assert!(out.contains("imported 2"), "{out}");
    assert_eq!(cli.instance_ids().len(), 3);
    let initech = cli.json(&["tenant", "show", "initech", "--json"]);
    assert_eq!(
        initech["tenant"]["domains"],
        serde_json::json!(["initech.com"])
    );
    assert_eq!(
        initech["instances"][0]["token_auth_method"],
        "client_secret_post"
    );
}

#[tokio::test]
async fn an_import_row_conflicting_with_a_registered_client_id_imports_nothing() {
    let cli = Cli::new().await;
    cli.add_tenant("acme", "Acme");
    cli.ok(&[
        "tenant",
        "add",
        "globex",
        "--name",
        "Globex",
        "--domain",
        "globex.com",
    ]);
    cli.add_instance(
        "acme",
        "acme-main",
        "https://acme.okta.com",
        "0oa1acme",
        &secret("MAIN"),
    );
    let before = cli.snapshot();

    // The first row would create an org; the conflict on row 2 undoes it too.
    let conflicts = [
        format!(
            "acme,,,acme-copy,Copy,https://acme.okta.com,0oa1acme,{},",
            secret("COPY")
        ),
        format!(
            "acme,,,acme-main,Same id,https://acme.okta.com,0oa9acme,{},",
            secret("SAME")
        ),
    ];
    for conflict in &conflicts {
        let csv = format!(
            "{CSV_HEADER}\n\
             initech,Initech,initech.com,,Okta,https://initech.okta.com,0oa1initech,{},\n\
             {conflict}\n",
            secret("INIT")
        );
        let file = cli.write_file("conflict.csv", &csv);
        let message = cli.refused(&["instance", "import", file.to_str().unwrap()]);
        assert!(message.contains("row 2:"), "{message}");
        assert!(message.contains("already registered"), "{message}");
        assert!(message.contains("nothing was imported"), "{message}");
        assert_eq!(cli.snapshot(), before);
    }

    // So does a new org claiming a domain another org owns.
    let csv = format!(
        "{CSV_HEADER}\n\
         initech,Initech,globex.com,,Okta,https://initech.okta.com,0oa1initech,{},\n",
        secret("INIT")
    );
    let file = cli.write_file("domain.csv", &csv);
    let message = cli.refused(&["instance", "import", file.to_str().unwrap()]);
    assert!(message.contains("row 1:"), "{message}");
    assert!(
        message.contains("already belongs to the organization 'globex'"),
        "{message}"
    );
    assert_eq!(cli.snapshot(), before);
}

#[tokio::test]
async fn an_import_row_for_a_missing_org_without_a_name_imports_nothing() {
    let cli = Cli::new().await;
    cli.add_tenant("acme", "Acme");
    let before = cli.snapshot();

    let rows = serde_json::json!([
        {"tenant": "acme", "label": "Okta", "issuer": "https://acme.okta.com",
         "client_id": "0oa1acme", "client_secret": secret("ACME")},
        {"tenant": "nosuch", "label": "Okta", "issuer": "https://nosuch.okta.com",
         "client_id": "0oa1nosuch", "client_secret": secret("NONE")},
    ]);
    let file = cli.write_file("missing.json", &rows.to_string());
    let message = cli.refused(&["instance", "import", file.to_str().unwrap()]);
    assert!(message.contains("row 2:"), "{message}");
    assert!(
        message.contains("no organization named 'nosuch'"),
        "{message}"
    );
    assert!(message.contains("nothing was imported"), "{message}");
    assert_eq!(cli.snapshot(), before);

    // A file that is not an array of instances is refused as a whole.
    for text in ["{}", "[{\"tenant\": \"acme\"}]", "not json"] {
        let file = cli.write_file("malformed.json", text);
        let message = cli.refused(&["instance", "import", file.to_str().unwrap()]);
        assert!(
            message.contains("not a JSON array of instances"),
            "{message}"
        );
    }
    let message = cli.refused(&["instance", "import", "/nonexistent/instances.json"]);
    assert!(message.contains("cannot read"), "{message}");
    assert_eq!(cli.snapshot(), before);
}

#[tokio::test]
async fn an_import_error_never_quotes_a_secret_put_in_the_wrong_column() {
    let cli = Cli::new().await;
    cli.add_tenant("acme", "Acme");
    let misplaced = secret("MISP");
    let good = secret("GOOD");
    let header = "tenant,tenant_name,domains,label,issuer,client_id,client_secret,\
                  token_auth_method";
    for row in [
        format!("acme,,,Okta,https://acme.okta.com,0oa1acme,{good},{misplaced}"),
        format!("acme,,,Okta,{misplaced},0oa1acme,{good},"),
        format!("{misplaced},,,Okta,https://acme.okta.com,0oa1acme,{good},"),
        format!("initech,Initech,{misplaced},Okta,https://initech.okta.com,0oa1,{good},"),
    ] {
        let file = cli.write_file("misplaced.csv", &format!("{header}\n{row}\n"));
        let message = cli.refused(&["instance", "import", file.to_str().unwrap()]);
        assert!(message.contains("row 1:"), "{message}");
        assert_hidden(message.as_bytes(), &misplaced, "the import error");
        assert_hidden(message.as_bytes(), &good, "the import error");
    }
}
