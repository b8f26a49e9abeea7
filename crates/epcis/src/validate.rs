//! validate module (owned by its workstream).
