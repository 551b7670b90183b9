//! `callcsv import`: files read into a CDR source straight into the database, without a
//! running server; its summary, its exit codes.

use serde_json::{json, Value};

use crate::cli::{callcsv, run, text, Serve};

/// Creates what the import needs through a running service: brand ES, client ACME, an
/// asterisk-csv source "pbx" mapping the accountcode.
async fn prepare(dir: &std::path::Path) {
    let out = run(
        callcsv(dir, &[]).args([
            "admin",
            "create",
            "--username",
            "admin",
            "--role",
            "platform",
            "--password-stdin",
        ]),
        "pw-long-enough\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let serve = Serve::start(dir, &[]).await;
    let token = serve
        .login("admin", "pw-long-enough")
        .await
        .json::<Value>()
        .await
        .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let http = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        http.post(format!("{}{path}", serve.base))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let brand = post(
        "/brands",
        json!({"name": "Cli", "timezone": "UTC", "country": "ES"}),
    )
    .await
    .unwrap()
    .json::<Value>()
    .await
    .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let res = post(
        "/clients",
        json!({"brand": brand, "name": "Acme", "type": "vpbx", "code": "ACME"}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let res = post(
        "/cdr_sources",
        json!({"brand": brand, "name": "pbx", "format": "asterisk-csv",
               "mapping": {"client": {"field": "accountcode"}}}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    serve.terminate();
}

#[tokio::test]
async fn import_reads_files_into_a_source_and_says_what_became_of_each_record() {
    let dir = tempfile::tempdir().unwrap();
    prepare(dir.path()).await;
    let file = dir.path().join("Master.csv");
    std::fs::write(
        &file,
        concat!(
            "\"ACME\",\"201\",\"912345678\",\"ctx\",\"\",\"SIP/201-1\",\"SIP/T-2\",\"Dial\",\"\",\"2026-01-31 10:00:00\",\"2026-01-31 10:00:00\",\"2026-01-31 10:01:00\",60,60,\"ANSWERED\",\"DOCUMENTATION\"\n",
            "\"ACME\",\"201\",\"912345679\",\"ctx\",\"\",\"SIP/201-1\",\"SIP/T-2\",\"Dial\",\"\",\"2026-01-31 11:00:00\",\"2026-01-31 11:00:00\",\"2026-01-31 11:01:00\",60,60,\"ANSWERED\",\"DOCUMENTATION\"\n",
            "\"ACME\",\"201\"\n",
        ),
    )
    .unwrap();
    let path = file.to_str().unwrap();

    let out = run(
        callcsv(dir.path(), &[]).args(["import", "--source", "pbx", path]),
        "",
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout} {}", text(&out.stderr));
    assert!(
        stdout.contains("3 records: 2 accepted, 0 duplicates, 1 rejected"),
        "{stdout}"
    );
    assert!(
        stdout.contains("line 3:"),
        "the first errors are shown: {stdout}"
    );

    // Again: duplicates, nothing stored twice.
    let out = run(
        callcsv(dir.path(), &[]).args(["import", "--source", "pbx", path]),
        "",
    );
    assert!(
        text(&out.stdout).contains("3 records: 0 accepted, 2 duplicates"),
        "{}",
        text(&out.stdout)
    );

    // A file that is not there, a source nobody has: exit code 1 and why.
    let out = run(
        callcsv(dir.path(), &[]).args(["import", "--source", "pbx", "/nonexistent/Master.csv"]),
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("/nonexistent/Master.csv"),
        "{}",
        text(&out.stderr)
    );
    let out = run(
        callcsv(dir.path(), &[]).args(["import", "--source", "nope", path]),
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no CDR source"),
        "{}",
        text(&out.stderr)
    );
}
