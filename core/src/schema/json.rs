//! JSON Schema: the payload is the value as JSON text, validated against the schema. The draft
//! is the one the schema's `$schema` names (4, 6, 7, 2019-09 or 2020-12; 2020-12 without it, as
//! confluent-kafka's Python validator does). The `jsonschema` crate is built without its HTTP
//! resolver: a `$ref` to another document is resolved from the schema's registry references
//! (by the reference's `name`: the `$ref` as written, or the URL it resolves to), never fetched.

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

/// Resolves `$ref`s to other documents from the references given, by name.
struct References {
    /// (name, the referenced schema)
    docs: Vec<(String, serde_json::Value)>,
}

impl References {
    fn find(&self, uri: &str) -> Option<&serde_json::Value> {
        let uri = uri.split('#').next().unwrap_or(uri);
        // the name as the URL itself, as the `$id` of the referenced schema, or as a path
        // relative to the referrer's base (the default base is `json-schema:///`)
        self.docs
            .iter()
            .find(|(n, _)| n == uri)
            .or_else(|| self.docs.iter().find(|(_, d)| d.get("$id").and_then(|i| i.as_str()) == Some(uri)))
            .or_else(|| {
                self.docs.iter().find(|(n, _)| {
                    let n = n.trim_start_matches("./");
                    !n.is_empty() && uri.strip_suffix(n).is_some_and(|rest| rest.ends_with('/'))
                })
            })
            .map(|(_, d)| d)
    }
}

impl jsonschema::Retrieve for References {
    fn retrieve(&self, uri: &jsonschema::Uri<String>) -> Result<serde_json::Value, Box<dyn std::error::Error + Send + Sync>> {
        self.find(uri.as_str())
            .cloned()
            .ok_or_else(|| format!("'{}' is not among the schema's references", uri.as_str()).into())
    }
}

impl JsonSchema {
    pub fn parse(schema: &str) -> SchemaResult<JsonSchema> {
        JsonSchema::parse_with_references(schema, &[])
    }

    /// Compiles `schema`; `references` are `(name, schema text)` of the documents its `$ref`s
    /// point to (its registry references, recursively).
    pub fn parse_with_references(schema: &str, references: &[(String, String)]) -> SchemaResult<JsonSchema> {
        let json: serde_json::Value =
            serde_json::from_str(schema).map_err(|e| SchemaError::serialization(format!("invalid JSON schema: {e}")))?;
        let mut docs = Vec::with_capacity(references.len());
        for (name, text) in references {
            let doc: serde_json::Value = serde_json::from_str(text)
                .map_err(|e| SchemaError::serialization(format!("invalid JSON schema in the reference '{name}': {e}")))?;
            docs.push((name.clone(), doc));
        }
        let validator = jsonschema::options()
            .with_retriever(References { docs })
            .build(&json)
            .map_err(|e| SchemaError::serialization(format!("invalid JSON schema: {e}")))?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn valid(s: &JsonSchema, v: serde_json::Value) -> bool {
        s.validate(&v).is_ok()
    }

    /// `$ref` siblings: ignored in draft 7, applied in 2020-12 (the draft named by `$schema`;
    /// 2020-12 without one).
    #[test]
    fn the_draft_is_the_one_schema_names() {
        let body = |draft: Option<&str>| {
            let mut s = json!({
                "definitions": {"s": {"type": "string"}},
                "type": "object",
                "properties": {"a": {"$ref": "#/definitions/s", "maxLength": 2}}
            });
            if let Some(d) = draft {
                s["$schema"] = json!(d);
            }
            s.to_string()
        };
        let d7 = JsonSchema::parse(&body(Some("http://json-schema.org/draft-07/schema#"))).unwrap();
        let d2020 = JsonSchema::parse(&body(Some("https://json-schema.org/draft/2020-12/schema"))).unwrap();
        let default = JsonSchema::parse(&body(None)).unwrap();
        assert!(valid(&d7, json!({"a": "abc"})));
        assert!(!valid(&d2020, json!({"a": "abc"})));
        assert!(!valid(&default, json!({"a": "abc"})));
        for s in [&d7, &d2020, &default] {
            assert!(!valid(s, json!({"a": 1})));
        }
        // draft 7's tuple `items` + additionalItems
        let tuple = JsonSchema::parse(
            &json!({"$schema": "http://json-schema.org/draft-07/schema#", "type": "array", "items": [{"type": "integer"}], "additionalItems": false})
                .to_string(),
        )
        .unwrap();
        assert!(valid(&tuple, json!([1])));
        assert!(!valid(&tuple, json!([1, 2])));
        let prefix = JsonSchema::parse(
            &json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "array", "prefixItems": [{"type": "integer"}], "items": false})
                .to_string(),
        )
        .unwrap();
        assert!(valid(&prefix, json!([1])));
        assert!(!valid(&prefix, json!([1, 2])));
    }

    #[test]
    fn refs_resolve_from_the_references() {
        let address = json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}).to_string();
        let schema = json!({
            "type": "object",
            "properties": {"home": {"$ref": "address.json"}, "work": {"$ref": "https://example.com/schemas/address.json"}}
        })
        .to_string();
        let refs = vec![
            ("address.json".to_string(), address.clone()),
            ("https://example.com/schemas/address.json".to_string(), address),
        ];
        let s = JsonSchema::parse_with_references(&schema, &refs).unwrap();
        assert!(valid(&s, json!({"home": {"city": "Oslo"}, "work": {"city": "Rome"}})));
        let e = s.validate(&json!({"home": {"city": 3}})).unwrap_err();
        assert!(e.to_string().contains("/home/city"), "{e}");
        assert!(!valid(&s, json!({"work": {}})));
        // without the reference: a clear error, nothing fetched
        let e = JsonSchema::parse(&schema).unwrap_err();
        assert!(e.to_string().contains("address.json"), "{e}");
        let e = JsonSchema::parse_with_references(&schema, &[("address.json".into(), "{nope".into())]).unwrap_err();
        assert!(e.to_string().contains("reference 'address.json'"), "{e}");
    }
}
