//! Reading the spans the agent received.

use serde_json::Value;

/// The spans of every trace that has a span of one service (one app process).
pub struct Spans {
    spans: Vec<Value>,
}

impl Spans {
    /// Keeps the traces in which some span has `service`.
    pub fn of_service(traces: Vec<Vec<Value>>, service: &str) -> Spans {
        let spans = traces
            .into_iter()
            .filter(|t| t.iter().any(|s| s["service"] == service))
            .flatten()
            .collect();
        Spans { spans }
    }

    /// All of them.
    pub fn all(&self) -> &[Value] {
        &self.spans
    }

    /// The server spans whose `meta[tag] == value`.
    pub fn with_meta(&self, tag: &str, value: &str) -> Vec<&Value> {
        self.spans
            .iter()
            .filter(|s| s["meta"][tag] == value)
            .collect()
    }

    /// The one span with `meta[tag] == value`, or a description of what was found instead.
    pub fn one_with_meta(&self, tag: &str, value: &str) -> Result<&Value, String> {
        match self.with_meta(tag, value).as_slice() {
            [one] => Ok(one),
            [] => Err(format!("no span with {tag}={value:?}")),
            many => Err(format!("{} spans with {tag}={value:?}", many.len())),
        }
    }

    /// The spans whose parent is `span`, in the same trace.
    pub fn children_of(&self, span: &Value) -> Vec<&Value> {
        self.spans
            .iter()
            .filter(|s| s["trace_id"] == span["trace_id"] && s["parent_id"] == span["span_id"])
            .collect()
    }

    /// True when `descendant`'s chain of parents reaches `ancestor`.
    pub fn is_descendant(&self, descendant: &Value, ancestor: &Value) -> bool {
        let mut current = descendant;
        for _ in 0..64 {
            if current["trace_id"] != ancestor["trace_id"] {
                return false;
            }
            if current["parent_id"] == ancestor["span_id"] {
                return true;
            }
            match self.spans.iter().find(|s| {
                s["trace_id"] == current["trace_id"] && s["span_id"] == current["parent_id"]
            }) {
                Some(parent) => current = parent,
                None => return false,
            }
        }
        false
    }
}

/// A span field as u64 (`parent_id` is absent for roots: 0).
pub fn u64_field(span: &Value, field: &str) -> u64 {
    span[field].as_u64().unwrap_or(0)
}

/// `meta[tag]` as a string.
pub fn meta<'a>(span: &'a Value, tag: &str) -> Option<&'a str> {
    span["meta"][tag].as_str()
}
