use ddtrace_core::HeaderSource;
use rocket::http::HeaderMap;

/// rocket's own header map, read by the core.
pub(crate) struct RocketHeaders<'a, 'h>(pub(crate) &'a HeaderMap<'h>);

impl HeaderSource for RocketHeaders<'_, '_> {
    fn values_of<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a [u8]> + 'a {
        // rocket matches names case-insensitively and stores values as text.
        let values: Vec<&'a [u8]> = self.0.get(name).map(str::as_bytes).collect();
        values.into_iter()
    }

    fn names(&self) -> impl Iterator<Item = &str> {
        // rocket's `Header`s borrow their names from the map.
        self.0.iter().filter_map(|h| match h.name.into_cow() {
            std::borrow::Cow::Borrowed(name) => Some(name),
            std::borrow::Cow::Owned(_) => None,
        })
    }
}
