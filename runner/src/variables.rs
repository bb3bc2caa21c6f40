//! Application variables, resolved like Spin resolves them: from the
//! environment (`SPIN_VARIABLE_<NAME>`, Spin's env provider) and then the
//! manifest default. Component variables are templates over application
//! variables (`"{{ issuer }}/x"`).
//!
//! Values of variables marked `secret = true` are never logged; in fact the
//! runner logs no variable values at all, and `Debug` redacts them.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use wasmtime::{Result, format_err};

use crate::manifest::VariableDecl;

/// Spin's variable-name rule (`spin_expressions::Key::validate`).
pub fn validate_variable_name(key: &str) -> std::result::Result<(), String> {
    let reason = if key.is_empty() {
        "must not be empty".to_string()
    } else if let Some(c) = key
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_'))
    {
        format!(
            "invalid character {c:?}. Variable names may contain only lower-case letters, numbers, and underscores."
        )
    } else if !key.as_bytes()[0].is_ascii_lowercase() {
        "must start with a lowercase ASCII letter".to_string()
    } else if !key.as_bytes()[key.len() - 1].is_ascii_alphanumeric() {
        "must end with a lowercase ASCII letter or digit".to_string()
    } else if key.contains("__") {
        "must not contain multiple consecutive underscores".to_string()
    } else {
        return Ok(());
    };
    Err(format!("{key:?}: {reason}"))
}

/// A value template: literal text with `{{ variable }}` expressions.
#[derive(Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Lit(String),
    Expr(String),
}

impl Template {
    /// Parses a template the way `spin_expressions::Template::new` does.
    pub fn parse(template: &str) -> std::result::Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = template;
        while !rest.is_empty() {
            if let Some(expr_rest) = rest.strip_prefix("{{") {
                let Some((expr, after)) = expr_rest.split_once("}}") else {
                    return Err("invalid variable template: unmatched '{{' in template".into());
                };
                parts.push(Part::Expr(expr.trim().to_string()));
                rest = after;
            } else if let Some(idx) = rest.find("{{") {
                parts.push(Part::Lit(rest[..idx].to_string()));
                rest = &rest[idx..];
            } else {
                parts.push(Part::Lit(rest.to_string()));
                rest = "";
            }
        }
        Ok(Self { parts })
    }

    /// The application variables the template refers to.
    pub fn referenced(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Expr(e) => Some(e.as_str()),
            Part::Lit(_) => None,
        })
    }

    pub fn is_literal(&self) -> bool {
        self.referenced().next().is_none()
    }

    /// Renders the template with resolved application variables.
    pub fn render(&self, vars: &AppVariables) -> Result<String> {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(l) => out.push_str(l),
                Part::Expr(e) => out.push_str(
                    vars.get(e)
                        .ok_or_else(|| format_err!("unknown variable {e:?}"))?,
                ),
            }
        }
        Ok(out)
    }
}

impl fmt::Debug for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.parts {
            match p {
                Part::Lit(l) => f.write_str(l)?,
                Part::Expr(e) => write!(f, "{{{{ {e} }}}}")?,
            }
        }
        Ok(())
    }
}

/// Resolved application variables.
#[derive(Clone, Default)]
pub struct AppVariables {
    values: BTreeMap<String, String>,
    secret: BTreeSet<String>,
}

impl fmt::Debug for AppVariables {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print values: some are secrets, and all may be sensitive.
        f.debug_set().entries(self.values.keys()).finish()
    }
}

impl AppVariables {
    /// Resolves every declared variable: `env(SPIN_VARIABLE_<NAME>)` first,
    /// then the default. A `required` variable without a value is an error
    /// naming the variable (never its value).
    pub fn resolve(
        decls: &BTreeMap<String, VariableDecl>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self> {
        let mut values = BTreeMap::new();
        let mut secret = BTreeSet::new();
        let mut missing = Vec::new();
        for (name, decl) in decls {
            let env_name = env_var_name(name);
            let value = env(&env_name).or_else(|| decl.default.clone());
            match value {
                Some(v) => {
                    values.insert(name.clone(), v);
                }
                None => missing.push(format!("{name} (set {env_name})")),
            }
            if decl.secret {
                secret.insert(name.clone());
            }
        }
        if !missing.is_empty() {
            return Err(format_err!(
                "required variable(s) have no value: {}",
                missing.join(", ")
            ));
        }
        Ok(Self { values, secret })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    pub fn is_secret(&self, name: &str) -> bool {
        self.secret.contains(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }
}

/// `issuer` -> `SPIN_VARIABLE_ISSUER` (Spin's env provider).
pub fn env_var_name(name: &str) -> String {
    format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase())
}

/// The variables one component sees, already rendered.
#[derive(Clone, Default)]
pub struct ComponentVariables {
    component_id: String,
    values: BTreeMap<String, String>,
}

impl fmt::Debug for ComponentVariables {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ComponentVariables")
            .field("component_id", &self.component_id)
            .field("names", &self.values.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Errors of `fermyon:spin/variables.get`, as Spin maps them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GetError {
    InvalidName(String),
    Undefined(String),
}

impl ComponentVariables {
    pub fn new(
        component_id: &str,
        templates: &BTreeMap<String, Template>,
        vars: &AppVariables,
    ) -> Result<Self> {
        let mut values = BTreeMap::new();
        for (name, t) in templates {
            values.insert(name.clone(), t.render(vars)?);
        }
        Ok(Self {
            component_id: component_id.to_string(),
            values,
        })
    }

    /// Every application variable under its own name (what the op-store
    /// gets when the runner instantiates it for admin commands).
    pub fn all_of(component_id: &str, vars: &AppVariables) -> Self {
        Self {
            component_id: component_id.to_string(),
            values: vars.values.clone(),
        }
    }

    pub fn get(&self, name: &str) -> std::result::Result<String, GetError> {
        validate_variable_name(name).map_err(GetError::InvalidName)?;
        self.values.get(name).cloned().ok_or_else(|| {
            GetError::Undefined(format!("no variable for {:?}.{name:?}", self.component_id))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decl(default: Option<&str>, required: bool, secret: bool) -> VariableDecl {
        VariableDecl {
            default: default.map(str::to_string),
            required,
            secret,
            description: None,
        }
    }

    #[test]
    fn templates_parse_and_render() {
        let mut decls = BTreeMap::new();
        decls.insert("issuer".to_string(), decl(Some("http://d"), false, false));
        decls.insert("port".to_string(), decl(Some("3000"), false, false));
        let vars = AppVariables::resolve(&decls, |_| None).unwrap();
        let cases = [
            ("", ""),
            ("plain", "plain"),
            ("{{ issuer }}", "http://d"),
            ("{{issuer}}", "http://d"),
            ("{{ issuer }}/jwks", "http://d/jwks"),
            ("a-{{ issuer }}-b", "a-http://d-b"),
            ("{{ issuer }}:{{ port }}", "http://d:3000"),
            ("}} not an expr", "}} not an expr"),
        ];
        for (t, want) in cases {
            let tmpl = Template::parse(t).unwrap();
            assert_eq!(tmpl.render(&vars).unwrap(), want, "template {t:?}");
        }
        assert!(Template::parse("{{ matched }} {{ unmatched").is_err());
        assert!(
            Template::parse("{{ nope }}")
                .unwrap()
                .render(&vars)
                .is_err()
        );
        assert!(Template::parse("x").unwrap().is_literal());
        assert_eq!(
            Template::parse("{{ a }}{{ b }}")
                .unwrap()
                .referenced()
                .collect::<Vec<_>>(),
            vec!["a", "b"]
        );
    }

    #[test]
    fn env_beats_default_and_required_is_enforced() {
        let mut decls = BTreeMap::new();
        decls.insert("issuer".to_string(), decl(Some("http://d"), false, false));
        decls.insert("master_key".to_string(), decl(None, true, true));
        let env = |k: &str| match k {
            "SPIN_VARIABLE_ISSUER" => Some("http://env".to_string()),
            "SPIN_VARIABLE_MASTER_KEY" => Some("s3cret".to_string()),
            _ => None,
        };
        let vars = AppVariables::resolve(&decls, env).unwrap();
        assert_eq!(vars.get("issuer"), Some("http://env"));
        assert_eq!(vars.get("master_key"), Some("s3cret"));
        assert!(vars.is_secret("master_key"));
        assert!(!format!("{vars:?}").contains("s3cret"));

        let err = AppVariables::resolve(&decls, |_| None).unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("master_key"), "{msg}");
        assert!(msg.contains("SPIN_VARIABLE_MASTER_KEY"), "{msg}");
    }

    #[test]
    fn component_get_maps_errors_like_spin() {
        let mut decls = BTreeMap::new();
        decls.insert("issuer".to_string(), decl(Some("http://d"), false, false));
        let vars = AppVariables::resolve(&decls, |_| None).unwrap();
        let mut t = BTreeMap::new();
        t.insert(
            "jwks".to_string(),
            Template::parse("{{ issuer }}/jwks").unwrap(),
        );
        let cv = ComponentVariables::new("c", &t, &vars).unwrap();
        assert_eq!(cv.get("jwks").unwrap(), "http://d/jwks");
        assert!(matches!(cv.get("issuer"), Err(GetError::Undefined(_))));
        assert!(matches!(cv.get("Bad"), Err(GetError::InvalidName(_))));
        assert!(matches!(cv.get("a__b"), Err(GetError::InvalidName(_))));
        assert!(matches!(cv.get(""), Err(GetError::InvalidName(_))));
    }

    #[test]
    fn variable_names_follow_spin_rules() {
        for ok in ["a", "issuer", "master_key", "a1", "a_1"] {
            assert!(validate_variable_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "A", "1a", "a-b", "a_", "a__b", "_a"] {
            assert!(validate_variable_name(bad).is_err(), "{bad}");
        }
    }
}
