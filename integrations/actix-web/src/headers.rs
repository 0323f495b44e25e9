use actix_web::http::header::HeaderMap;
use ddtrace_core::HeaderSource;

/// actix-web's own header map, read by the core.
pub(crate) struct ActixHeaders<'a>(pub(crate) &'a HeaderMap);

impl HeaderSource for ActixHeaders<'_> {
    fn values_of<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.0.get_all(name).map(|v| v.as_bytes())
    }

    fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(|k| k.as_str())
    }

    fn entries(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.0
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_bytes()))
    }
}
