// @generated automatically by Diesel CLI.

pub mod sql_types {
    #[derive(diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "tsvector", schema = "pg_catalog"))]
    pub struct Tsvector;
}

diesel::table! {
    api_tokens (id) {
        id -> Uuid,
        name -> Text,
        prefix -> Text,
        secret_hash -> Bytea,
        scopes -> Array<Nullable<Text>>,
        created_at -> Timestamptz,
        expires_at -> Nullable<Timestamptz>,
        last_used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    article_authors (article_id, author_id) {
        article_id -> Uuid,
        author_id -> Uuid,
        position -> Int4,
    }
}

diesel::table! {
    article_media (article_id, media_id) {
        article_id -> Uuid,
        media_id -> Uuid,
    }
}

diesel::table! {
    article_revisions (article_id, version) {
        article_id -> Uuid,
        version -> Int4,
        created_at -> Timestamptz,
        created_by -> Nullable<Uuid>,
        snapshot -> Jsonb,
    }
}

diesel::table! {
    article_tags (article_id, tag_id) {
        article_id -> Uuid,
        tag_id -> Uuid,
        position -> Int4,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Tsvector;

    articles (id) {
        id -> Uuid,
        slug -> Text,
        title -> Text,
        standfirst -> Nullable<Text>,
        body -> Text,
        status -> Text,
        published_at -> Nullable<Timestamptz>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        created_by -> Nullable<Uuid>,
        updated_by -> Nullable<Uuid>,
        body_html -> Nullable<Text>,
        trashed_at -> Nullable<Timestamptz>,
        trashed_by -> Nullable<Uuid>,
        pending_for -> Nullable<Uuid>,
        pending_publish_at -> Nullable<Timestamptz>,
        pending_base_version -> Nullable<Int4>,
        language -> Text,
        search_document -> Nullable<Tsvector>,
        lead_text -> Nullable<Text>,
        word_count -> Nullable<Int4>,
        section_id -> Nullable<Uuid>,
        seo -> Jsonb,
        translation_group -> Nullable<Uuid>,
        lead_image_id -> Nullable<Uuid>,
        lead_image_caption -> Nullable<Text>,
        lead_image_credit -> Nullable<Text>,
        announce_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    authors (id) {
        id -> Uuid,
        slug -> Text,
        name -> Text,
        bio -> Nullable<Text>,
        links -> Jsonb,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        created_by -> Nullable<Uuid>,
        updated_by -> Nullable<Uuid>,
        avatar_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    citations (id) {
        id -> Uuid,
        article_id -> Uuid,
        number -> Int4,
        title -> Text,
        publisher -> Nullable<Text>,
        url -> Nullable<Text>,
        author -> Nullable<Text>,
        published_on -> Nullable<Date>,
        quote -> Nullable<Text>,
    }
}

diesel::table! {
    events (seq) {
        seq -> Int8,
        id -> Uuid,
        #[sql_name = "type"]
        type_ -> Text,
        resource_type -> Text,
        resource_id -> Uuid,
        slug -> Text,
        version -> Nullable<Int4>,
        public -> Bool,
        was_public -> Bool,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    idempotency_keys (scope, key) {
        scope -> Bytea,
        key -> Text,
        method -> Text,
        path -> Text,
        request_hash -> Bytea,
        response_status -> Nullable<Int2>,
        response_headers -> Nullable<Jsonb>,
        response_body -> Nullable<Bytea>,
        created_at -> Timestamptz,
        locked_until -> Timestamptz,
        outcome_unknown -> Bool,
    }
}

diesel::table! {
    key_point_lists (id) {
        id -> Uuid,
        article_id -> Uuid,
        position -> Int4,
        title -> Text,
    }
}

diesel::table! {
    key_points (id) {
        id -> Uuid,
        list_id -> Uuid,
        position -> Int4,
        text -> Text,
    }
}

diesel::table! {
    media (id) {
        id -> Uuid,
        sha256 -> Text,
        content_type -> Text,
        width -> Int4,
        height -> Int4,
        size_bytes -> Int8,
        alt -> Nullable<Text>,
        caption -> Nullable<Text>,
        credit -> Nullable<Text>,
        focal_x -> Float4,
        focal_y -> Float4,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        created_by -> Nullable<Uuid>,
        updated_by -> Nullable<Uuid>,
    }
}

diesel::table! {
    sections (id) {
        id -> Uuid,
        slug -> Text,
        name -> Text,
        description -> Nullable<Text>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        created_by -> Nullable<Uuid>,
        updated_by -> Nullable<Uuid>,
    }
}

diesel::table! {
    server_secrets (name) {
        name -> Text,
        secret -> Bytea,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    tags (id) {
        id -> Uuid,
        slug -> Text,
        name -> Text,
        description -> Nullable<Text>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        created_by -> Nullable<Uuid>,
        updated_by -> Nullable<Uuid>,
    }
}

diesel::table! {
    webhook_attempts (delivery_id, number) {
        delivery_id -> Uuid,
        number -> Int4,
        attempted_at -> Timestamptz,
        status_code -> Nullable<Int4>,
        latency_ms -> Int4,
        response_excerpt -> Nullable<Text>,
        error -> Nullable<Text>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Uuid,
        webhook_id -> Uuid,
        event_seq -> Int8,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        retry_from -> Timestamptz,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Uuid,
        url -> Text,
        events -> Array<Nullable<Text>>,
        active -> Bool,
        secret -> Text,
        description -> Nullable<Text>,
        failed_in_a_row -> Int4,
        disabled_reason -> Nullable<Text>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(article_authors -> articles (article_id));
diesel::joinable!(article_authors -> authors (author_id));
diesel::joinable!(article_media -> articles (article_id));
diesel::joinable!(article_media -> media (media_id));
diesel::joinable!(article_revisions -> articles (article_id));
diesel::joinable!(article_tags -> articles (article_id));
diesel::joinable!(article_tags -> tags (tag_id));
diesel::joinable!(articles -> media (lead_image_id));
diesel::joinable!(articles -> sections (section_id));
diesel::joinable!(authors -> media (avatar_id));
diesel::joinable!(citations -> articles (article_id));
diesel::joinable!(key_point_lists -> articles (article_id));
diesel::joinable!(key_points -> key_point_lists (list_id));
diesel::joinable!(webhook_attempts -> webhook_deliveries (delivery_id));
diesel::joinable!(webhook_deliveries -> events (event_seq));
diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));

diesel::allow_tables_to_appear_in_same_query!(
    api_tokens,
    article_authors,
    article_media,
    article_revisions,
    article_tags,
    articles,
    authors,
    citations,
    events,
    idempotency_keys,
    key_point_lists,
    key_points,
    media,
    sections,
    server_secrets,
    tags,
    webhook_attempts,
    webhook_deliveries,
    webhooks,
);
