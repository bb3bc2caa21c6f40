//! Native tests of the endpoints over the in-memory store.

mod introspection_test;
mod registration_test;
mod revocation_test;
