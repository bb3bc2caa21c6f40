//! `authrim`: the project runner, a Spin-compatible host for the Authrim
//! app built on wasmtime. It runs the same `.wasm` artifacts as Spin 3/4
//! (spin-sdk 5.x, WASI 0.2) and offers nothing Spin does not.
//!
//! Modules, bottom up: [`manifest`] and [`runtime_config`] read the app's
//! files; [`variables`], [`allowed_hosts`] and [`routes`] are the pure rules;
//! [`db`] and [`host`] implement the host interfaces; [`compose`] plugs
//! component dependencies; [`engine`] compiles; [`app`] loads an app;
//! [`server`] serves it; [`migrations`] and [`admin`] back the CLI ([`cli`]).

pub mod accounts;
pub mod admin;
pub mod allowed_hosts;
pub mod app;
pub mod cli;
pub mod compose;
pub mod db;
pub mod engine;
pub mod host;
pub mod manifest;
pub mod migrations;
pub mod routes;
pub mod runtime_config;
pub mod server;
pub mod variables;

#[cfg(test)]
mod testutil;
