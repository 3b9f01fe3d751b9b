//! `/api/v1/articles`: whole articles (create, list, read, replace, update, delete)
//! and their workflow (publish, schedule, unpublish, archive).

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{delete, get, patch, post, put, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::content::article_access::{self, ArticleKey};
use crate::content::articles::{
    self, Article, ArticleFilter, ArticleInput, ArticlePatch, Include, IncludePart, ScheduleInput,
    Sort, Status, Transition, WholeArticle, DEFAULT_RELATED, MAX_EXCERPT_CHARS, MAX_RELATED,
};
use crate::content::language::{canonical, LanguageInput};
use crate::content::pagination::PageRequest;
use crate::content::precondition::{EntityState, Write};
use crate::content::slug::Slug;
use crate::db::{DbConn, DbPool};
use crate::error::{AppError, AppResult, Problem};
use crate::http::caching::{article_keys, list_keys, with_surrogate_keys};
use crate::http::conditional::json_with_etag;
use crate::http::extract::{JsonBody, Query};
use crate::http::paths::{PathParam, Segment, Shape};
use crate::http::responses::{BadParameter, SlugTaken};
use crate::http::sparse::{ArticleField, ArticleFields, ListedArticle, ListedArticles};
use crate::http::{connection, with_location, with_next_link, write_connection, API_PREFIX};

/// Filters, sort and paging of article lists.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListArticlesParams {
    /// Only articles in this status (as readers see it now).
    pub status: Option<Status>,
    /// Only articles carrying any of these tags: slugs, comma-separated, at most 20
    /// (empty: no filter).
    #[param(pattern = "^([a-z0-9]+(-[a-z0-9]+)*(,[a-z0-9]+(-[a-z0-9]+)*){0,19})?$")]
    pub tag: Option<String>,
    /// Only articles carrying every one of these tags: slugs, comma-separated, at
    /// most 20.
    #[param(pattern = "^([a-z0-9]+(-[a-z0-9]+)*(,[a-z0-9]+(-[a-z0-9]+)*){0,19})?$")]
    pub tag_all: Option<String>,
    /// Only articles carrying none of these tags: slugs, comma-separated, at most 20.
    #[param(pattern = "^([a-z0-9]+(-[a-z0-9]+)*(,[a-z0-9]+(-[a-z0-9]+)*){0,19})?$")]
    pub tag_none: Option<String>,
    /// Only articles in any of these sections: slugs, comma-separated, at most 20.
    #[param(pattern = "^([a-z0-9]+(-[a-z0-9]+)*(,[a-z0-9]+(-[a-z0-9]+)*){0,19})?$")]
    pub section: Option<String>,
    /// Only articles whose byline names any of these authors: slugs,
    /// comma-separated, at most 20.
    #[param(pattern = "^([a-z0-9]+(-[a-z0-9]+)*(,[a-z0-9]+(-[a-z0-9]+)*){0,19})?$")]
    pub author: Option<String>,
    /// Articles to leave out, by id or slug, comma-separated, at most 50 (e.g. the
    /// article being read, under its "Latest").
    #[param(pattern = "^([a-z0-9]+(-[a-z0-9]+)*(,[a-z0-9]+(-[a-z0-9]+)*){0,49})?$")]
    pub exclude: Option<String>,
    /// Only articles published after this moment (RFC 3339).
    pub published_after: Option<DateTime<Utc>>,
    /// Only articles published before this moment (RFC 3339).
    pub published_before: Option<DateTime<Utc>>,
    /// A search in web-search syntax: words (all of them), `"an exact phrase"`,
    /// `-excluded`, `or` between alternatives; at most 200 characters. Only the
    /// articles found are listed, each with a `snippet`, best match first unless
    /// `sort` says otherwise. Each article is searched in its own language (as it
    /// was indexed); queries of only common words (`the`, `and`) find nothing.
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// Only articles in this language (a BCP 47 tag; `pt` also lists `pt-BR`).
    #[param(value_type = Option<LanguageInput>)]
    pub language: Option<String>,
    /// Sort order; default `relevance` with `q` (which it needs), else
    /// `published_at` (newest first).
    pub sort: Option<Sort>,
    /// Parts to add to each summary (comma-separated). Tags are always there.
    #[param(value_type = Option<Vec<IncludePart>>, style = Form, explode = false, min_items = 1)]
    pub include: Option<String>,
    /// Only these fields of each article (comma-separated; `id` is always there).
    /// Naming a part (`body`, `body_html`, `key_point_lists`, `citations`) includes
    /// it.
    #[param(value_type = Option<Vec<ArticleField>>, style = Form, explode = false, min_items = 1)]
    pub fields: Option<String>,
    /// The longest `excerpt`, in characters.
    #[param(minimum = 1, maximum = 1000, default = 200)]
    pub excerpt_length: Option<u16>,
    /// `exact` adds `total`: how many articles match the filters (over all pages).
    /// It costs a count, so it is never computed unless asked for.
    pub count: Option<CountMode>,
    /// Page size.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    /// Where the page starts: the `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
}

/// Whether a list counts its matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CountMode {
    /// Count every match.
    Exact,
}

/// The most articles `exclude` may name.
const MAX_EXCLUDED: usize = 50;

/// Parts to add to an article.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ArticleParams {
    /// `body_html` adds the rendered body (the rest is always there).
    #[param(value_type = Option<Vec<IncludePart>>, style = Form, explode = false, min_items = 1)]
    pub include: Option<String>,
}

/// The language of an article created without one (`CMS_DEFAULT_LANGUAGE`).
#[derive(Debug, Clone)]
pub struct DefaultLanguage(pub String);

/// How many related articles.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RelatedParams {
    /// How many at most.
    #[param(minimum = 1, maximum = 20, default = 5)]
    pub limit: Option<i64>,
}

/// Articles related to one, best first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RelatedArticles {
    pub items: Vec<Article>,
}

/// One page of articles.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ArticlePage {
    /// Summaries; with `fields`, only the fields named (and `id`).
    #[schema(value_type = Vec<ListedArticle>)]
    pub items: ListedArticles,
    /// Cursor of the next page; `null` on the last page.
    pub next_cursor: Option<String>,
    /// How many articles match the filters, over all pages: only with
    /// `count=exact`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
}

/// Answers a list of articles: shared by `/articles` and `/tags/{tag}/articles`.
pub(crate) async fn list_response(
    req: &HttpRequest,
    conn: &mut DbConn,
    filter: ArticleFilter,
    params: &ListArticlesParams,
) -> AppResult<HttpResponse> {
    let page = PageRequest::parse(params.limit, params.cursor.as_deref())?;
    let fields = ArticleFields::parse(params.fields.as_deref())?;
    let mut include = fields.include(Include::parse(
        Include::default(),
        params.include.as_deref(),
    )?);
    if let Some(chars) = params.excerpt_length {
        if !(1..=MAX_EXCERPT_CHARS).contains(&chars) {
            return Err(AppError::InvalidParameter(format!(
                "excerpt_length must be between 1 and {MAX_EXCERPT_CHARS}"
            )));
        }
        include.excerpt_chars = chars;
    }
    let mut filter = filter.narrowed(
        params.status,
        params.published_after,
        params.published_before,
    )?;
    let any_of = listed_slugs("tag", params.tag.as_deref())?;
    if !any_of.is_empty() {
        filter.tag_groups.push(any_of);
    }
    for slug in listed_slugs("tag_all", params.tag_all.as_deref())? {
        filter.tag_groups.push(vec![slug]);
    }
    filter.tags_none = listed_slugs("tag_none", params.tag_none.as_deref())?;
    let sections = listed_slugs("section", params.section.as_deref())?;
    if !sections.is_empty() {
        filter.section_groups.push(sections);
    }
    let authors = listed_slugs("author", params.author.as_deref())?;
    if !authors.is_empty() {
        filter.author_groups.push(authors);
    }
    filter.exclude = excluded(params.exclude.as_deref())?;
    filter.search = articles::parse_query(params.q.as_deref())?;
    filter.language = params
        .language
        .as_deref()
        .map(|l| {
            canonical(l)
                .map_err(|message| AppError::InvalidParameter(format!("language {message}")))
        })
        .transpose()?;
    let sort = params.sort.unwrap_or(if filter.search.is_some() {
        Sort::RELEVANCE
    } else {
        Sort::NEWEST
    });
    let (items, next_cursor) = articles::list(conn, &filter, sort, include, &page).await?;
    let keys = list_keys(&items);
    let total = match params.count {
        Some(CountMode::Exact) => Some(articles::count(conn, &filter).await?),
        None => None,
    };
    let response = json_with_etag(
        req,
        StatusCode::OK,
        None,
        &ArticlePage {
            items: fields.apply(items)?,
            next_cursor: next_cursor.clone(),
            total,
        },
    )?;
    let response = with_surrogate_keys(response, keys);
    Ok(with_next_link(req, response, next_cursor.as_deref()))
}

/// The most slugs a filter (`tag`, `tag_all`, `tag_none`, `section`) may name: each of
/// `tag_all` is a condition of its own.
const MAX_SLUG_FILTER: usize = 20;

/// Slugs (of tags, or sections) given as `name=a,b`, each once (empty: none).
fn listed_slugs(name: &str, value: Option<&str>) -> AppResult<Vec<String>> {
    let mut slugs: Vec<String> = Vec::new();
    for t in value.unwrap_or("").split(',').filter(|t| !t.is_empty()) {
        let slug = Slug::parse(t).map(Slug::into_string).map_err(|_| {
            AppError::InvalidParameter(format!("{name}: `{}` is not a slug", shown(t)))
        })?;
        if !slugs.contains(&slug) {
            slugs.push(slug);
        }
        if slugs.len() > MAX_SLUG_FILTER {
            return Err(AppError::InvalidParameter(format!(
                "{name}: at most {MAX_SLUG_FILTER} slugs"
            )));
        }
    }
    Ok(slugs)
}

/// A value from the query string as an error message shows it: at most 60
/// characters of it.
fn shown(value: &str) -> String {
    crate::content::markdown::cut_at_word(value, 60)
}

/// The articles `exclude=` names: ids or slugs, comma-separated.
fn excluded(value: Option<&str>) -> AppResult<Vec<ArticleKey>> {
    let keys = value
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(|k| {
            ArticleKey::parse(k).ok_or_else(|| {
                AppError::InvalidParameter(format!(
                    "exclude: `{}` is neither an id nor a slug",
                    shown(k)
                ))
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    if keys.len() > MAX_EXCLUDED {
        return Err(AppError::InvalidParameter(format!(
            "exclude: at most {MAX_EXCLUDED} articles"
        )));
    }
    Ok(keys)
}

/// The `ETag` of an article sent with the parts `include` names.
pub(crate) fn article_tag(article: &Article, include: Include) -> Option<String> {
    Some(article.state().entity_tag(&include.variant()))
}

/// Answers an article read whole (every write's answer) with its `ETag`.
pub(crate) fn whole_article(req: &HttpRequest, article: &Article) -> AppResult<HttpResponse> {
    json_with_etag(
        req,
        StatusCode::OK,
        article_tag(article, Include::WHOLE),
        article,
    )
}

/// The `ETag` that a GET of the whole article answers in `state`, for the answer to
/// a write to one of its parts (a list, a point, a citation, its tags), so that a
/// client can chain writes (`If-Match`) and conditional reads (`If-None-Match`) on
/// it.
fn whole_article_tag(state: &EntityState) -> String {
    state.entity_tag(&Include::WHOLE.variant())
}

/// Answers a write to one of an article's parts: the part's JSON with the `ETag`
/// of the whole article as the write left it.
pub(crate) fn part_written(
    req: &HttpRequest,
    state: &EntityState,
    status: StatusCode,
    part: &impl Serialize,
) -> AppResult<HttpResponse> {
    json_with_etag(req, status, Some(whole_article_tag(state)), part)
}

/// Answers the deletion of one of an article's parts: 204 with the `ETag` of the
/// whole article as the deletion left it.
pub(crate) fn part_deleted(state: &EntityState) -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header((header::ETAG, whole_article_tag(state)))
        .finish()
}

/// List articles
///
/// Summaries (no body unless `include=body`) with their tags, newest first by
/// default, a page at a time.
#[utoipa::path(
    tag = "articles",
    security((), ("bearer" = ["content:read"])),
    params(ListArticlesParams),
    responses(
        (status = 200, description = "A page of articles", body = ArticlePage, headers(
            ("Link" = String, description = "`<url>; rel=\"next\"` when there is a next page"),
            ("Cache-Control" = String, description = "Without a token: `public, max-age=…, s-maxage=…, stale-while-revalidate=…` (`CMS_CACHE_*`); with one: `private, no-store`"),
            ("Vary" = String, description = "Includes `Authorization`"),
            ("Surrogate-Key" = String, description = "`articles` and `article-<id>` of each item, space-separated"),
            ("Cache-Tag" = String, description = "The same keys, comma-separated"),
        )),
        (status = 400, response = BadParameter),
    )
)]
#[get("/articles")]
pub async fn list_articles(
    req: HttpRequest,
    caller: Caller,
    pool: web::Data<DbPool>,
    params: Query<ListArticlesParams>,
) -> AppResult<HttpResponse> {
    let mut conn = connection(&pool).await?;
    let filter = ArticleFilter::for_audience(caller.audience());
    list_response(&req, &mut conn, filter, &params).await
}

fn created(req: &HttpRequest, article: &Article) -> AppResult<HttpResponse> {
    let response = json_with_etag(
        req,
        StatusCode::CREATED,
        article_tag(article, Include::WHOLE),
        article,
    )?;
    Ok(with_location(
        response,
        &format!("{API_PREFIX}/articles/{}", article.id),
    ))
}

/// Create an article
///
/// A whole article in one request: its fields with its key-point lists, citations
/// and tags (by slug or name; unknown names create the tag), in one transaction.
/// The slug is derived from the title unless given. Created as a draft unless
/// `status` says otherwise; `published`/`scheduled` run the publishing check.
#[utoipa::path(
    tag = "articles",
    security(("bearer" = ["content:write"])),
    request_body(content = ArticleInput, content_type = "application/json"),
    responses(
        (status = 201, description = "The article was created", body = WholeArticle, headers(
            ("Location" = String, description = "URL of the new article"),
        )),
        (status = 409, response = SlugTaken),
        (status = 422, description = "A field is not valid, or the publishing check failed",
            body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/articles")]
pub async fn create_article(
    req: HttpRequest,
    write: Write,
    pool: web::Data<DbPool>,
    language: web::Data<DefaultLanguage>,
    body: JsonBody<ArticleInput>,
) -> AppResult<HttpResponse> {
    let input = body.parse().await?;
    let mut conn = write_connection(&req, &pool).await?;
    let article = articles::create(&mut conn, &input, &language.0, &write).await?;
    created(&req, &article)
}

/// Get an article
///
/// By id or slug, whole: with its key-point lists, citations and tags.
/// `include=body_html` adds the rendered body.
#[utoipa::path(
    tag = "articles",
    security((), ("bearer" = ["content:read"])),
    params(ArticlePath, ArticleParams),
    responses(
        (status = 200, description = "The article", body = WholeArticle, headers(
            ("ETag" = String, description = "The article's version and the parts included"),
            ("Cache-Control" = String, description = "Without a token: `public, max-age=…, s-maxage=…, stale-while-revalidate=…` (`CMS_CACHE_*`); with one: `private, no-store`"),
            ("Vary" = String, description = "Includes `Authorization`"),
            ("Surrogate-Key" = String, description = "What the article shows, space-separated: `article-<id>`, `tag-<id>`, `author-<id>`, `section-<id>`, `media-<id>` (purge by these)"),
            ("Cache-Tag" = String, description = "The same keys, comma-separated"),
        )),
        (status = 400, response = BadParameter),
    )
)]
#[get("/articles/{article}")]
pub async fn get_article(
    req: HttpRequest,
    caller: Caller,
    pool: web::Data<DbPool>,
    article: ArticlePath,
    params: Query<ArticleParams>,
) -> AppResult<HttpResponse> {
    let include = Include::parse(Include::WHOLE, params.include.as_deref())?;
    let key = article.key()?;
    let mut conn = connection(&pool).await?;
    let article = articles::find(&mut conn, &key, include, caller.audience()).await?;
    let response = json_with_etag(
        &req,
        StatusCode::OK,
        article_tag(&article, include),
        &article,
    )?;
    Ok(with_surrogate_keys(response, article_keys(&article)))
}

/// Replace an article
///
/// The whole article: fields and every part. Parts left out are emptied; the
/// status stays unless given. Part ids are new afterwards.
#[utoipa::path(
    tag = "articles",
    security(("bearer" = ["content:write"])),
    params(ArticlePath),
    request_body(content = ArticleInput, content_type = "application/json"),
    responses(
        (status = 200, description = "The replaced article", body = WholeArticle),
        (status = 409, response = SlugTaken),
        (status = 422, description = "A field is not valid, or the publishing check failed",
            body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/articles/{article}")]
pub async fn replace_article(
    req: HttpRequest,
    write: Write,
    pool: web::Data<DbPool>,
    article: ArticlePath,
    body: JsonBody<ArticleInput>,
) -> AppResult<HttpResponse> {
    let input = body.parse().await?;
    let key = article.key()?;
    let mut conn = write_connection(&req, &pool).await?;
    let article = articles::replace(&mut conn, &key, &input, &write).await?;
    whole_article(&req, &article)
}

/// Update an article
///
/// Merge semantics: only the fields sent change; `standfirst: null` clears it; a
/// list of parts sent (`key_point_lists`, `citations`, `tags`) replaces that list.
#[utoipa::path(
    tag = "articles",
    security(("bearer" = ["content:write"])),
    params(ArticlePath),
    request_body(content = ArticlePatch, content_type = "application/json"),
    responses(
        (status = 200, description = "The updated article", body = WholeArticle),
        (status = 409, response = SlugTaken),
        (status = 422, description = "A field is not valid, or the publishing check failed",
            body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/articles/{article}")]
pub async fn update_article(
    req: HttpRequest,
    write: Write,
    pool: web::Data<DbPool>,
    article: ArticlePath,
    body: JsonBody<ArticlePatch>,
) -> AppResult<HttpResponse> {
    let input = body.parse().await?;
    let key = article.key()?;
    let mut conn = write_connection(&req, &pool).await?;
    let article = articles::update(&mut conn, &key, &input, &write).await?;
    whole_article(&req, &article)
}

/// Delete an article
///
/// Moves it to the trash, whole (parts, tags, history): gone from every read and
/// list, its slug still taken, until it is restored (`/trash/articles/{article}/restore`)
/// or purged.
#[utoipa::path(
    tag = "articles",
    security(("bearer" = ["content:write"])),
    params(ArticlePath),
    responses(
        (status = 204, description = "The article is in the trash"),
    )
)]
#[delete("/articles/{article}")]
pub async fn delete_article(
    req: HttpRequest,
    write: Write,
    pool: web::Data<DbPool>,
    article: ArticlePath,
) -> AppResult<HttpResponse> {
    let key = article.key()?;
    let mut conn = write_connection(&req, &pool).await?;
    articles::delete(&mut conn, &key, &write).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn transition(
    req: &HttpRequest,
    write: Write,
    pool: &DbPool,
    article: &ArticlePath,
    transition: Transition,
) -> AppResult<HttpResponse> {
    let key = article.key()?;
    let mut conn = write_connection(req, pool).await?;
    let article = articles::transition(&mut conn, &key, transition, &write).await?;
    whole_article(req, &article)
}

/// Publish an article
///
/// Live now (an article that was live keeps its date). Runs the publishing check:
/// every `[n]` in the body needs a citation n; a failing check answers 422 listing
/// the problems and publishes nothing.
#[utoipa::path(
    tag = "articles",
    security(("bearer" = ["content:write"])),
    params(ArticlePath),
    responses(
        (status = 200, description = "The published article", body = WholeArticle),
        (status = 422, description = "The publishing check failed", body = Problem,
            content_type = "application/problem+json"),
    )
)]
#[post("/articles/{article}/publish")]
pub async fn publish_article(
    req: HttpRequest,
    write: Write,
    pool: web::Data<DbPool>,
    article: ArticlePath,
) -> AppResult<HttpResponse> {
    transition(&req, write, &pool, &article, Transition::Publish).await
}

/// Schedule an article
///
/// Live at `published_at`, a moment in the future; until then its status is
/// `scheduled`. No job runs: it is published by the clock. Runs the publishing check.
#[utoipa::path(
    tag = "articles",
    security(("bearer" = ["content:write"])),
    params(ArticlePath),
    request_body(content = ScheduleInput, content_type = "application/json"),
    responses(
        (status = 200, description = "The scheduled article", body = WholeArticle),
        (status = 422, description = "The date is not in the future, or the publishing check failed",
            body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/articles/{article}/schedule")]
pub async fn schedule_article(
    req: HttpRequest,
    write: Write,
    pool: web::Data<DbPool>,
    article: ArticlePath,
    body: JsonBody<ScheduleInput>,
) -> AppResult<HttpResponse> {
    let input = body.parse().await?;
    transition(
        &req,
        write,
        &pool,
        &article,
        Transition::Schedule(input.published_at),
    )
    .await
}

/// Unpublish an article
///
/// Back to draft; its publication date is cleared.
#[utoipa::path(
    tag = "articles",
    security(("bearer" = ["content:write"])),
    params(ArticlePath),
    responses(
        (status = 200, description = "The article, now a draft", body = WholeArticle),
    )
)]
#[post("/articles/{article}/unpublish")]
pub async fn unpublish_article(
    req: HttpRequest,
    write: Write,
    pool: web::Data<DbPool>,
    article: ArticlePath,
) -> AppResult<HttpResponse> {
    transition(&req, write, &pool, &article, Transition::Unpublish).await
}

/// Archive an article
///
/// Out of circulation; its publication date is kept.
#[utoipa::path(
    tag = "articles",
    security(("bearer" = ["content:write"])),
    params(ArticlePath),
    responses(
        (status = 200, description = "The archived article", body = WholeArticle),
    )
)]
#[post("/articles/{article}/archive")]
pub async fn archive_article(
    req: HttpRequest,
    write: Write,
    pool: web::Data<DbPool>,
    article: ArticlePath,
) -> AppResult<HttpResponse> {
    transition(&req, write, &pool, &article, Transition::Archive).await
}

/// Related articles ("Read also")
///
/// Other published articles that share the article's tags (a rare tag counts more
/// than a common one) or the words of its title, best first, then newest. Never
/// the article itself, nor an unpublished, scheduled or deleted one, whoever asks.
/// Articles with nothing in common with it are not listed.
#[utoipa::path(
    tag = "articles",
    security((), ("bearer" = ["content:read"])),
    params(ArticlePath, RelatedParams),
    responses(
        (status = 200, description = "The related articles, summaries with their tags", body = RelatedArticles),
        (status = 400, response = BadParameter),
    )
)]
#[get("/articles/{article}/related")]
pub async fn related_articles(
    req: HttpRequest,
    caller: Caller,
    pool: web::Data<DbPool>,
    article: ArticlePath,
    params: Query<RelatedParams>,
) -> AppResult<HttpResponse> {
    let limit = params.limit.unwrap_or(DEFAULT_RELATED);
    if !(1..=MAX_RELATED).contains(&limit) {
        return Err(AppError::InvalidParameter(format!(
            "limit must be between 1 and {MAX_RELATED}"
        )));
    }
    let key = article.key()?;
    let mut conn = connection(&pool).await?;
    let items = articles::related(&mut conn, &key, caller.audience(), limit).await?;
    json_with_etag(&req, StatusCode::OK, None, &RelatedArticles { items })
}

/// `{article}`: an article's id or slug.
pub struct ArticleSegment;
pub type ArticlePath = PathParam<ArticleSegment>;

impl Segment for ArticleSegment {
    const NAME: &'static str = "article";
    const DESCRIPTION: &'static str = "The article's id or slug";
    const NOT_FOUND: &'static str = "No article has this id or slug";
    const SHAPE: Shape = Shape::IdOrSlug;
    type Key = ArticleKey;
    fn parse(value: &str) -> AppResult<ArticleKey> {
        article_access::parse_key(value)
    }
}
