//! The only crate that knows HTTP: EPCIS REST bindings and zhiliang API, auth, problem+json, OpenAPI
