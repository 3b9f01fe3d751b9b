// @generated-style Diesel table definitions; keep in step with migrations/.

diesel::table! {
    tags (id) {
        id -> Uuid,
        slug -> Text,
        name -> Text,
        description -> Nullable<Text>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}
