//! The PostgreSQL store (many servers, one database; Citus-ready)
