//! Admin: waits for the core admin client.
