//! InfluxQL 1.x parser and AST: pure, no runtime.

mod ast;

pub use ast::*;
