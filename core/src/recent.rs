//! Small per-thread caches of recently seen strings as shared values: `StringValue`s for the
//! OpenTelemetry pipeline, span text (`BytesString`) for the native one.
//!
//! A route template, the resource built from it, and a user agent repeat across requests:
//! kept here, each is allocated once per thread and then attached to every span by reference
//! count. The caches are bounded (entries and entry length) and replace round-robin, so a
//! stream of distinct values costs one scan and one allocation, as without the cache.

use libdd_tinybytes::BytesString;
use opentelemetry::StringValue;
use std::cell::RefCell;
use std::sync::Arc;

/// A string shared by reference count: cloning it never allocates.
pub(crate) trait Shared: Clone {
    fn make(s: String) -> Self;
    fn text(&self) -> &str;
}

impl Shared for StringValue {
    fn make(s: String) -> Self {
        StringValue::from(Arc::<str>::from(s))
    }
    fn text(&self) -> &str {
        self.as_str()
    }
}

impl Shared for BytesString {
    fn make(s: String) -> Self {
        BytesString::from_string(s)
    }
    fn text(&self) -> &str {
        self.as_str()
    }
}

/// Span text for values drawn from a bounded set the application defines (its routes, and
/// the resources made from them): kept for the process (`native::kept_text`).
#[derive(Clone)]
pub(crate) struct AppText(BytesString);

impl Shared for AppText {
    fn make(s: String) -> Self {
        AppText(crate::native::kept_text(&s))
    }
    fn text(&self) -> &str {
        self.0.as_str()
    }
}

/// Values longer than this are never cached: they are allocated per request as before.
const MAX_CACHED_LEN: usize = 512;

/// A bounded cache of strings, compared by content, each given as its parts concatenated.
pub(crate) struct Recent<T, const N: usize> {
    entries: Vec<T>,
    next: usize,
}

impl<T: Shared, const N: usize> Recent<T, N> {
    const fn new() -> Self {
        Recent {
            entries: Vec::new(),
            next: 0,
        }
    }

    /// The shared value equal to the concatenation of `parts`, cached or made now.
    fn get(&mut self, parts: &[&str]) -> T {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        if let Some(hit) = self
            .entries
            .iter()
            .find(|e| e.text().len() == len && equals_parts(e.text(), parts))
        {
            return hit.clone();
        }
        let value = T::make(parts.concat());
        if len <= MAX_CACHED_LEN {
            if self.entries.len() < N {
                self.entries.push(value.clone());
            } else {
                self.entries[self.next] = value.clone();
                self.next = (self.next + 1) % N;
            }
        }
        value
    }
}

fn equals_parts(mut s: &str, parts: &[&str]) -> bool {
    for part in parts {
        match s.strip_prefix(part) {
            Some(rest) => s = rest,
            None => return false,
        }
    }
    s.is_empty()
}

thread_local! {
    static ROUTES: RefCell<Recent<StringValue, 64>> = const { RefCell::new(Recent::new()) };
    static RESOURCES: RefCell<Recent<StringValue, 64>> = const { RefCell::new(Recent::new()) };
    static USER_AGENTS: RefCell<Recent<StringValue, 8>> = const { RefCell::new(Recent::new()) };
    static ROUTE_TEXTS: RefCell<Recent<AppText, 64>> = const { RefCell::new(Recent::new()) };
    static RESOURCE_TEXTS: RefCell<Recent<AppText, 64>> = const { RefCell::new(Recent::new()) };
    static USER_AGENT_TEXTS: RefCell<Recent<BytesString, 8>> = const { RefCell::new(Recent::new()) };
}

fn cached<T: Shared, const N: usize>(
    cache: &'static std::thread::LocalKey<RefCell<Recent<T, N>>>,
    parts: &[&str],
) -> T {
    cache
        .try_with(|c| c.try_borrow_mut().map(|mut c| c.get(parts)).ok())
        .ok()
        .flatten()
        // During thread teardown (or re-entrance) the cache is unavailable: no caching.
        .unwrap_or_else(|| T::make(parts.concat()))
}

/// A route template as a shared value.
pub(crate) fn route(route: &str) -> StringValue {
    cached(&ROUTES, &[route])
}

/// `"{method} {route}"` as a shared value.
pub(crate) fn resource(method: &str, route: &str) -> StringValue {
    cached(&RESOURCES, &[method, " ", route])
}

/// A user agent as a shared value.
pub(crate) fn user_agent(ua: &str) -> StringValue {
    cached(&USER_AGENTS, &[ua])
}

/// A route template as shared span text.
pub(crate) fn route_text(route: &str) -> BytesString {
    cached(&ROUTE_TEXTS, &[route]).0
}

/// `"{method} {route}"` as shared span text.
pub(crate) fn resource_text(method: &str, route: &str) -> BytesString {
    cached(&RESOURCE_TEXTS, &[method, " ", route]).0
}

/// A user agent as shared span text.
pub(crate) fn user_agent_text(ua: &str) -> BytesString {
    cached(&USER_AGENT_TEXTS, &[ua])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_content_is_shared_and_distinct_content_is_not_mixed_up() {
        let mut cache = Recent::<StringValue, 2>::new();
        let a = cache.get(&["GET", " ", "/a"]);
        assert_eq!(a.as_str(), "GET /a");
        // Same concatenation from different parts is the same value.
        assert_eq!(cache.get(&["GET /", "a"]).as_str(), "GET /a");
        assert_eq!(cache.get(&["GET", " ", "/b"]).as_str(), "GET /b");
        assert_eq!(cache.get(&["GET", " ", "/ab"]).as_str(), "GET /ab");
        assert_eq!(cache.get(&["GET", " ", "/a"]).as_str(), "GET /a");
        assert_eq!(cache.get(&["GET ", "/a", "b"]).as_str(), "GET /ab");
        assert_eq!(cache.entries.len(), 2);
    }

    #[test]
    fn route_and_resource_texts_are_the_texts_kept_for_the_process() {
        let kept = crate::native::kept_text("GET /kept/{id}");
        assert_eq!(
            resource_text("GET", "/kept/{id}").as_str().as_ptr(),
            kept.as_str().as_ptr()
        );
        assert_eq!(route_text("/kept/{id}").as_str(), "/kept/{id}");
    }

    #[test]
    fn long_values_are_not_kept() {
        let mut cache = Recent::<BytesString, 4>::new();
        let long = "x".repeat(MAX_CACHED_LEN + 1);
        assert_eq!(cache.get(&[&long]).as_str(), long);
        assert!(cache.entries.is_empty());
        // Span text is cached the same way.
        let a = cache.get(&["GET", " ", "/a"]);
        let b = cache.get(&["GET ", "/a"]);
        assert_eq!(a.as_str().as_ptr(), b.as_str().as_ptr());
        let mut cache = Recent::<StringValue, 4>::new();
        assert_eq!(cache.get(&[&long]).as_str(), long);
        assert!(cache.entries.is_empty());
    }
}
