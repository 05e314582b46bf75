//! Scenario files: TOML format, validation with helpful errors.
