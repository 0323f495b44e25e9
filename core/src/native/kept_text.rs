//! Span text kept for the process: static text, which spans carry without a reference count.
//!
//! Shared span text is reference-counted, and every span's copy of it is counted up on the
//! request thread and down on the exporter's: one word moving between the cores twice per span
//! and text. A text every span carries, from a set the configuration or the application
//! bounds (service, env, `DD_TAGS`, the runtime id; route templates and their resources), is
//! kept instead, once per distinct text and within a budget for the process; past the budget,
//! texts are shared by count as before.

use libdd_tinybytes::BytesString;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{LazyLock, RwLock};

/// Bytes of text the process keeps at most (an application with that many routes, or an
/// integration giving paths as routes, goes past it).
const BUDGET: usize = 1 << 20;

/// Kept texts and the bytes they take.
#[derive(Default)]
struct Kept {
    bytes: usize,
    texts: HashSet<&'static str>,
}

impl Kept {
    /// `text`, if it is kept.
    fn get(&self, text: &str) -> Option<&'static str> {
        self.texts.get(text).copied()
    }

    /// `text` as kept text: found, or kept now when the budget allows.
    fn keep(&mut self, text: &str, budget: usize) -> Option<&'static str> {
        if let Some(kept) = self.get(text) {
            return Some(kept);
        }
        if self.bytes + text.len() > budget {
            return None;
        }
        self.bytes += text.len();
        let kept: &'static str = Box::leak(text.to_owned().into_boxed_str());
        self.texts.insert(kept);
        Some(kept)
    }
}

/// `text` as span text: static once kept (on a thread's first sight of it: callers cache the
/// result per thread or per installation), reference-counted past the budget.
pub(crate) fn kept_text(text: &str) -> BytesString {
    match kept_str(text) {
        Some(kept) => BytesString::from_static(kept),
        None => BytesString::from_string(text.to_owned()),
    }
}

/// `text` kept for the process, or `None` past the budget.
///
/// Callers come here when their own cache misses, which an application with more routes than
/// a thread's cache holds does on many requests, from every thread: finding a kept text takes
/// the lock for reading only, and once the budget is spent no text is written again.
pub(crate) fn kept_str(text: &str) -> Option<&'static str> {
    static KEPT: LazyLock<RwLock<Kept>> = LazyLock::new(RwLock::default);
    static FULL: AtomicBool = AtomicBool::new(false);
    if let Some(kept) = KEPT.read().ok().and_then(|kept| kept.get(text)) {
        return Some(kept);
    }
    if FULL.load(Ordering::Relaxed) {
        return None;
    }
    let kept = KEPT.write().ok()?.keep(text, BUDGET);
    if kept.is_none() {
        FULL.store(true, Ordering::Relaxed);
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_is_kept_once_and_past_the_budget_not_at_all() {
        let mut kept = Kept::default();
        let a = kept.keep("GET /users/{id}", 20).unwrap();
        assert_eq!(a, "GET /users/{id}");
        // Kept once: the same text again is the same memory and costs nothing more.
        assert_eq!(
            kept.keep("GET /users/{id}", 20).unwrap().as_ptr(),
            a.as_ptr()
        );
        assert_eq!(kept.bytes, 15);
        assert!(kept.keep("GET /orders", 20).is_none(), "over the budget");
        assert!(kept.keep("/a", 20).is_some(), "what still fits");
    }

    #[test]
    fn span_text_is_static_once_kept_and_equal_either_way() {
        let a = kept_text("/kept/{id}");
        let b = std::thread::spawn(|| kept_text("/kept/{id}"))
            .join()
            .unwrap();
        assert_eq!(a.as_str(), "/kept/{id}");
        assert_eq!(a.as_str().as_ptr(), b.as_str().as_ptr());
    }
}
