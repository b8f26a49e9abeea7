//! hash module (owned by its workstream).
