use ddtrace_core::HeaderSource;
use rocket::http::HeaderMap;
use std::borrow::Cow;

/// rocket's own header map, read by the core.
pub(crate) struct RocketHeaders<'a, 'h>(pub(crate) &'a HeaderMap<'h>);

impl HeaderSource for RocketHeaders<'_, '_> {
    fn values_of<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a [u8]> + 'a {
        // rocket matches names case-insensitively and stores values as text. Its iterator
        // borrows `name`, which this signature cannot return, hence the small Vec.
        let values: Vec<&'a [u8]> = self.0.get(name).map(str::as_bytes).collect();
        values.into_iter()
    }

    fn names(&self) -> impl Iterator<Item = &str> {
        self.entries().map(|(name, _)| name)
    }

    fn entries(&self) -> impl Iterator<Item = (&str, &[u8])> {
        // rocket's `iter` builds each `Header` from borrowed name and value, so both are
        // `Cow::Borrowed` and come back without a copy (the core reads every header once per
        // request, so `values_of` per name would allocate per header).
        self.0
            .iter()
            .filter_map(|h| match (h.name.into_cow(), h.value) {
                (Cow::Borrowed(name), Cow::Borrowed(value)) => Some((name, value.as_bytes())),
                _ => None,
            })
    }

    fn first_str(&self, name: &str) -> Option<&str> {
        self.0.get_one(name)
    }
}
