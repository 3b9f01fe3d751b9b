//! Each field's limit is declared once, in its type; the database's checks hold the
//! same limits, so that nothing the service accepts is refused by a constraint (a
//! 500) and nothing written past the service is longer than it would accept.

use cms::auth::tokens::TokenName;
use cms::content::articles::{Body, Standfirst, Title};
use cms::content::citations::{CitationTitle, Quote, SourceName, MAX_NUMBER, MAX_URL_LEN};
use cms::content::key_points::{ListTitle, PointText};
use cms::content::slug::MAX_SLUG_LEN;
use cms::content::tags::{TagDescription, TagName};

use crate::helpers::TestApp;

/// The check constraints on one column, as PostgreSQL prints them.
async fn checks_on(app: &TestApp, table: &str, column: &str) -> String {
    let db = app.db().await;
    let rows = db
        .query(
            "SELECT pg_get_constraintdef(c.oid)
               FROM pg_constraint c
               JOIN pg_class t ON t.oid = c.conrelid
               JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY (c.conkey)
              WHERE c.contype = 'c' AND t.relname = $1 AND a.attname = $2",
            &[&table, &column],
        )
        .await
        .expect("constraints can be read");
    rows.iter()
        .map(|row| row.get::<_, String>(0))
        .collect::<Vec<_>>()
        .join(" AND ")
}

#[tokio::test]
async fn the_database_checks_the_limits_the_field_types_declare() {
    let app = TestApp::spawn().await;
    for (table, column, max) in [
        ("articles", "title", Title::MAX),
        ("articles", "standfirst", Standfirst::MAX),
        ("articles", "body", Body::MAX),
        ("articles", "slug", MAX_SLUG_LEN),
        ("tags", "name", TagName::MAX),
        ("tags", "description", TagDescription::MAX),
        ("tags", "slug", MAX_SLUG_LEN),
        ("key_point_lists", "title", ListTitle::MAX),
        ("key_points", "text", PointText::MAX),
        ("citations", "title", CitationTitle::MAX),
        ("citations", "publisher", SourceName::MAX),
        ("citations", "author", SourceName::MAX),
        ("citations", "quote", Quote::MAX),
        ("citations", "url", MAX_URL_LEN),
        ("api_tokens", "name", TokenName::MAX),
    ] {
        let checks = checks_on(&app, table, column).await;
        let states_max = checks.contains(&format!("<= {max})"))
            || checks.contains(&format!("<= {max} "))
            || checks.contains(&format!("AND {max})"));
        assert!(
            states_max,
            "{table}.{column} is checked against {max}: {checks}"
        );
    }
    let number = checks_on(&app, "citations", "number").await;
    assert!(number.contains(&format!("{MAX_NUMBER})")), "{number}");
}
