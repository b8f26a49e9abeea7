//! `/api` routes: recall.

use axum::Router;
use serde_json::{Map, Value};

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
}

pub fn openapi_paths(_paths: &mut Map<String, Value>) {}
