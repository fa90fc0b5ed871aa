//! IMDS's own JSON layout: one key per line, two-space indent, `" : "`
//! between key and value, arrays inline (what `iam/info`, the role
//! credentials and the identity document look like on a real instance).
//!
//! Kept by hand because serde_json's pretty printer cannot lay it out:
//! it writes `"key": value` and an array one item per line. Values
//! (strings with their escapes, numbers, null) are still serde_json's.

use serde_json::Value;

/// Renders `fields` in order, as IMDS lays them out.
pub(crate) fn render_object(fields: &[(&str, Value)]) -> String {
    let mut out = String::from("{\n");
    for (i, (key, value)) in fields.iter().enumerate() {
        let key = Value::from(*key);
        let value = match value {
            // IMDS prints arrays inline with spaces: `[ "a", "b" ]`, `[]`.
            Value::Array(items) if !items.is_empty() => {
                let items: Vec<String> = items.iter().map(Value::to_string).collect();
                format!("[ {} ]", items.join(", "))
            }
            other => other.to_string(),
        };
        out.push_str(&format!("  {key} : {value}"));
        out.push_str(if i + 1 < fields.len() { ",\n" } else { "\n" });
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lays_out_like_imds() {
        let text = render_object(&[
            ("Code", Value::from("Success")),
            ("kernelId", Value::Null),
            ("codes", Value::from(vec!["a", "b"])),
        ]);
        assert_eq!(
            text,
            "{\n  \"Code\" : \"Success\",\n  \"kernelId\" : null,\n  \"codes\" : [ \"a\", \"b\" ]\n}"
        );
        let parsed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["Code"], "Success");
    }
}
