//! `/feeds`: the latest published articles, overall and per tag, as RSS 2.0, Atom
//! and JSON Feed 1.1, for feed readers and aggregators. Public, with absolute links
//! (`CMS_PUBLIC_URL`, `CMS_ARTICLE_URL`), an `ETag` and a short `Cache-Control`.

use actix_web::http::{header, StatusCode};
use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::content::articles::{self, Article, ArticleFilter, Audience, Include, Sort};
use crate::content::pagination::PageRequest;
use crate::content::tags;
use crate::db::DbPool;
use crate::error::{AppError, AppResult};
use crate::http::conditional::with_etag;
use crate::http::tags::TagPath;
use crate::http::{connection, SiteLinks};

/// How many articles a feed carries.
pub const FEED_LENGTH: i64 = 20;
/// How long a teaser in a feed is, at most, in characters.
const SUMMARY_LENGTH: u16 = 300;

/// The three formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Rss,
    Atom,
    Json,
}

impl Format {
    fn extension(self) -> &'static str {
        match self {
            Format::Rss => "xml",
            Format::Atom => "atom",
            Format::Json => "json",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Rss => "application/rss+xml; charset=utf-8",
            Format::Atom => "application/atom+xml; charset=utf-8",
            Format::Json => "application/feed+json; charset=utf-8",
        }
    }
}

/// What a feed holds, whatever its format.
struct Feed {
    title: String,
    /// Its own absolute URL.
    self_url: String,
    home_url: String,
    entries: Vec<Entry>,
}

struct Entry {
    article: Article,
    url: String,
    summary: String,
}

impl Feed {
    /// When the feed last changed: its newest entry's last change.
    fn updated(&self) -> DateTime<Utc> {
        self.entries
            .iter()
            .map(|e| e.article.updated_at)
            .max()
            .unwrap_or(DateTime::UNIX_EPOCH)
    }

    fn render(&self, format: Format) -> AppResult<Vec<u8>> {
        match format {
            Format::Rss => Ok(self.rss().into_bytes()),
            Format::Atom => Ok(self.atom().into_bytes()),
            Format::Json => {
                serde_json::to_vec(&self.json_feed()).map_err(|e| AppError::Internal(e.to_string()))
            }
        }
    }

    fn rss(&self) -> String {
        let items: Vec<rss::Item> = self
            .entries
            .iter()
            .map(|entry| {
                let article = &entry.article;
                rss::ItemBuilder::default()
                    .title(Some(article.title.clone()))
                    .link(Some(entry.url.clone()))
                    .description(Some(entry.summary.clone()))
                    .guid(Some(rss::Guid {
                        value: format!("urn:uuid:{}", article.id),
                        permalink: false,
                    }))
                    .pub_date(article.published_at.map(|at| at.to_rfc2822()))
                    .categories(
                        article
                            .tags
                            .iter()
                            .map(|tag| rss::Category {
                                name: tag.name.clone(),
                                domain: None,
                            })
                            .collect::<Vec<_>>(),
                    )
                    .build()
            })
            .collect();
        let channel = rss::ChannelBuilder::default()
            .title(self.title.clone())
            .link(self.home_url.clone())
            .description(self.title.clone())
            .last_build_date(Some(self.updated().to_rfc2822()))
            .items(items)
            .build();
        channel.to_string()
    }

    fn atom(&self) -> String {
        use atom_syndication::{
            CategoryBuilder, ContentBuilder, EntryBuilder, FeedBuilder, LinkBuilder, PersonBuilder,
            Text,
        };
        let entries: Vec<atom_syndication::Entry> = self
            .entries
            .iter()
            .map(|entry| {
                let article = &entry.article;
                EntryBuilder::default()
                    .id(format!("urn:uuid:{}", article.id))
                    .title(Text::plain(article.title.clone()))
                    .updated(article.updated_at.fixed_offset())
                    .published(article.published_at.map(|at| at.fixed_offset()))
                    .links(vec![LinkBuilder::default()
                        .href(entry.url.clone())
                        .rel("alternate".to_string())
                        .build()])
                    .summary(Some(Text::plain(entry.summary.clone())))
                    .content(Some(
                        ContentBuilder::default()
                            .content_type(Some("html".to_string()))
                            .value(article.body_html.clone())
                            .build(),
                    ))
                    .categories(
                        article
                            .tags
                            .iter()
                            .map(|tag| {
                                CategoryBuilder::default()
                                    .term(tag.slug.clone())
                                    .label(Some(tag.name.clone()))
                                    .build()
                            })
                            .collect::<Vec<_>>(),
                    )
                    .build()
            })
            .collect();
        let feed = FeedBuilder::default()
            .id(self.self_url.clone())
            .title(Text::plain(self.title.clone()))
            .updated(self.updated().fixed_offset())
            .authors(vec![PersonBuilder::default()
                .name("The editors".to_string())
                .build()])
            .links(vec![
                LinkBuilder::default()
                    .href(self.self_url.clone())
                    .rel("self".to_string())
                    .build(),
                LinkBuilder::default()
                    .href(self.home_url.clone())
                    .rel("alternate".to_string())
                    .build(),
            ])
            .entries(entries)
            .build();
        feed.to_string()
    }

    fn json_feed(&self) -> JsonFeed<'_> {
        JsonFeed {
            version: "https://jsonfeed.org/version/1.1",
            title: &self.title,
            home_page_url: &self.home_url,
            feed_url: &self.self_url,
            items: self
                .entries
                .iter()
                .map(|entry| JsonFeedItem {
                    id: format!("urn:uuid:{}", entry.article.id),
                    url: &entry.url,
                    title: &entry.article.title,
                    summary: &entry.summary,
                    content_html: entry.article.body_html.as_deref().unwrap_or_default(),
                    date_published: entry.article.published_at,
                    date_modified: entry.article.updated_at,
                    tags: entry.article.tags.iter().map(|t| t.name.as_str()).collect(),
                })
                .collect(),
        }
    }
}

/// JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/).
#[derive(Serialize)]
struct JsonFeed<'a> {
    version: &'static str,
    title: &'a str,
    home_page_url: &'a str,
    feed_url: &'a str,
    items: Vec<JsonFeedItem<'a>>,
}

#[derive(Serialize)]
struct JsonFeedItem<'a> {
    id: String,
    url: &'a str,
    title: &'a str,
    summary: &'a str,
    content_html: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    date_published: Option<DateTime<Utc>>,
    date_modified: DateTime<Utc>,
    tags: Vec<&'a str>,
}

/// Builds and answers a feed: the latest published articles (of a tag).
async fn feed(
    req: &HttpRequest,
    pool: &DbPool,
    links: &SiteLinks,
    tag: Option<&TagPath>,
    format: Format,
) -> AppResult<HttpResponse> {
    let mut conn = connection(pool).await?;
    let mut filter = ArticleFilter::for_audience(Audience::Public);
    let (title, path) = match tag {
        None => ("Latest".to_string(), "/feeds/latest".to_string()),
        Some(tag) => {
            let tag = tags::find(&mut conn, &tag.key()?, Audience::Public).await?;
            filter.tag_groups.push(vec![tag.slug.clone()]);
            (
                format!("Latest: {}", tag.name),
                format!("/feeds/tags/{}", tag.slug),
            )
        }
    };
    let include = Include {
        body_html: true,
        excerpt_chars: SUMMARY_LENGTH,
        ..Include::default()
    };
    let page = PageRequest {
        limit: FEED_LENGTH,
        after: None,
    };
    let (articles, _) = articles::list(&mut conn, &filter, Sort::NEWEST, include, &page).await?;
    drop(conn);
    let entries = entries(articles, links);
    let feed = Feed {
        title,
        self_url: format!("{}{path}.{}", links.public_url, format.extension()),
        home_url: links.public_url.clone(),
        entries,
    };
    let body = feed.render(format)?;
    let mut response = with_etag(req, StatusCode::OK, None, format.content_type(), body);
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("public, max-age=60"),
    );
    Ok(response)
}

/// Feed entries: each article with its link; its excerpt is its summary.
fn entries(articles: Vec<Article>, links: &SiteLinks) -> Vec<Entry> {
    articles
        .into_iter()
        .map(|article| Entry {
            url: links.article_url(&article.slug),
            summary: article.excerpt.clone(),
            article,
        })
        .collect()
}

/// The latest articles (RSS 2.0)
///
/// The 20 most recently published articles, newest first. No token needed.
#[utoipa::path(
    tag = "feeds",
    responses(
        (status = 200, description = "The feed", content_type = "application/rss+xml", body = String,
            headers(("Cache-Control" = String, description = "`public, max-age=60`"))),
    )
)]
#[get("/feeds/latest.xml")]
pub async fn latest_rss(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    links: web::Data<SiteLinks>,
) -> AppResult<HttpResponse> {
    feed(&req, &pool, &links, None, Format::Rss).await
}

/// The latest articles of a tag (RSS 2.0)
///
/// The most recently published articles carrying the tag, newest first. No token
/// needed.
#[utoipa::path(
    tag = "feeds",
    params(TagPath),
    responses(
        (status = 200, description = "The feed", content_type = "application/rss+xml", body = String,
            headers(("Cache-Control" = String, description = "`public, max-age=60`"))),
    )
)]
#[get("/feeds/tags/{tag}.xml")]
pub async fn tag_rss(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    links: web::Data<SiteLinks>,
    tag: TagPath,
) -> AppResult<HttpResponse> {
    feed(&req, &pool, &links, Some(&tag), Format::Rss).await
}

/// The latest articles (Atom)
///
/// The 20 most recently published articles, newest first. No token needed.
#[utoipa::path(
    tag = "feeds",
    responses(
        (status = 200, description = "The feed", content_type = "application/atom+xml", body = String,
            headers(("Cache-Control" = String, description = "`public, max-age=60`"))),
    )
)]
#[get("/feeds/latest.atom")]
pub async fn latest_atom(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    links: web::Data<SiteLinks>,
) -> AppResult<HttpResponse> {
    feed(&req, &pool, &links, None, Format::Atom).await
}

/// The latest articles of a tag (Atom)
///
/// The most recently published articles carrying the tag, newest first. No token
/// needed.
#[utoipa::path(
    tag = "feeds",
    params(TagPath),
    responses(
        (status = 200, description = "The feed", content_type = "application/atom+xml", body = String,
            headers(("Cache-Control" = String, description = "`public, max-age=60`"))),
    )
)]
#[get("/feeds/tags/{tag}.atom")]
pub async fn tag_atom(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    links: web::Data<SiteLinks>,
    tag: TagPath,
) -> AppResult<HttpResponse> {
    feed(&req, &pool, &links, Some(&tag), Format::Atom).await
}

/// The latest articles (JSON Feed 1.1)
///
/// The 20 most recently published articles, newest first. No token needed.
#[utoipa::path(
    tag = "feeds",
    responses(
        (status = 200, description = "The feed", content_type = "application/feed+json",
            body = serde_json::Value,
            headers(("Cache-Control" = String, description = "`public, max-age=60`"))),
    )
)]
#[get("/feeds/latest.json")]
pub async fn latest_json(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    links: web::Data<SiteLinks>,
) -> AppResult<HttpResponse> {
    feed(&req, &pool, &links, None, Format::Json).await
}

/// The latest articles of a tag (JSON Feed 1.1)
///
/// The most recently published articles carrying the tag, newest first. No token
/// needed.
#[utoipa::path(
    tag = "feeds",
    params(TagPath),
    responses(
        (status = 200, description = "The feed", content_type = "application/feed+json",
            body = serde_json::Value,
            headers(("Cache-Control" = String, description = "`public, max-age=60`"))),
    )
)]
#[get("/feeds/tags/{tag}.json")]
pub async fn tag_json(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    links: web::Data<SiteLinks>,
    tag: TagPath,
) -> AppResult<HttpResponse> {
    feed(&req, &pool, &links, Some(&tag), Format::Json).await
}
