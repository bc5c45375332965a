//! Built-in presets: policy objects kept as JSON files in `filters/presets/`
//! and compiled into the plugin, so `"extends": ["secrets"]` needs no file
//! on the proxy. A preset is written like any policy and may itself use
//! `extends` (only with other presets).

/// Name and JSON text of every preset, sorted by name.
const PRESETS: &[(&str, &str)] = &[
    (
        "egress-strict",
        include_str!("../presets/egress-strict.json"),
    ),
    ("minimal", include_str!("../presets/minimal.json")),
    ("pci", include_str!("../presets/pci.json")),
    ("pii", include_str!("../presets/pii.json")),
    ("secrets", include_str!("../presets/secrets.json")),
];

/// The JSON text of a preset.
pub fn get(name: &str) -> Option<&'static str> {
    PRESETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}

/// Every preset name, sorted.
pub fn names() -> impl Iterator<Item = &'static str> {
    PRESETS.iter().map(|(n, _)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Engine;
    use crate::headers::HeaderOp;
    use crate::host::{SeededEntropy, StaticProperties};
    use crate::RequestInput;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn every_preset_compiles_and_extends_only_presets() {
        for name in names() {
            let text = get(name).unwrap();
            let value: serde_json::Value = serde_json::from_str(text).unwrap();
            for parent in value
                .get("extends")
                .and_then(|e| e.as_array())
                .into_iter()
                .flatten()
            {
                assert!(get(parent.as_str().unwrap()).is_some(), "{name}: {parent}");
            }
            let cfg = serde_json::json!({ "extends": [name] }).to_string();
            Engine::from_json(cfg.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        let mut sorted: Vec<_> = names().collect();
        sorted.sort();
        assert_eq!(sorted, names().collect::<Vec<_>>());
    }

    #[test]
    fn secrets_removes_credentials() {
        let engine = Engine::from_json(br#"{"extends":["secrets"]}"#).unwrap();
        let out = engine.on_request(
            &RequestInput {
                headers: &[
                    ("authorization".into(), b"Bearer x".to_vec()),
                    ("cookie".into(), b"a=1".to_vec()),
                    ("accept".into(), b"*/*".to_vec()),
                ],
                properties: &StaticProperties::default(),
                now_ns: 0,
            },
            &mut SeededEntropy(1),
        );
        let removals: Vec<_> = out
            .ops
            .into_iter()
            .filter(|op| matches!(op, HeaderOp::Remove(_)))
            .collect();
        assert_eq!(
            removals,
            vec![
                HeaderOp::Remove("authorization".into()),
                HeaderOp::Remove("cookie".into())
            ]
        );
    }
}
