//! All routes, declared in one place. One module per resource.

mod capture;
mod events;
mod queries;
mod site;

use axum::Router;
use axum::routing::get;

use crate::AppState;
use crate::error::ApiError;

/// Every route this server answers (also listed in the OpenAPI document; a test checks both agree).
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(crate::api::router())
        .route("/", get(site::home))
        .route("/health", get(site::health))
        .route("/openapi.json", get(site::openapi))
        .route("/epcis", get(site::top_level))
        .route(
            "/epcis/capture",
            get(capture::list_jobs)
                .post(capture::capture)
                .options(capture::options),
        )
        .route("/epcis/capture/{id}", get(capture::get_job))
        .route(
            "/epcis/events",
            get(events::events).post(capture::post_event),
        )
        .route("/epcis/events/{event_id}", get(events::event_by_id))
        .route("/epcis/eventTypes", get(events::vocabulary_list))
        .route("/epcis/eventTypes/{value}", get(events::sub_resources))
        .route(
            "/epcis/eventTypes/{value}/events",
            get(events::vocabulary_events),
        )
        .route("/epcis/epcs", get(events::vocabulary_list))
        .route("/epcis/epcs/{value}", get(events::sub_resources))
        .route("/epcis/epcs/{value}/events", get(events::vocabulary_events))
        .route("/epcis/bizSteps", get(events::vocabulary_list))
        .route("/epcis/bizSteps/{value}", get(events::sub_resources))
        .route(
            "/epcis/bizSteps/{value}/events",
            get(events::vocabulary_events),
        )
        .route("/epcis/bizLocations", get(events::vocabulary_list))
        .route("/epcis/bizLocations/{value}", get(events::sub_resources))
        .route(
            "/epcis/bizLocations/{value}/events",
            get(events::vocabulary_events),
        )
        .route("/epcis/readPoints", get(events::vocabulary_list))
        .route("/epcis/readPoints/{value}", get(events::sub_resources))
        .route(
            "/epcis/readPoints/{value}/events",
            get(events::vocabulary_events),
        )
        .route("/epcis/dispositions", get(events::vocabulary_list))
        .route("/epcis/dispositions/{value}", get(events::sub_resources))
        .route(
            "/epcis/dispositions/{value}/events",
            get(events::vocabulary_events),
        )
        .route("/epcis/queries", get(queries::list).post(queries::create))
        .route(
            "/epcis/queries/{name}",
            get(queries::get).delete(queries::delete),
        )
        .route("/epcis/queries/{name}/events", get(queries::events))
        .fallback(not_found)
}

async fn not_found() -> ApiError {
    ApiError::NoSuchResource("no such resource".into())
}
