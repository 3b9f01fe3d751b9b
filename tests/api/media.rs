//! `/api/v1/media`: image uploads (type from the bytes, hostile files refused),
//! their files and renditions (public, immutable, made once), and lead images.

use std::io::Cursor;

use chrono::{Duration, Utc};
use cms::auth::Scope;
use image::{DynamicImage, ImageFormat};
use serde_json::{json, Value};

use crate::helpers::{media_dir, problem, Expect, TestApp, TestOptions};

fn encoded(image: DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// A 1000×500 photo-like PNG (a gradient, so that it is not trivially small).
fn photo() -> Vec<u8> {
    let image = image::RgbImage::from_fn(1000, 500, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    });
    encoded(DynamicImage::ImageRgb8(image), ImageFormat::Png)
}

async fn upload(app: &TestApp, bytes: Vec<u8>, query: &str) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/v1/media{query}")))
        .header("content-type", "application/octet-stream")
        .body(bytes)
        .send()
        .await
        .unwrap()
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A PNG whose header declares `width`×`height` and whose pixel data is a few
/// bytes: what a decompression bomb looks like before it is inflated.
fn declared_png(width: u32, height: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], data: &[u8]| {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    };
    let mut header = Vec::new();
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[8, 0, 0, 0, 0]);
    chunk(b"IHDR", &header);
    chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
    chunk(b"IEND", &[]);
    out
}

#[tokio::test]
async fn an_upload_gets_metadata_a_public_immutable_file_and_cached_renditions() {
    let app = TestApp::spawn().await;
    let bytes = photo();
    let response = upload(&app, bytes.clone(), "?alt=A%20gradient&credit=Test").await;
    assert_eq!(response.status(), 201);
    assert!(response.headers().get("location").is_some());
    let media: Value = response.json().await.unwrap();
    assert_eq!(media["content_type"], "image/png");
    assert_eq!(
        (media["width"].as_i64(), media["height"].as_i64()),
        (Some(1000), Some(500))
    );
    assert_eq!(media["size_bytes"], bytes.len());
    assert_eq!(media["alt"], "A gradient");
    assert_eq!(media["focal_point"], json!({"x": 0.5, "y": 0.5}));
    let sha = media["sha256"].as_str().unwrap().to_string();
    let widths: Vec<i64> = media["renditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["width"].as_i64().unwrap())
        .collect();
    assert_eq!(widths, [320, 640, 960], "never wider than the original");

    // The original: public, byte for byte, immutable, with a strong ETag.
    let url = media["url"].as_str().unwrap();
    assert_eq!(url, format!("/api/v1/media/files/{sha}.png"));
    let response = app.public.get(app.url(url)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
    assert!(response.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("immutable"));
    let etag = response.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(response.bytes().await.unwrap().as_ref(), bytes.as_slice());
    let response = app
        .public
        .get(app.url(url))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 304);
    let weakened = format!("W/{etag}");
    let response = app
        .public
        .get(app.url(url))
        .header("if-none-match", &weakened)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        304,
        "a tag a proxy weakened still matches"
    );

    // A rendition is made on first request, then kept: the second is the stored file.
    let rendition = media["renditions"][0]["url"].as_str().unwrap();
    assert_eq!(rendition, format!("/api/v1/media/files/{sha}/320.png"));
    let stored = media_dir(app.db_config.get_dbname().unwrap())
        .join(&sha[..2])
        .join(&sha)
        .join("320.png");
    assert!(!stored.exists());
    let first = app.public.get(app.url(rendition)).send().await.unwrap();
    assert_eq!(first.status(), 200);
    let first = first.bytes().await.unwrap();
    let scaled = image::load_from_memory(&first).unwrap();
    assert_eq!((scaled.width(), scaled.height()), (320, 160));
    assert!(stored.exists(), "kept after the first request");
    let second = app.public.get(app.url(rendition)).send().await.unwrap();
    assert_eq!(second.bytes().await.unwrap(), first);

    // Only the fixed widths, narrower than the original, and known hashes exist.
    for missing in [
        format!("/api/v1/media/files/{sha}/1280.png"),
        format!("/api/v1/media/files/{sha}/500.png"),
        format!("/api/v1/media/files/{sha}/320.jpg"),
        format!("/api/v1/media/files/{sha}.jpg"),
        format!("/api/v1/media/files/{}.png", "0".repeat(64)),
        "/api/v1/media/files/..%2F..%2Fetc%2Fpasswd".to_string(),
    ] {
        let response = app
            .public
            .get(app.url(&missing))
            .header("if-none-match", "*")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{missing}");
    }

    // The same bytes again: a second record, one stored file.
    let again: Value = upload(&app, bytes, "").await.expect(201).await;
    assert_eq!(again["sha256"], sha.as_str());
    assert_ne!(again["id"], media["id"]);
}

#[tokio::test]
async fn hostile_and_wrong_files_are_refused_and_nothing_is_stored() {
    let app = TestApp::spawn_with(TestOptions {
        media_max_bytes: 200_000,
        ..TestOptions::default()
    })
    .await;
    // Not an image, whatever the name or declared type says.
    let response = app
        .client
        .post(app.url("/api/v1/media"))
        .header("content-type", "image/jpeg")
        .body("just text, called photo.jpg")
        .send()
        .await
        .unwrap();
    problem(response, 415).await;
    // SVG, with a script in it.
    let svg = r#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#;
    problem(upload(&app, svg.as_bytes().to_vec(), "").await, 415).await;
    // Huge dimensions, and a decompression bomb (40 MP+ in a few bytes): refused
    // from the header, before anything is inflated.
    for (width, height) in [(100_000, 100_000), (7_000, 7_000)] {
        let body = problem(upload(&app, declared_png(width, height), "").await, 422).await;
        assert_eq!(body["errors"][0]["field"], "file");
    }
    // A damaged file: a real header, the rest cut off.
    let mut cut = encoded(DynamicImage::new_rgb8(64, 64), ImageFormat::Jpeg);
    cut.truncate(cut.len() / 2);
    problem(upload(&app, cut, "").await, 422).await;
    // Too big: 413, by the declared length or while reading.
    problem(upload(&app, vec![0u8; 300_000], "").await, 413).await;
    // Compressed uploads are refused (a small gzip body can inflate to gigabytes).
    let response = app
        .client
        .post(app.url("/api/v1/media"))
        .header("content-encoding", "gzip")
        .body(photo())
        .send()
        .await
        .unwrap();
    problem(response, 415).await;
    // Bad text names its field.
    let small = encoded(DynamicImage::new_rgb8(8, 8), ImageFormat::Png);
    let body = problem(
        upload(&app, small, &format!("?alt={}", "a".repeat(1001))).await,
        422,
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "alt");

    let library: Value = app.get("/api/v1/media").await.expect(200).await;
    assert_eq!(library["items"], json!([]));
}

#[tokio::test]
async fn media_records_are_for_editors_and_uploads_need_content_write() {
    let app = TestApp::spawn().await;
    let media: Value = upload(&app, photo(), "").await.expect(201).await;
    let id = media["id"].as_str().unwrap();
    problem(app.public_get("/api/v1/media").await, 401).await;
    problem(app.public_get(&format!("/api/v1/media/{id}")).await, 401).await;
    let response = app
        .public
        .post(app.url("/api/v1/media"))
        .body(photo())
        .send()
        .await
        .unwrap();
    problem(response, 401).await;
    let reader = app.token(&[Scope::ContentRead]).await;
    let response = reqwest::Client::new()
        .post(app.url("/api/v1/media"))
        .bearer_auth(&reader)
        .body(photo())
        .send()
        .await
        .unwrap();
    problem(response, 403).await;
    let one: Value = app
        .get(&format!("/api/v1/media/{id}"))
        .await
        .expect(200)
        .await;
    assert_eq!(one["sha256"], media["sha256"]);
    // The file itself is public.
    let response = app
        .public
        .get(app.url(media["url"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn an_article_has_a_lead_image_with_its_own_caption_and_credit() {
    let app = TestApp::spawn().await;
    let media: Value = upload(
        &app,
        photo(),
        "?alt=Ulaanbaatar&caption=The%20city&credit=Photo%20desk",
    )
    .await
    .expect(201)
    .await;
    let id = media["id"].as_str().unwrap();
    let article = app
        .create_article(json!({"title": "With an image", "slug": "with-image",
            "status": "published", "published_at": Utc::now() - Duration::days(1),
            "lead_image": {"media": id, "caption": "Ulaanbaatar at dusk"}}))
        .await;
    let lead = &article["lead_image"];
    assert_eq!(lead["id"], id);
    assert_eq!(lead["caption"], "Ulaanbaatar at dusk", "the article's own");
    assert_eq!(lead["credit"], "Photo desk", "the image's");
    assert_eq!(lead["alt"], "Ulaanbaatar");
    assert_eq!(lead["url"], media["url"]);
    assert_eq!(lead["renditions"], media["renditions"]);
    assert_eq!(
        article["meta"]["image_url"], media["url"],
        "the social image's fallback"
    );
    let public: Value = app
        .public_get("/api/v1/articles/with-image")
        .await
        .expect(200)
        .await;
    assert_eq!(public["lead_image"], *lead);

    // An unknown image is a 422 naming the field.
    let response = app
        .post_json(
            "/api/v1/articles",
            &json!({"title": "X", "lead_image": {"media": uuid::Uuid::now_v7()}}),
        )
        .await;
    let body = problem(response, 422).await;
    assert_eq!(body["errors"][0]["field"], "lead_image.media");

    // Changing the image's text changes the article (a new version).
    app.patch_json(
        &format!("/api/v1/media/{id}"),
        &json!({"alt": "The capital"}),
    )
    .await
    .expect::<Value>(200)
    .await;
    let read: Value = app
        .get("/api/v1/articles/with-image")
        .await
        .expect(200)
        .await;
    assert_eq!(read["lead_image"]["alt"], "The capital");
    assert_eq!(read["version"], 2);

    // In use: not deleted without force; with force, taken off the article first.
    let body = problem(app.delete(&format!("/api/v1/media/{id}")).await, 409).await;
    assert!(body["detail"].as_str().unwrap().contains("force"));
    let response = app.delete(&format!("/api/v1/media/{id}?force=true")).await;
    assert_eq!(response.status(), 204);
    let read: Value = app
        .get("/api/v1/articles/with-image")
        .await
        .expect(200)
        .await;
    assert_eq!(read["lead_image"], Value::Null);
    assert_eq!(read["version"], 3);
    // The revision before still shows it; restoring it does not bring back a
    // deleted image.
    let first: Value = app
        .get("/api/v1/articles/with-image/revisions/1")
        .await
        .expect(200)
        .await;
    assert_eq!(
        first["article"]["lead_image"]["caption"],
        "Ulaanbaatar at dusk"
    );
    let restored: Value = app
        .post("/api/v1/articles/with-image/revisions/1/restore")
        .await
        .expect(200)
        .await;
    assert_eq!(restored["lead_image"], Value::Null);
}

#[tokio::test]
async fn a_lead_image_costs_an_article_read_no_query() {
    let app = TestApp::spawn().await;
    let media: Value = upload(&app, photo(), "").await.expect(201).await;
    let past = Utc::now() - Duration::days(1);
    app.create_article(
        json!({"title": "With", "slug": "with", "status": "published",
        "published_at": past, "lead_image": {"media": media["id"]}}),
    )
    .await;
    app.create_article(
        json!({"title": "Without", "slug": "without", "status": "published",
        "published_at": past}),
    )
    .await;
    let (_, with) = app
        .count_queries(app.public_get("/api/v1/articles/with"))
        .await;
    let (_, without) = app
        .count_queries(app.public_get("/api/v1/articles/without"))
        .await;
    assert_eq!(with, without);
}

#[tokio::test]
async fn a_body_shows_media_it_names_and_they_stay_until_deleted_with_force() {
    let app = TestApp::spawn().await;
    let media: Value = upload(&app, photo(), "?alt=The%20steppe")
        .await
        .expect(201)
        .await;
    let id = media["id"].as_str().unwrap();
    let body = format!("Before.\n\n![A yurt at dawn](media:{id})\n\nAnd ![](media:{id}) again.");
    let article = app
        .create_article(json!({"title": "Pictured", "slug": "pictured",
            "status": "published", "published_at": Utc::now() - Duration::days(1),
            "body": body}))
        .await;
    assert_eq!(
        article["body"],
        body.as_str(),
        "the Markdown is kept as written"
    );
    assert_eq!(article["body_media"][0]["id"], id);
    assert_eq!(article["body_media"][0]["url"], media["url"]);
    assert_eq!(article["body_media"].as_array().unwrap().len(), 1);

    let public: Value = app
        .public_get("/api/v1/articles/pictured?include=body_html")
        .await
        .expect(200)
        .await;
    let html = public["body_html"].as_str().unwrap();
    let url = media["url"].as_str().unwrap();
    let narrowest = media["renditions"][0]["url"].as_str().unwrap();
    assert!(html.contains(&format!("<img src=\"{url}\"")), "{html}");
    assert!(html.contains(&format!("{narrowest} 320w")), "{html}");
    assert!(html.contains("width=\"1000\" height=\"500\""), "{html}");
    assert!(html.contains("alt=\"A yurt at dawn\""), "{html}");
    assert!(
        html.contains("alt=\"The steppe\""),
        "the image's own alt: {html}"
    );
    assert_eq!(public["body_media"][0]["id"], id);
    let summary: Value = app.public_get("/api/v1/articles").await.expect(200).await;
    assert!(
        summary["items"][0].get("body_media").is_none(),
        "only with the body"
    );

    // A body that names no media, or media that does not exist, is a 422.
    for (named, says) in [
        ("not-an-id".to_string(), "names no media id"),
        (uuid::Uuid::now_v7().to_string(), "no media has this id"),
    ] {
        let response = app
            .patch_json(
                "/api/v1/articles/pictured",
                &json!({"body": format!("![x](media:{named})")}),
            )
            .await;
        let problem = problem(response, 422).await;
        assert_eq!(problem["errors"][0]["field"], "body");
        assert!(
            problem["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains(says),
            "{problem}"
        );
    }

    // At most 200 images a body (each is a lookup and a row to keep).
    let many: String = (0..201)
        .map(|_| format!("![](media:{}) ", uuid::Uuid::now_v7()))
        .collect();
    let refused = problem(
        app.patch_json("/api/v1/articles/pictured", &json!({"body": many}))
            .await,
        422,
    )
    .await;
    assert!(
        refused["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("at most 200"),
        "{refused}"
    );

    // The image's alt text is in the rendered body: changing it renders it again.
    app.patch_json(&format!("/api/v1/media/{id}"), &json!({"alt": "Grassland"}))
        .await
        .expect::<Value>(200)
        .await;
    let read: Value = app
        .get("/api/v1/articles/pictured?include=body_html")
        .await
        .expect(200)
        .await;
    assert_eq!(read["version"], 2);
    assert!(read["body_html"]
        .as_str()
        .unwrap()
        .contains("alt=\"Grassland\""));

    // Named by a body, it is in use; deleted with force, the body's HTML leaves it
    // out and its Markdown stays.
    let conflict = problem(app.delete(&format!("/api/v1/media/{id}")).await, 409).await;
    assert!(conflict["detail"]
        .as_str()
        .unwrap()
        .contains("in the body of 1"));
    assert_eq!(
        app.delete(&format!("/api/v1/media/{id}?force=true"))
            .await
            .status(),
        204
    );
    let read: Value = app
        .get("/api/v1/articles/pictured?include=body_html")
        .await
        .expect(200)
        .await;
    assert_eq!(read["version"], 3);
    assert_eq!(read["body"], body.as_str());
    assert_eq!(read["body_media"], json!([]));
    let html = read["body_html"].as_str().unwrap();
    assert!(!html.contains("<img"), "{html}");
    assert!(
        html.contains("Before.") && html.contains("again."),
        "{html}"
    );
    // A revision that showed it restores without it (and without a 422).
    let restored: Value = app
        .post("/api/v1/articles/pictured/revisions/1/restore")
        .await
        .expect(200)
        .await;
    assert_eq!(restored["body_media"], json!([]));
}

#[tokio::test]
async fn body_media_costs_an_article_read_no_query() {
    let app = TestApp::spawn().await;
    let media: Value = upload(&app, photo(), "").await.expect(201).await;
    let past = Utc::now() - Duration::days(1);
    let id = media["id"].as_str().unwrap();
    app.create_article(
        json!({"title": "With", "slug": "with", "status": "published",
        "published_at": past, "body": format!("![a](media:{id})")}),
    )
    .await;
    app.create_article(
        json!({"title": "Without", "slug": "without", "status": "published",
        "published_at": past, "body": "No image."}),
    )
    .await;
    let path = |slug: &str| format!("/api/v1/articles/{slug}?include=body_html");
    let (_, with) = app.count_queries(app.public_get(&path("with"))).await;
    let (_, without) = app.count_queries(app.public_get(&path("without"))).await;
    assert_eq!(with, without);
}

#[tokio::test]
async fn an_author_has_an_avatar_and_media_in_use_needs_force() {
    let app = TestApp::spawn().await;
    let media: Value = upload(&app, photo(), "?alt=Aya").await.expect(201).await;
    let id = media["id"].as_str().unwrap();
    let author: Value = app
        .post_json("/api/v1/authors", &json!({"name": "Aya", "avatar": id}))
        .await
        .expect(201)
        .await;
    assert_eq!(author["avatar"]["id"], id);
    assert_eq!(author["avatar"]["alt"], "Aya");
    assert_eq!(author["avatar"]["url"], media["url"]);
    let body = problem(
        app.patch_json(
            "/api/v1/authors/aya",
            &json!({"avatar": uuid::Uuid::now_v7()}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "avatar");
    // The avatar's text is part of the author: changing it is a new version.
    app.patch_json(&format!("/api/v1/media/{id}"), &json!({"alt": "Aya, 2026"}))
        .await
        .expect::<Value>(200)
        .await;
    let author: Value = app.get("/api/v1/authors/aya").await.expect(200).await;
    assert_eq!(author["avatar"]["alt"], "Aya, 2026");
    assert_eq!(author["version"], 2);

    problem(app.delete(&format!("/api/v1/media/{id}")).await, 409).await;
    assert_eq!(
        app.delete(&format!("/api/v1/media/{id}?force=true"))
            .await
            .status(),
        204
    );
    let author: Value = app.get("/api/v1/authors/aya").await.expect(200).await;
    assert_eq!(author["avatar"], Value::Null);
    assert_eq!(author["version"], 3);
}

/// With a bucket configured, files and renditions go to S3-compatible storage
/// (`.ci/run` starts a local S3-compatible server and names it in
/// `CMS_TEST_S3_ENDPOINT`; without one this test says so and passes).
#[tokio::test]
async fn media_is_stored_in_an_s3_compatible_bucket_when_one_is_configured() {
    let Ok(endpoint) = std::env::var("CMS_TEST_S3_ENDPOINT") else {
        eprintln!(
            "skipping: CMS_TEST_S3_ENDPOINT is not set (.ci/run starts a local \
             S3-compatible server and sets it)"
        );
        return;
    };
    let bucket = format!("cms-test-{}", uuid::Uuid::new_v4().simple());
    let s3 = reqwest::Client::new();
    let created = s3
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .expect("the S3-compatible server answers");
    assert!(
        created.status().is_success(),
        "bucket: {}",
        created.status()
    );
    let location = cms::content::media::storage::S3Location {
        bucket: bucket.clone(),
        endpoint: Some(endpoint.clone()),
        region: "us-east-1".into(),
        keys: Some(("test".into(), "test".into())),
    };
    let app = TestApp::spawn_with(TestOptions {
        media_s3: Some(location.clone()),
        ..TestOptions::default()
    })
    .await;
    // The bucket as another replica (or a CDN origin) would see it.
    let bucket_store = cms::content::media::storage::MediaStore::in_bucket(&location).unwrap();
    let bytes = photo();
    let media: Value = upload(&app, bytes.clone(), "").await.expect(201).await;
    let sha = media["sha256"].as_str().unwrap();

    let stored = bucket_store.get(sha, "original.png").await.unwrap();
    assert_eq!(
        stored.as_deref(),
        Some(bytes.as_slice()),
        "the original is in the bucket"
    );
    assert!(
        !media_dir(app.db_config.get_dbname().unwrap()).exists(),
        "nothing on disk"
    );
    let served = app
        .public
        .get(app.url(media["url"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(served.bytes().await.unwrap().as_ref(), bytes.as_slice());

    assert_eq!(bucket_store.get(sha, "640.png").await.unwrap(), None);
    let rendition = app
        .public
        .get(app.url(media["renditions"][1]["url"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(rendition.status(), 200);
    let rendition = rendition.bytes().await.unwrap();
    let kept = bucket_store.get(sha, "640.png").await.unwrap();
    assert_eq!(
        kept.as_deref(),
        Some(rendition.as_ref()),
        "the rendition is kept in the bucket"
    );
}
