//! Model files: the only place that reads TOML. Raw serde types become a validated
//! [`Model`] whose variants are complete, typed [`System`]s.

pub mod budget;
pub mod diag;
pub mod load;
pub mod model;
pub mod raw;
pub mod takeaway;
pub mod units;

pub use budget::Budget;
pub use diag::{ModelErrors, Problem};
pub use load::{LoadError, Model, Variant, load_file, load_file_with, load_str, load_str_with, model_text, read_model_text};
pub use model::{FaultAction, System, Workload};
pub use takeaway::Takeaway;

/// JSON Schema of the model format, for editors and the README's reference.
pub fn json_schema() -> serde_json::Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(raw::RawModel)).expect("schema serializes");
    let props = schema.get_mut("properties").and_then(|p| p.as_object_mut()).expect("object schema");
    props.insert(
        "variants".into(),
        serde_json::json!({
            "description": "Named variants. Each is a table of keys of this model to override, written with dotted keys: [variants.sticky] load_balancer.policy = \"ip-hash\". Variants share the base's workload and random numbers.",
            "type": "object",
            "additionalProperties": { "type": "object" }
        }),
    );
    schema
}
