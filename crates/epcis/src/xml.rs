//! xml module (owned by its workstream).
