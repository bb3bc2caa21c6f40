//! Component dependencies (`[component.X.dependencies]`), composed at load
//! time with wac-graph the way Spin's composer (`spin-compose`) does it:
//! every dependency is instantiated once, each import of the component that
//! a dependency name matches is satisfied by the dependency's export of the
//! same name, and the component's exports are re-exported.
//!
//! With `dependencies_inherit_configuration = true` a dependency runs with
//! the parent's grants (SQLite, variables, outbound hosts, ...), as in Spin.
//! Without it, Spin wraps the dependency in a deny-all adapter; the runner
//! does not implement that adapter, so it refuses a dependency that imports
//! any Spin interface or outgoing HTTP rather than run it with grants it
//! should not have.

use std::collections::{BTreeMap, HashSet};

use wac_graph::types::{Package, SubtypeChecker};
use wac_graph::{CompositionGraph, EncodeOptions};
use wasmtime::{Result, bail, format_err};

use crate::manifest::{ComponentDecl, kebab_id};

fn wac_err(e: impl std::fmt::Display) -> wasmtime::Error {
    format_err!("{e:#}")
}

/// Imports that need a grant, and so need configuration inheritance.
fn needs_grants(import: &str) -> bool {
    import.starts_with("fermyon:spin/")
        || import.starts_with("spin:")
        || import.starts_with("wasi:http/outgoing-handler")
        || import.starts_with("wasi:keyvalue/")
        || import.starts_with("wasi:config/")
}

/// Returns the component's bytes with its dependencies plugged in.
pub fn compose(component: &ComponentDecl, bytes: Vec<u8>) -> Result<Vec<u8>> {
    if component.dependencies.is_empty() {
        return Ok(bytes);
    }
    let id = &component.id;
    let mut graph = CompositionGraph::new();
    let root_name = if kebab_id(id).is_ok() {
        id.clone()
    } else {
        "root".to_string()
    };
    let pkg = Package::from_bytes(&root_name, None, bytes, graph.types_mut())
        .map_err(|e| format_err!("component {id:?}: {}", wac_err(e)))?;
    let world = pkg.ty();
    let root_pkg = graph.register_package(pkg).map_err(wac_err)?;
    let root = graph.instantiate(root_pkg);
    let imports: Vec<String> = graph.types()[world].imports.keys().cloned().collect();

    // import name -> index of the dependency that satisfies it
    let mut mapping: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, dep) in component.dependencies.iter().enumerate() {
        let matched: Vec<&String> = imports
            .iter()
            .filter(|name| dep.name.matches_import(name))
            .collect();
        if matched.is_empty() {
            bail!(
                "dependency {:?} doesn't match any imports of component {id:?}",
                dep.key
            );
        }
        for m in matched {
            mapping.entry(m.clone()).or_default().push(i);
        }
    }
    for (import, deps) in &mapping {
        if deps.len() > 1 {
            let names: Vec<&str> = deps
                .iter()
                .map(|&i| component.dependencies[i].key.as_str())
                .collect();
            bail!(
                "component {id:?} has dependency conflicts: import {import:?} satisfied by dependencies: {}",
                names.join(", ")
            );
        }
    }

    // Register and instantiate each dependency.
    let mut registered = HashSet::new();
    let mut instances = Vec::new();
    for dep in &component.dependencies {
        let dep_bytes = std::fs::read(&dep.path).map_err(|e| {
            format_err!(
                "component {id:?}: cannot read dependency {:?} at {}: {e}",
                dep.key,
                dep.path.display()
            )
        })?;
        let package_name = match &dep.name {
            crate::manifest::DependencyName::Package { package, .. } => package.clone(),
            crate::manifest::DependencyName::Plain(p) => p.clone(),
        };
        if !registered.insert(package_name.clone()) {
            bail!(
                "component {id:?}: more than one dependency from package {package_name:?}; \
                 declare one dependency for the whole package (e.g. \"{package_name}\" = {{ path = ... }})"
            );
        }
        let dpkg = Package::from_bytes(&package_name, None, dep_bytes, graph.types_mut()).map_err(
            |e| {
                format_err!(
                    "component {id:?}: dependency {:?} ({}): {}",
                    dep.key,
                    dep.path.display(),
                    wac_err(e)
                )
            },
        )?;
        let dworld = dpkg.ty();
        if !component.dependencies_inherit_configuration {
            let needs: Vec<&String> = graph.types()[dworld]
                .imports
                .keys()
                .filter(|i| needs_grants(i))
                .collect();
            if let Some(first) = needs.first() {
                bail!(
                    "component {id:?}: dependency {:?} imports {first:?}, which needs the component's \
                     configuration; the authrim runner only supports this with \
                     `dependencies_inherit_configuration = true` (Spin's deny-all adapter is not implemented)",
                    dep.key
                );
            }
        }
        let dpkg_id = graph.register_package(dpkg).map_err(wac_err)?;
        let inst = graph.instantiate(dpkg_id);
        instances.push((inst, dworld));
    }

    // Plug each matched import with the dependency's export of that name.
    let mut cache = Default::default();
    let mut args = Vec::new();
    {
        let mut checker = SubtypeChecker::new(&mut cache);
        for (import, deps) in &mapping {
            let i = deps[0];
            let dep = &component.dependencies[i];
            let (inst, dworld) = instances[i];
            let types = graph.types();
            let Some(export_ty) = types[dworld].exports.get(import) else {
                bail!(
                    "dependency {:?} doesn't export {import:?} to satisfy import {import:?}",
                    dep.key
                );
            };
            let import_ty = types[world].imports[import];
            checker
                .is_subtype(*export_ty, types, import_ty, types)
                .map_err(|e| {
                    format_err!(
                        "dependency {:?} exports {import:?} which is not compatible with import {import:?}: {}",
                        dep.key,
                        wac_err(e)
                    )
                })?;
            args.push((import.clone(), inst));
        }
    }
    for (import, inst) in args {
        let node = graph
            .alias_instance_export(inst, &import)
            .map_err(wac_err)?;
        graph
            .set_instantiation_argument(root, &import, node)
            .map_err(wac_err)?;
    }

    let exports: Vec<String> = graph.types()[world].exports.keys().cloned().collect();
    for name in exports {
        let node = graph.alias_instance_export(root, &name).map_err(wac_err)?;
        graph.export(node, &name).map_err(wac_err)?;
    }
    graph.encode(EncodeOptions::default()).map_err(|e| {
        format_err!(
            "component {id:?}: failed to encode composition: {}",
            wac_err(e)
        )
    })
}
