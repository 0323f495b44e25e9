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

    /// rocket builds each `Header` on the fly, so names cannot be lent for the map's lifetime.
    /// Only `Extractor::keys` reads them, which neither the Datadog nor the W3C propagators
    /// call; every lookup the core makes is by name.
    fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::empty()
    }
}
