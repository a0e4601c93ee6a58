//! A logging helper for every layer: an error with its whole source chain on one
//! line (`outer: cause: root cause`), for the single place that logs it.

/// Displays an error with its sources, for log lines.
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(err) = source {
            write!(f, ": {err}")?;
            source = err.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn the_chain_shows_every_source_in_order() {
        let err = Outer(std::io::Error::other("root cause"));
        assert_eq!(ErrorChain(&err).to_string(), "outer: root cause");
    }
}
