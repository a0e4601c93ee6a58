//! The script an avatar speaks: present, and within HeyGen's limit (contract
//! section 2's per-item codes).

/// HeyGen's limit on an avatar script, counted in Unicode scalar values.
pub const MAX_SCRIPT_CHARS: usize = 5_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScriptProblem {
    #[error("the item has no script")]
    Missing,
    #[error("the script is {chars} characters long; HeyGen accepts at most 5000")]
    TooLong { chars: usize },
}

impl ScriptProblem {
    /// The contract's per-item error code.
    pub fn code(&self) -> &'static str {
        match self {
            ScriptProblem::Missing => "script_missing",
            ScriptProblem::TooLong { .. } => "script_too_long",
        }
    }
}

/// An empty (or blank) script is missing; over 5,000 characters is too long.
pub fn check_script(script: Option<&str>) -> Result<&str, ScriptProblem> {
    let script = script.filter(|s| !s.trim().is_empty()).ok_or(ScriptProblem::Missing)?;
    let chars = script.chars().count();
    if chars > MAX_SCRIPT_CHARS {
        return Err(ScriptProblem::TooLong { chars });
    }
    Ok(script)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_must_be_present_and_at_most_5000_scalar_values() {
        assert_eq!(check_script(None), Err(ScriptProblem::Missing));
        assert_eq!(check_script(Some("")), Err(ScriptProblem::Missing));
        assert_eq!(check_script(Some("  \n")), Err(ScriptProblem::Missing));
        let exact = "é".repeat(5_000); // 10,000 bytes, 5,000 scalar values
        assert_eq!(check_script(Some(&exact)), Ok(exact.as_str()));
        let over = "é".repeat(5_001);
        assert_eq!(check_script(Some(&over)), Err(ScriptProblem::TooLong { chars: 5_001 }));
        assert_eq!(ScriptProblem::Missing.code(), "script_missing");
        assert_eq!(ScriptProblem::TooLong { chars: 1 }.code(), "script_too_long");
    }
}
