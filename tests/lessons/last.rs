//! Lessons 13–18.

use super::*;
