use app::domain::TenantSlug;
use axum::extract::Query;
use axum::response::Redirect;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct FindOrgQuery {
    slug: Option<String>,
}

/// `GET /o?slug=acme` → 303 to `/o/acme`: the start page's form before the SPA has hydrated.
pub async fn find_org(Query(query): Query<FindOrgQuery>) -> Redirect {
    match query
        .slug
        .as_deref()
        .map(|slug| TenantSlug::parse(slug.trim()))
    {
        Some(Ok(slug)) => Redirect::to(&format!("/o/{slug}")),
        _ => Redirect::to("/"),
    }
}
