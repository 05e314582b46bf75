//! Lessons 7–12.

use super::*;
