//! Lineage graph, forward and backward trace, recall scope (pure over the store trait)
