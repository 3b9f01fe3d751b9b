//! OpenAPI links: from a created resource to what can be done with it next, so that
//! a client (or the docs page) can follow the id a `201` answers into the next call.

use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa::openapi::RefOr;

/// The article a sub-resource write was addressed to.
const ARTICLE_IN_PATH: &str = "$request.path.article";
/// The id of what the response created.
const CREATED_ID: &str = "$response.body#/id";

/// A link: its name, the operation it leads to, and that operation's path
/// parameters with where their values come from.
type Link = (
    &'static str,
    &'static str,
    Vec<(&'static str, &'static str)>,
);

/// For each creating operation, the links of its `201`.
fn links() -> Vec<(&'static str, Vec<Link>)> {
    let article =
        |target: &'static str, name: &'static str| (name, target, vec![("article", CREATED_ID)]);
    vec![
        (
            "create_article",
            vec![
                article("get_article", "GetArticle"),
                article("update_article", "UpdateArticle"),
                article("publish_article", "PublishArticle"),
                article("list_key_point_lists", "ListKeyPointLists"),
                article("add_key_point_list", "AddKeyPointList"),
                article("list_citations", "ListCitations"),
                article("add_citation", "AddCitation"),
                article("list_article_tags", "ListArticleTags"),
            ],
        ),
        (
            "add_key_point_list",
            vec![
                (
                    "GetKeyPointList",
                    "get_key_point_list",
                    vec![("article", ARTICLE_IN_PATH), ("list", CREATED_ID)],
                ),
                (
                    "AddKeyPoint",
                    "add_key_point",
                    vec![("article", ARTICLE_IN_PATH), ("list", CREATED_ID)],
                ),
                (
                    "UpdateKeyPointList",
                    "update_key_point_list",
                    vec![("article", ARTICLE_IN_PATH), ("list", CREATED_ID)],
                ),
                (
                    "DeleteKeyPointList",
                    "delete_key_point_list",
                    vec![("article", ARTICLE_IN_PATH), ("list", CREATED_ID)],
                ),
            ],
        ),
        (
            "add_key_point",
            ["update_key_point", "delete_key_point"]
                .into_iter()
                .zip(["UpdateKeyPoint", "DeleteKeyPoint"])
                .map(|(target, name)| {
                    (
                        name,
                        target,
                        vec![
                            ("article", ARTICLE_IN_PATH),
                            ("list", "$request.path.list"),
                            ("point", CREATED_ID),
                        ],
                    )
                })
                .collect(),
        ),
        (
            "add_citation",
            ["get_citation", "update_citation", "delete_citation"]
                .into_iter()
                .zip(["GetCitation", "UpdateCitation", "DeleteCitation"])
                .map(|(target, name)| {
                    (
                        name,
                        target,
                        vec![("article", ARTICLE_IN_PATH), ("citation", CREATED_ID)],
                    )
                })
                .collect(),
        ),
        (
            "create_tag",
            vec![
                ("GetTag", "get_tag", vec![("tag", CREATED_ID)]),
                (
                    "ListTagArticles",
                    "list_tag_articles",
                    vec![("tag", CREATED_ID)],
                ),
            ],
        ),
        (
            "create_token",
            vec![("GetToken", "get_token", vec![("token", CREATED_ID)])],
        ),
    ]
}

/// Adds the links to the `201` of each creating operation.
pub(super) fn add(api: &mut OpenApiDoc) {
    let links = links();
    for item in api.paths.paths.values_mut() {
        let Some(operation) = item.post.as_mut() else {
            continue;
        };
        let Some(id) = operation.operation_id.as_deref() else {
            continue;
        };
        let Some((_, targets)) = links.iter().find(|(source, _)| *source == id) else {
            continue;
        };
        let Some(RefOr::T(created)) = operation.responses.responses.get_mut("201") else {
            continue;
        };
        for (name, target, parameters) in targets {
            let link = parameters
                .iter()
                .fold(LinkBuilder::new().operation_id(*target), |link, (p, v)| {
                    link.parameter(*p, *v)
                })
                .build();
            created.links.insert((*name).to_string(), RefOr::T(link));
        }
    }
}
