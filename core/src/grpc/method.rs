//! The full method of a gRPC call (`/package.Service/Method`) and the tags made from it.

use libdd_tinybytes::BytesString;
use std::cell::RefCell;
use std::sync::Arc;

/// The tags a call's full method gives its span, as shared span text: a service's methods
/// repeat, so each is parsed and allocated once per thread (see `MethodTags::of`).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct MethodTags {
    /// `/package.Service/Method`: the resource and `grpc.method.path`.
    pub(crate) path: BytesString,
    /// `package.Service`: `rpc.service`.
    pub(crate) rpc_service: BytesString,
    /// `package`: `grpc.method.package`, when the service has one.
    pub(crate) package: Option<BytesString>,
    /// `Service`: `grpc.method.service`.
    pub(crate) service: BytesString,
    /// `Method`: `rpc.method` and `grpc.method.name`.
    pub(crate) method: BytesString,
}

/// Paths longer than this are cut: a real one is a few dozen bytes.
const MAX_PATH_LEN: usize = 1024;
/// Methods kept per thread: a service rarely exposes more.
const CACHED: usize = 64;

impl MethodTags {
    /// Parses `path` as dd-trace-py's `parse_method_path` does: the method after the last `/`,
    /// the package before the service's last `.`.
    pub(crate) fn parse(path: &str) -> MethodTags {
        let path = &path[..crate::span::floor_boundary(path, MAX_PATH_LEN)];
        let trimmed = path.strip_prefix('/').unwrap_or(path);
        let (package_service, method) = trimmed.rsplit_once('/').unwrap_or(("", trimmed));
        let (package, service) = match package_service.rsplit_once('.') {
            Some((package, service)) => (Some(package), service),
            None => (None, package_service),
        };
        let text = |s: &str| BytesString::from_string(s.to_string());
        MethodTags {
            path: text(path),
            rpc_service: text(package_service),
            package: package.map(text),
            service: text(service),
            method: text(method),
        }
    }

    /// The tags of `path`, from this thread's cache when it was seen before.
    pub(crate) fn of(path: &str) -> Arc<MethodTags> {
        thread_local! {
            static RECENT: RefCell<(Vec<Arc<MethodTags>>, usize)> =
                const { RefCell::new((Vec::new(), 0)) };
        }
        RECENT.with(|recent| {
            let Ok(mut recent) = recent.try_borrow_mut() else {
                return Arc::new(MethodTags::parse(path));
            };
            let (entries, next) = &mut *recent;
            if let Some(hit) = entries.iter().find(|e| e.path.as_str() == path) {
                return hit.clone();
            }
            let tags = Arc::new(MethodTags::parse(path));
            if path.len() <= MAX_PATH_LEN {
                if entries.len() < CACHED {
                    entries.push(tags.clone());
                } else {
                    entries[*next] = tags.clone();
                    *next = (*next + 1) % CACHED;
                }
            }
            tags
        })
    }

    /// The tags as (key, value) pairs, in the order they are written.
    pub(crate) fn pairs(&self) -> impl Iterator<Item = (&'static str, &BytesString)> {
        [
            ("rpc.service", Some(&self.rpc_service)),
            ("rpc.method", Some(&self.method)),
            ("grpc.method.path", Some(&self.path)),
            ("grpc.method.package", self.package.as_ref()),
            ("grpc.method.service", Some(&self.service)),
            ("grpc.method.name", Some(&self.method)),
        ]
        .into_iter()
        .filter_map(|(k, v)| Some((k, v?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(path: &str) -> (String, Option<String>, String, String) {
        let t = MethodTags::parse(path);
        (
            t.rpc_service.as_str().to_string(),
            t.package.map(|p| p.as_str().to_string()),
            t.service.as_str().to_string(),
            t.method.as_str().to_string(),
        )
    }

    #[test]
    fn methods_parse_as_dd_trace_py_parses_them() {
        let s = |x: &str| x.to_string();
        assert_eq!(
            parts("/helloworld.v1.Greeter/SayHello"),
            (
                s("helloworld.v1.Greeter"),
                Some(s("helloworld.v1")),
                s("Greeter"),
                s("SayHello")
            )
        );
        assert_eq!(
            parts("/Greeter/SayHello"),
            (s("Greeter"), None, s("Greeter"), s("SayHello"))
        );
        // Not a gRPC path at all: nothing panics, the whole path is the method.
        assert_eq!(parts("weird"), (s(""), None, s(""), s("weird")));
        assert_eq!(parts(""), (s(""), None, s(""), s("")));
        let long = format!("/p.S/{}", "é".repeat(2000));
        assert!(MethodTags::parse(&long).path.as_str().len() <= MAX_PATH_LEN);
    }

    #[test]
    fn a_method_seen_before_is_shared() {
        let a = MethodTags::of("/p.S/M");
        let b = MethodTags::of("/p.S/M");
        assert!(Arc::ptr_eq(&a, &b));
        for i in 0..(2 * CACHED) {
            MethodTags::of(&format!("/p.S/M{i}"));
        }
        assert_eq!(*MethodTags::of("/p.S/M"), MethodTags::parse("/p.S/M"));
    }
}
