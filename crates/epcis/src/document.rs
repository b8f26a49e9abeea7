//! document module (owned by its workstream).
