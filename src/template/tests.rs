//! The library's texts: each takes apart, names its scheme after itself, compiles when added to
//! the shipped config.toml, marks what to adapt; the seeds are the text config.toml ships.

use std::path::Path;

use super::*;

const SHIPPED: &str = include_str!("../../config.toml");

#[test]
fn every_template_takes_apart_and_is_named_after_its_scheme() {
    let mut names = std::collections::BTreeSet::new();
    for t in LIBRARY {
        let p = t.parts().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.scheme_name, t.name, "template {}", t.name);
        assert!(names.insert(t.name), "two templates named {}", t.name);
        assert!(
            t.text.contains("ADAPT"),
            "template {} marks nothing to adapt",
            t.name
        );
        assert!(!t.title.is_empty());
        assert!(p.scheme.contains("[[scheme]]"));
    }
}

#[test]
fn the_seeds_are_the_text_config_toml_ships() {
    for name in ["shops-to-stocks", "offline-returns"] {
        let p = find(name).and_then(|t| t.parts()).expect("seed template");
        assert!(
            SHIPPED.contains(p.scheme),
            "config.toml's [[scheme]] {name} differs from src/template/library/{name}.toml:\n{}",
            p.scheme
        );
        for l in &p.lookups {
            assert!(
                SHIPPED.contains(l.text),
                "config.toml's [lookups.{}] differs from template {name}'s:\n{}",
                l.name,
                l.text
            );
        }
    }
}

/// Every template compiles (mapping expressions included) once added to the shipped config;
/// the seeds are in it already and are refused.
#[test]
fn every_template_added_to_the_shipped_config_compiles() {
    let path = Path::new("config.toml");
    for t in LIBRARY {
        let p = t.parts().expect("parts");
        match edit::add("config.toml", SHIPPED, &p) {
            Ok(e) => {
                if let Err(errors) =
                    crate::config::load_str_with(path, &e.text, crate::config::Secrets::NotNeeded)
                {
                    panic!("template {} does not compile: {errors}", t.name);
                }
            }
            Err(TemplateError::Exists { .. }) => {
                assert!(["shops-to-stocks", "offline-returns"].contains(&t.name))
            }
            Err(e) => panic!("{e}"),
        }
    }
}

#[test]
fn unknown_names_are_refused_with_the_near_miss() {
    let e = find("shop-to-stocks").expect_err("unknown");
    let msg = e.to_string();
    assert!(msg.contains("did you mean `shops-to-stocks`"), "{msg}");
    assert!(msg.contains("offline-returns"), "{msg}");
}
