//! The embedded SQLite store (default backend)
