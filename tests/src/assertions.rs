//! The assertion language of `tests/vectors/propagation.json` (see its `schema` object),
//! evaluated against what really happened: the server span the agent received and the
//! headers the downstream server captured.

use serde_json::{json, Map, Value};

/// Builds the `out` object of the schema from captured outbound headers.
pub fn outbound_model(headers: &[(String, String)]) -> Value {
    let mut map = Map::new();
    for (k, v) in headers {
        map.entry(k.clone())
            .and_modify(|existing| {
                if let Value::String(s) = existing {
                    s.push(',');
                    s.push_str(v);
                }
            })
            .or_insert_with(|| Value::String(v.clone()));
    }
    let header = |name: &str| map.get(name).and_then(Value::as_str).map(str::to_string);
    let traceparent = header("traceparent").map(|tp| {
        let f: Vec<&str> = tp.split('-').collect();
        json!({
            "version": f.first(),
            "trace_id": f.get(1),
            "parent_id": f.get(2),
            "flags": f.get(3),
        })
    });
    let tracestate = header("tracestate").map(|raw| {
        let members: Vec<String> = raw
            .split(',')
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty())
            .collect();
        let mut kv = Map::new();
        for m in &members {
            if let Some((k, v)) = m.split_once('=') {
                kv.insert(k.to_string(), Value::from(v));
            }
        }
        let dd_items: Vec<String> = kv
            .get("dd")
            .and_then(Value::as_str)
            .map(|dd| dd.split(';').map(str::to_string).collect())
            .unwrap_or_default();
        json!({
            "raw": raw,
            "members": members,
            "count": members.len(),
            "map": kv,
            "dd_items": dd_items,
        })
    });
    let x_datadog_tags =
        header("x-datadog-tags").map(|t| t.split(',').map(str::to_string).collect::<Vec<String>>());
    json!({
        "headers": map,
        "traceparent": traceparent,
        "tracestate": tracestate,
        "x_datadog_tags": x_datadog_tags,
    })
}

/// Builds the `span` object of the schema from a span as the agent returned it.
pub fn span_model(span: &Value) -> Value {
    let low = span["trace_id"].as_u64().unwrap_or(0);
    let high = span["meta"]["_dd.p.tid"]
        .as_str()
        .and_then(|t| u64::from_str_radix(t, 16).ok())
        .unwrap_or(0);
    let links: Vec<Value> = span["span_links"]
        .as_array()
        .map(|links| {
            links
                .iter()
                .map(|l| {
                    let mut l = l.clone();
                    // v0.4 marks "flags were set" with bit 31; the vectors mean the W3C flags.
                    if let Some(f) = l["flags"].as_u64() {
                        l["flags"] = Value::from(f & 0xff);
                    }
                    if l.get("trace_id_high").is_none() {
                        l["trace_id_high"] = Value::from(0);
                    }
                    l
                })
                .collect()
        })
        .unwrap_or_default();
    json!({
        "trace_id_low64": low,
        "trace_id_hex128": format!("{high:016x}{low:016x}"),
        "span_id": span["span_id"].as_u64().unwrap_or(0),
        "parent_id": span["parent_id"].as_u64().unwrap_or(0),
        "meta": span["meta"],
        "metrics": span["metrics"],
        "span_links": links,
    })
}

fn resolve<'a>(root: &'a Value, path: &Value) -> Option<&'a Value> {
    let mut cur = root;
    for part in path.as_array()? {
        cur = match part {
            Value::String(k) => cur.get(k)?,
            Value::Number(n) => cur.get(n.as_u64()? as usize)?,
            _ => return None,
        };
    }
    (!cur.is_null()).then_some(cur)
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Numbers compare as numbers (`2` equals `2.0`), big integers written as strings included.
fn values_eq(a: &Value, b: &Value) -> bool {
    if a == b {
        return true;
    }
    let num = |v: &Value| -> Option<f64> {
        match v {
            Value::Number(n) => n.as_f64(),
            _ => None,
        }
    };
    if let (Some(x), Some(y)) = (num(a), num(b)) {
        if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
            return x == y;
        }
        return x == y;
    }
    false
}

fn int_of(v: &Value) -> Option<u128> {
    match v {
        Value::Number(n) => n
            .as_u64()
            .map(u128::from)
            .or_else(|| n.as_f64().map(|f| f as u128)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn hex_of(v: &Value) -> Option<u128> {
    u128::from_str_radix(v.as_str()?, 16).ok()
}

fn hex_low64_of(v: &Value) -> Option<u128> {
    let s = v.as_str()?;
    let tail = &s[s.len().saturating_sub(16)..];
    u128::from_str_radix(tail, 16).ok()
}

fn contains(actual: &Value, needle: &Value) -> bool {
    match actual {
        Value::String(s) => needle.as_str().is_some_and(|n| s.contains(n)),
        Value::Array(items) => items.iter().any(|i| values_eq(i, needle)),
        Value::Object(map) => needle.as_str().is_some_and(|n| map.contains_key(n)),
        _ => false,
    }
}

/// Items of a list, characters of a string.
fn length(v: &Value) -> usize {
    match v {
        Value::Array(items) => items.len(),
        Value::String(s) => s.chars().count(),
        Value::Object(m) => m.len(),
        _ => 0,
    }
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) => items.iter().map(as_text).collect(),
        Value::String(s) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// Every assertion of a vector (`expect.assertions`); the failures joined with `; `.
pub fn check_all(model: &Value, refs: &Value, vector: &Value) -> Result<(), String> {
    let failures: Vec<String> = vector["expect"]["assertions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| check(model, refs, a).err())
        .collect();
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("; "))
    }
}

/// Evaluates one assertion `{path, op, value}` against `model` (`{span, out}`); `refs` is the
/// model that `*_path` operands are read from. `Err` says what was seen.
pub fn check(model: &Value, refs: &Value, assertion: &Value) -> Result<(), String> {
    let path = &assertion["path"];
    let op = assertion["op"].as_str().unwrap_or("");
    let value = &assertion["value"];
    let actual = resolve(model, path);
    let reference = |p: &Value| resolve(refs, p);
    let seen = || {
        format!(
            "{} {op} {value}: saw {}",
            path,
            actual.map_or("nothing".to_string(), |a| a.to_string())
        )
    };
    let ok = match op {
        "eq" => actual.is_some_and(|a| values_eq(a, value)),
        "ne" => {
            let in_span = path.get(0) == Some(&json!("span"));
            match actual {
                None => in_span,
                Some(a) => !values_eq(a, value),
            }
        }
        "in" => actual.is_some_and(|a| strings(value).iter().any(|v| *v == as_text(a))),
        "absent" => actual.is_none(),
        "present" => actual.is_some(),
        "contains" => actual.is_some_and(|a| contains(a, value)),
        "not_contains" => actual.is_none_or(|a| !contains(a, value)),
        "absent_or_not_contains" => actual.is_none_or(|a| !contains(a, value)),
        "contains_any" => actual.is_some_and(|a| {
            value
                .as_array()
                .is_some_and(|vs| vs.iter().any(|v| contains(a, v)))
        }),
        "contains_in_order" => actual.is_some_and(|a| {
            let wanted = strings(value);
            match a {
                // In a string: each piece found after the previous one.
                Value::String(text) => {
                    let mut from = 0;
                    wanted.iter().all(|w| match text[from..].find(w.as_str()) {
                        Some(p) => {
                            from += p + w.len();
                            true
                        }
                        None => false,
                    })
                }
                _ => {
                    let items = strings(a);
                    let mut last = None;
                    wanted
                        .iter()
                        .all(|v| match items.iter().position(|i| i == v) {
                            Some(p) if last.is_none_or(|l| p > l) => {
                                last = Some(p);
                                true
                            }
                            _ => false,
                        })
                }
            }
        }),
        "startswith" => actual.is_some_and(|a| as_text(a).starts_with(&as_text(value))),
        "any_startswith" => {
            actual.is_some_and(|a| strings(a).iter().any(|i| i.starts_with(&as_text(value))))
        }
        "none_startswith" => {
            actual.is_none_or(|a| !strings(a).iter().any(|i| i.starts_with(&as_text(value))))
        }
        "index_startswith" | "index_eq" | "index_fields_eq" => {
            let i = value[0].as_u64().unwrap_or(u64::MAX) as usize;
            let expected = &value[1];
            actual
                .and_then(|a| a.as_array())
                .and_then(|items| items.get(i))
                .is_some_and(|item| match op {
                    "index_startswith" => as_text(item).starts_with(&as_text(expected)),
                    "index_eq" => values_eq(item, expected),
                    _ => expected.as_object().is_some_and(|fields| {
                        fields.iter().all(|(k, v)| {
                            item.get(k).is_some_and(|iv| {
                                if v.is_object() {
                                    v.as_object().is_some_and(|m| {
                                        m.iter().all(|(mk, mv)| {
                                            item[k].get(mk).is_some_and(|x| values_eq(x, mv))
                                        })
                                    })
                                } else {
                                    values_eq(iv, v)
                                }
                            })
                        })
                    }),
                })
        }
        "s_item_in_or_absent" => actual.is_none_or(|a| {
            let items = strings(a);
            !items.iter().any(|i| i.starts_with("s:"))
                || strings(value).iter().any(|v| items.contains(v))
        }),
        "len_eq" => {
            Some(actual.map_or(0, length)).is_some_and(|n| value.as_u64() == Some(n as u64))
        }
        "len_in" => actual.map(length).is_some_and(|n| {
            value
                .as_array()
                .is_some_and(|vs| vs.iter().any(|v| v.as_u64() == Some(n as u64)))
        }),
        "split_contains_all" => actual.is_some_and(|a| {
            let items: Vec<String> = as_text(a)
                .split(',')
                .map(|s| s.trim().to_string())
                .collect();
            strings(value).iter().all(|v| items.contains(v))
        }),
        "split_len_eq" => {
            actual.is_some_and(|a| value.as_u64() == Some(as_text(a).split(',').count() as u64))
        }
        "utf8_len_le" => {
            actual.is_some_and(|a| value.as_u64().is_some_and(|n| as_text(a).len() as u64 <= n))
        }
        "eq_int_path" => actual
            .and_then(int_of)
            .is_some_and(|x| reference(value).and_then(int_of) == Some(x)),
        "hex_eq_path" | "hex_eq_int_path" => actual
            .and_then(hex_of)
            .is_some_and(|x| reference(value).and_then(int_of) == Some(x)),
        "hex_low64_eq_path" | "hex_low64_eq_int_path" => actual
            .and_then(hex_low64_of)
            .is_some_and(|x| reference(value).and_then(int_of) == Some(x)),
        "contains_fmt_hex16_path" => {
            let prefix = as_text(&value[0]);
            reference(&value[1]).and_then(int_of).is_some_and(|id| {
                actual.is_some_and(|a| contains(a, &Value::from(format!("{prefix}{id:016x}"))))
            })
        }
        "contains_fmt_path" => {
            let prefix = as_text(&value[0]);
            reference(&value[1]).is_some_and(|r| {
                actual.is_some_and(|a| contains(a, &Value::from(format!("{prefix}{}", as_text(r)))))
            })
        }
        "startswith_path" => reference(value)
            .is_some_and(|r| actual.is_some_and(|a| as_text(a).starts_with(&as_text(r)))),
        "mirrors_x_datadog_tags" => {
            let items = actual.map(strings).unwrap_or_default();
            let tags = resolve(model, &json!(["out", "x_datadog_tags"]))
                .map(strings)
                .unwrap_or_default();
            tags.iter().all(|t| {
                let Some((k, v)) = t.split_once('=') else {
                    return false;
                };
                let key = k.trim_start_matches("_dd.p.");
                key == "tid" || items.contains(&format!("t.{key}:{}", v.replace('=', "~")))
            })
        }
        "b3_fields" => actual.is_some_and(|a| {
            let b3 = as_text(a);
            let f: Vec<&str> = b3.split('-').collect();
            let trace_ok = value["trace_len_in"]
                .as_array()
                .is_none_or(|ls| ls.iter().any(|l| l.as_u64() == Some(f[0].len() as u64)));
            let low_ok = value
                .get("trace_low64_eq_path")
                .is_none_or(|p| hex_low64_of(&Value::from(f[0])) == reference(p).and_then(int_of));
            let span_ok = value.get("span_eq_path").is_none_or(|p| {
                f.get(1).and_then(|s| u128::from_str_radix(s, 16).ok())
                    == reference(p).and_then(int_of)
            });
            let sampled_ok = value
                .get("sampled")
                .is_none_or(|s| f.get(2).map(|x| x.to_string()) == s.as_str().map(str::to_string));
            trace_ok && low_ok && span_ok && sampled_ok
        }),
        "valid_generated_tid" => actual.and_then(Value::as_str).is_some_and(|tid| {
            tid.len() == 16
                && tid
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
                && tid != "0000000000000000"
                && tid.ends_with("00000000")
                && u64::from_str_radix(&tid[..8], 16).is_ok_and(|secs| secs > 0x640C_FD8C)
        }),
        other => return Err(format!("unknown operator {other:?}")),
    };
    if ok {
        Ok(())
    } else {
        Err(seen())
    }
}
