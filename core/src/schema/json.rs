//! JSON Schema: the payload is the value as JSON text, validated against the schema (drafts 4,
//! 6, 7, 2019-09 and 2020-12, chosen by `$schema`; 2020-12 without it). The `jsonschema` crate
//! is built without its HTTP resolver: a `$ref` to another document is not fetched.

use super::error::{SchemaError, SchemaResult};
use super::value::Value;

/// A compiled JSON Schema.
pub struct JsonSchema {
    validator: jsonschema::Validator,
    /// The schema's `title`, the record name of the record subject strategies.
    title: Option<String>,
}

impl std::fmt::Debug for JsonSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonSchema").field("title", &self.title).finish()
    }
}

impl JsonSchema {
    pub fn parse(schema: &str) -> SchemaResult<JsonSchema> {
        let json: serde_json::Value =
            serde_json::from_str(schema).map_err(|e| SchemaError::serialization(format!("invalid JSON schema: {e}")))?;
        let validator =
            jsonschema::validator_for(&json).map_err(|e| SchemaError::serialization(format!("invalid JSON schema: {e}")))?;
        let title = json.get("title").and_then(|t| t.as_str()).map(str::to_string);
        Ok(JsonSchema { validator, title })
    }

    pub fn title(&self) -> Option<&str> {
        self.title.as_deref()
    }

    /// Checks `json` against the schema; the error names the path of the first wrong value.
    pub fn validate(&self, json: &serde_json::Value) -> SchemaResult<()> {
        self.validator.validate(json).map_err(|e| {
            let path = e.instance_path().to_string();
            let path = if path.is_empty() { "/".to_string() } else { path };
            SchemaError::serialization(format!("the value does not match the JSON schema at {path}: {e}"))
        })
    }

    /// Appends the JSON text of `value` (validated when `validate`).
    pub fn encode(&self, value: &Value, validate: bool, out: &mut Vec<u8>) -> SchemaResult<()> {
        let json = value.to_json().map_err(SchemaError::serialization)?;
        if validate {
            self.validate(&json)?;
        }
        serde_json::to_writer(out, &json).map_err(|e| SchemaError::serialization(e.to_string()))
    }

    /// Parses a payload (validated when `validate`).
    pub fn decode(&self, payload: &[u8], validate: bool) -> SchemaResult<Value> {
        let json = parse_payload(payload)?;
        if validate {
            self.validate(&json)?;
        }
        Ok(Value::from_json(&json))
    }
}

/// Parses a JSON payload.
pub fn parse_payload(payload: &[u8]) -> SchemaResult<serde_json::Value> {
    serde_json::from_slice(payload).map_err(|e| SchemaError::serialization(format!("the payload is not JSON: {e}")))
}
